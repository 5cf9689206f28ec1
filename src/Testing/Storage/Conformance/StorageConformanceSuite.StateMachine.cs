using RaftToolkit.Core.Model;
using Xunit;

namespace RaftToolkit.Testing.Storage.Conformance;

/// <content>Cases 40–45: the state machine and snapshots.</content>
public abstract partial class StorageConformanceSuite<TResponse, TSnapshot>
{
    /// <summary>40. The applied id and membership are reported; a blank entry does not change the membership.</summary>
    [Fact]
    public Task LastAppliedState() => RunCaseAsync(async c =>
    {
        var sm = c.NewStateMachine();
        Expect(AppliedState.Initial, await sm.GetAppliedStateAsync().ConfigureAwait(false), "applied state of a fresh state machine");
        await ApplyAsync(sm, MembershipEntry(1, 3, 1, 2)).ConfigureAwait(false);
        var membership = new StoredMembership(Id(1, 3), Membership.FromVoters(1, 2));
        Expect(new AppliedState(Id(1, 3), membership), await sm.GetAppliedStateAsync().ConfigureAwait(false), "applied state after a membership entry");
        await ApplyAsync(sm, Blank(1, 5)).ConfigureAwait(false);
        Expect(new AppliedState(Id(1, 5), membership), await sm.GetAppliedStateAsync().ConfigureAwait(false), "applied state after a blank entry (membership unchanged)");
    });

    /// <summary>41. Applying a blank, then a membership entry, one at a time, updates the applied id and membership.</summary>
    [Fact]
    public Task ApplySingle() => RunCaseAsync(async c =>
    {
        var sm = c.NewStateMachine();
        Expect(null, (await sm.GetAppliedStateAsync().ConfigureAwait(false)).LastApplied, "applied id of a fresh state machine");
        await ApplyAsync(sm, Blank(0, 0)).ConfigureAwait(false);
        Expect(Id(0, 0), (await sm.GetAppliedStateAsync().ConfigureAwait(false)).LastApplied, "applied id after a blank entry");
        await ApplyAsync(sm, MembershipEntry(1, 1, 1, 2)).ConfigureAwait(false);
        var state = await sm.GetAppliedStateAsync().ConfigureAwait(false);
        Expect(Id(1, 1), state.LastApplied, "applied id after a membership entry");
        Expect(new StoredMembership(Id(1, 1), Membership.FromVoters(1, 2)), state.LastMembership, "applied membership after a membership entry");
    });

    /// <summary>42. Applying a batch updates the applied id and membership.</summary>
    [Fact]
    public Task ApplyMultiple() => RunCaseAsync(async c =>
    {
        var sm = c.NewStateMachine();
        Expect(null, (await sm.GetAppliedStateAsync().ConfigureAwait(false)).LastApplied, "applied id of a fresh state machine");
        await ApplyAsync(sm, Blank(0, 0), MembershipEntry(1, 1, 1, 2)).ConfigureAwait(false);
        var state = await sm.GetAppliedStateAsync().ConfigureAwait(false);
        Expect(Id(1, 1), state.LastApplied, "applied id after a batch");
        Expect(new StoredMembership(Id(1, 1), Membership.FromVoters(1, 2)), state.LastMembership, "applied membership after a batch");
    });

    /// <summary>43. A built snapshot's last log id and membership match what was applied.</summary>
    [Fact]
    public Task SnapshotMeta() => RunCaseAsync(async c =>
    {
        var sm = c.NewStateMachine();
        await ApplyAsync(sm, MembershipEntry(0, 0, 1, 2)).ConfigureAwait(false);
        var snapshot = await sm.BuildSnapshotAsync(force: true).ConfigureAwait(false);
        Expect(snapshot is not null, "A forced snapshot build returns a snapshot.");
        Expect(Id(0, 0), snapshot!.Meta.LastLogId, "snapshot's last log id after one membership entry");
        Expect(new StoredMembership(Id(0, 0), Membership.FromVoters(1, 2)), snapshot.Meta.LastMembership, "snapshot's membership after one membership entry");

        await ApplyAsync(sm, Blank(1, 1), MembershipEntry(2, 2, 3, 4)).ConfigureAwait(false);
        snapshot = await sm.BuildSnapshotAsync(force: true).ConfigureAwait(false);
        Expect(snapshot is not null, "A forced snapshot build returns a snapshot.");
        Expect(Id(2, 2), snapshot!.Meta.LastLogId, "snapshot's last log id after a blank and a membership entry");
        Expect(new StoredMembership(Id(2, 2), Membership.FromVoters(3, 4)), snapshot.Meta.LastMembership, "snapshot's membership after a blank and a membership entry");
    });

    /// <summary>44. A non-forced snapshot build may decline (return none); what it returns otherwise matches what was applied.</summary>
    [Fact]
    public Task SnapshotMetaOptional() => RunCaseAsync(async c =>
    {
        var sm = c.NewStateMachine();
        await ApplyAsync(sm, MembershipEntry(0, 0, 1, 2)).ConfigureAwait(false);
        var snapshot = await sm.BuildSnapshotAsync(force: false).ConfigureAwait(false);
        if (snapshot is not null)
        {
            Expect(Id(0, 0), snapshot.Meta.LastLogId, "last log id of a snapshot built without force");
            Expect(new StoredMembership(Id(0, 0), Membership.FromVoters(1, 2)), snapshot.Meta.LastMembership, "membership of a snapshot built without force");
        }
    });

    /// <summary>45. A leader builds a snapshot, a follower installs it: the follower's snapshot meta and applied state match.</summary>
    [Fact]
    public Task TransferSnapshot() => RunCaseAsync(async c =>
    {
        var leader = c.NewStateMachine();
        var follower = c.NewStateMachine();
        Expect(null, await leader.GetCurrentSnapshotAsync().ConfigureAwait(false), "current snapshot of a fresh state machine (leader)");
        Expect(null, await follower.GetCurrentSnapshotAsync().ConfigureAwait(false), "current snapshot of a fresh state machine (follower)");

        await ApplyAsync(leader, MembershipEntry(1, 2, 1, 2, 3), Blank(3, 3)).ConfigureAwait(false);
        var membership = new StoredMembership(Id(1, 2), Membership.FromVoters(1, 2, 3));
        var built = await leader.BuildSnapshotAsync(force: true).ConfigureAwait(false);
        Expect(built is not null, "A forced snapshot build returns a snapshot.");
        Expect(Id(3, 3), built!.Meta.LastLogId, "built snapshot's last log id");
        Expect(membership, built.Meta.LastMembership, "built snapshot's membership");
        var current = await leader.GetCurrentSnapshotAsync().ConfigureAwait(false);
        Expect(built.Meta, current?.Meta, "leader's current snapshot meta after building one");

        await follower.InstallSnapshotAsync(current!.Meta, current.Data).ConfigureAwait(false);
        var installed = await follower.GetCurrentSnapshotAsync().ConfigureAwait(false);
        Expect(built.Meta, installed?.Meta, "follower's current snapshot meta after installing");
        Expect(new AppliedState(Id(3, 3), membership), await follower.GetAppliedStateAsync().ConfigureAwait(false), "follower's applied state after installing");
    });
}
