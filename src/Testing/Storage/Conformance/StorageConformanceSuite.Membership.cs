using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using Xunit;

namespace RaftToolkit.Testing.Storage.Conformance;

/// <content>Cases 1–9: memberships read from the log (never from the state machine).</content>
public abstract partial class StorageConformanceSuite<TResponse, TSnapshot>
{
    /// <summary>1. An empty store: no membership found.</summary>
    [Fact]
    public Task LastMembershipInLog_Initial() => RunCaseAsync(async c =>
    {
        var found = await RaftStorageHelper.LastMembershipInLogAsync(c.Log, 0).ConfigureAwait(false);
        Expect(found.Count == 0, $"An empty log has no membership, found [{string.Join("; ", found)}].");
    });

    /// <summary>2. Returns at most the last two membership entries, filtered by a since-index.</summary>
    [Fact]
    public Task LastMembershipInLog() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        var sm = c.NewStateMachine();
        await ApplyAsync(sm, Blank(1, 1), MembershipEntry(1, 2, 3, 4, 5)).ConfigureAwait(false);
        var found = await RaftStorageHelper.LastMembershipInLogAsync(log, 0).ConfigureAwait(false);
        Expect(found.Count == 0, "With an empty log, the state machine's membership must not be reported as in the log.");

        await AppendAsync(log, Blank(0, 0), MembershipEntry(1, 1, 1, 2, 3)).ConfigureAwait(false);
        found = await RaftStorageHelper.LastMembershipInLogAsync(log, 0).ConfigureAwait(false);
        ExpectMemberships(found, "since index 0, one membership in the log", (Id(1, 1), [1, 2, 3]));
        found = await RaftStorageHelper.LastMembershipInLogAsync(log, 1).ConfigureAwait(false);
        ExpectMemberships(found, "since index 1 (the membership's own index)", (Id(1, 1), [1, 2, 3]));
        found = await RaftStorageHelper.LastMembershipInLogAsync(log, 2).ConfigureAwait(false);
        ExpectMemberships(found, "since index 2, past the only membership");

        await AppendAsync(log, Blank(1, 2), MembershipEntry(1, 3, 7, 8, 9), Blank(1, 4)).ConfigureAwait(false);
        found = await RaftStorageHelper.LastMembershipInLogAsync(log, 0).ConfigureAwait(false);
        ExpectMemberships(found, "two memberships in the log", (Id(1, 1), [1, 2, 3]), (Id(1, 3), [7, 8, 9]));
        found = await RaftStorageHelper.LastMembershipInLogAsync(log, 4).ConfigureAwait(false);
        ExpectMemberships(found, "since index 4, past the last membership");

        await AppendAsync(log, MembershipEntry(1, 5, 10, 11)).ConfigureAwait(false);
        found = await RaftStorageHelper.LastMembershipInLogAsync(log, 0).ConfigureAwait(false);
        ExpectMemberships(found, "three memberships in the log: only the last two", (Id(1, 3), [7, 8, 9]), (Id(1, 5), [10, 11]));
    });

    /// <summary>3. Scanning back over 100 entries finds the memberships at 2 and 100.</summary>
    [Fact]
    public Task LastMembershipInLog_MultiStep() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        await AppendAsync(log, Blank(0, 0), MembershipEntry(1, 1, 1, 2, 3), MembershipEntry(1, 2, 3, 4, 5)).ConfigureAwait(false);
        for (ulong i = 3; i < 100; i++)
        {
            await AppendAsync(log, Blank(1, i)).ConfigureAwait(false);
        }

        await AppendAsync(log, MembershipEntry(1, 100, 5, 6, 7)).ConfigureAwait(false);
        var found = await RaftStorageHelper.LastMembershipInLogAsync(log, 0).ConfigureAwait(false);
        ExpectMemberships(found, "memberships at 1, 2 and 100", (Id(1, 2), [3, 4, 5]), (Id(1, 100), [5, 6, 7]));
    });

    /// <summary>4. Nothing stored: committed and effective are both the default.</summary>
    [Fact]
    public Task GetMembership_Initial() => RunCaseAsync(async c =>
    {
        var state = await RaftStorageHelper.GetMembershipAsync(c.Log, c.NewStateMachine()).ConfigureAwait(false);
        Expect(StoredMembership.Default, state.Committed, "committed membership of an empty store");
        Expect(StoredMembership.Default, state.Effective, "effective membership of an empty store");
    });

    /// <summary>5. The log has one membership, the state machine none: committed is the default, effective the log's.</summary>
    [Fact]
    public Task GetMembership_FromLogAndEmptySm() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        await AppendAsync(log, Blank(0, 0), MembershipEntry(1, 1, 1, 2, 3)).ConfigureAwait(false);
        var state = await RaftStorageHelper.GetMembershipAsync(log, c.NewStateMachine()).ConfigureAwait(false);
        Expect(StoredMembership.Default, state.Committed, "committed membership (the empty state machine's)");
        Expect(new StoredMembership(Id(1, 1), Membership.FromVoters(1, 2, 3)), state.Effective, "effective membership (the log's)");
    });

    /// <summary>6. An empty log: committed and effective are the state machine's.</summary>
    [Fact]
    public Task GetMembership_FromEmptyLogAndSm() => RunCaseAsync(async c =>
    {
        var sm = c.NewStateMachine();
        await ApplyAsync(sm, Blank(1, 1), MembershipEntry(1, 2, 3, 4, 5)).ConfigureAwait(false);
        var state = await RaftStorageHelper.GetMembershipAsync(c.Log, sm).ConfigureAwait(false);
        var expected = new StoredMembership(Id(1, 2), Membership.FromVoters(3, 4, 5));
        Expect(expected, state.Committed, "committed membership (the state machine's)");
        Expect(expected, state.Effective, "effective membership (the state machine's)");
    });

    /// <summary>7. A log membership at or below the last applied id is ignored.</summary>
    [Fact]
    public Task GetMembership_LogAtOrBelowApplied() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        var sm = c.NewStateMachine();
        await ApplyAsync(sm, Blank(1, 1), MembershipEntry(1, 2, 3, 4, 5), Blank(1, 3), Blank(1, 4)).ConfigureAwait(false);

        // Deliberately unlike the state machine, to see which one is loaded.
        await AppendAsync(log, Blank(0, 0), Blank(1, 1), Blank(1, 2), MembershipEntry(1, 3, 1, 2, 3)).ConfigureAwait(false);
        var state = await RaftStorageHelper.GetMembershipAsync(log, sm).ConfigureAwait(false);
        var expected = new StoredMembership(Id(1, 2), Membership.FromVoters(3, 4, 5));
        Expect(expected, state.Committed, "committed membership (the log's at index 3 is applied already)");
        Expect(expected, state.Effective, "effective membership (the log's at index 3 is applied already)");
    });

    /// <summary>8. One log membership above last applied: committed is the state machine's, effective the log's.</summary>
    [Fact]
    public Task GetMembership_LogAboveApplied_1() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        var sm = c.NewStateMachine();
        await ApplyAsync(sm, Blank(1, 1), MembershipEntry(1, 2, 3, 4, 5)).ConfigureAwait(false);
        await AppendAsync(log, Blank(0, 0), MembershipEntry(1, 1, 1, 2, 3), Blank(1, 2), MembershipEntry(1, 3, 7, 8, 9)).ConfigureAwait(false);
        var state = await RaftStorageHelper.GetMembershipAsync(log, sm).ConfigureAwait(false);
        Expect(new StoredMembership(Id(1, 2), Membership.FromVoters(3, 4, 5)), state.Committed, "committed membership (the state machine's)");
        Expect(new StoredMembership(Id(1, 3), Membership.FromVoters(7, 8, 9)), state.Effective, "effective membership (the log's above last applied)");
    });

    /// <summary>9. Two log memberships above last applied: committed is the earlier, effective the later.</summary>
    [Fact]
    public Task GetMembership_LogAboveApplied_2() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        var sm = c.NewStateMachine();
        await ApplyAsync(sm, Blank(1, 1), MembershipEntry(1, 2, 3, 4, 5)).ConfigureAwait(false);
        await AppendAsync(
            log,
            Blank(0, 0),
            MembershipEntry(1, 1, 1, 2, 3),
            Blank(1, 2),
            MembershipEntry(1, 3, 7, 8, 9),
            Blank(1, 4),
            MembershipEntry(1, 5, 10, 11)).ConfigureAwait(false);
        var state = await RaftStorageHelper.GetMembershipAsync(log, sm).ConfigureAwait(false);
        Expect(new StoredMembership(Id(1, 3), Membership.FromVoters(7, 8, 9)), state.Committed, "committed membership (the earlier of the two in the log)");
        Expect(new StoredMembership(Id(1, 5), Membership.FromVoters(10, 11)), state.Effective, "effective membership (the later of the two in the log)");
    });

    /// <summary>Fails unless <paramref name="found"/> holds exactly the memberships expected, oldest first.</summary>
    private static void ExpectMemberships(IReadOnlyList<StoredMembership> found, string what, params (LogId Id, ulong[] Voters)[] expected)
    {
        bool same = found.Count == expected.Length;
        for (int i = 0; same && i < expected.Length; i++)
        {
            same = found[i].LogId == expected[i].Id && found[i].Membership.Equals(Membership.FromVoters(expected[i].Voters));
        }

        if (!same)
        {
            var wanted = new List<string>();
            foreach (var (id, voters) in expected)
            {
                wanted.Add($"{id}: {{{string.Join(",", voters)}}}");
            }

            Assert.Fail($"Memberships in the log, {what}: expected [{string.Join("; ", wanted)}], got [{string.Join("; ", found)}].");
        }
    }
}
