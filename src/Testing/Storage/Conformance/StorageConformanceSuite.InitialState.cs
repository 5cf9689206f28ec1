using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using Xunit;

namespace RaftToolkit.Testing.Storage.Conformance;

/// <content>Cases 10–20: the initial state read on open.</content>
public abstract partial class StorageConformanceSuite<TResponse, TSnapshot>
{
    /// <summary>10. An empty store yields the pristine state: default vote, nothing pending.</summary>
    [Fact]
    public Task InitialState_WithoutInit() => RunCaseAsync(async c =>
    {
        var state = await RaftStorageHelper.GetInitialStateAsync(c.Log, c.NewStateMachine()).ConfigureAwait(false);
        Expect(default(Vote), state.Vote, "vote of an empty store");
        Expect(null, state.Committed, "committed id of an empty store");
        Expect(null, state.LastApplied, "last applied id of an empty store");
        Expect(null, state.LastLogId, "last log id of an empty store");
        Expect(null, state.LastPurgedLogId, "last purged id of an empty store");
        Expect(MembershipState.Default, state.Membership, "membership of an empty store");
        ExpectIds([], state.KeyLogIds, "key log ids of an empty store");
        Expect(null, state.Snapshot, "snapshot of an empty store");
        Expect(new LogState(null, null), await c.Log.GetLogStateAsync().ConfigureAwait(false), "log state after reading the initial state of an empty store");
    });

    /// <summary>11. With an empty log, the effective membership comes from the state machine.</summary>
    [Fact]
    public Task InitialState_MembershipFromEmptyLogAndSm() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        var sm = c.NewStateMachine();
        await log.SaveVoteAsync(new Vote(1, 0)).ConfigureAwait(false);
        await ApplyAsync(sm, Blank(1, 1), MembershipEntry(1, 2, 3, 4, 5)).ConfigureAwait(false);
        var state = await RaftStorageHelper.GetInitialStateAsync(log, sm).ConfigureAwait(false);
        Expect(new StoredMembership(Id(1, 2), Membership.FromVoters(3, 4, 5)), state.Membership.Effective, "effective membership (the state machine's)");
    });

    /// <summary>12. A log membership below the state machine's is ignored.</summary>
    [Fact]
    public Task InitialState_MembershipSmNewer() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        var sm = c.NewStateMachine();
        await log.SaveVoteAsync(new Vote(1, 0)).ConfigureAwait(false);
        await ApplyAsync(sm, Blank(1, 1), MembershipEntry(1, 2, 3, 4, 5)).ConfigureAwait(false);
        await AppendAsync(log, Blank(0, 0), MembershipEntry(1, 1, 1, 2, 3)).ConfigureAwait(false);
        var state = await RaftStorageHelper.GetInitialStateAsync(log, sm).ConfigureAwait(false);
        var expected = new StoredMembership(Id(1, 2), Membership.FromVoters(3, 4, 5));
        Expect(expected, state.Membership.Effective, "effective membership (the log's at index 1 is below last applied)");
        Expect(expected, state.Membership.Committed, "committed membership");
    });

    /// <summary>13. After purge (1,2) and a membership appended at (1,3), the log's membership wins.</summary>
    [Fact]
    public Task InitialState_MembershipLogNewer() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        var sm = c.NewStateMachine();
        await log.SaveVoteAsync(new Vote(1, 0)).ConfigureAwait(false);
        await ApplyAsync(sm, Blank(1, 1), MembershipEntry(1, 2, 3, 4, 5)).ConfigureAwait(false);
        await log.PurgeAsync(Id(1, 2)).ConfigureAwait(false);
        await AppendAsync(log, MembershipEntry(1, 3, 1, 2, 3)).ConfigureAwait(false);
        var state = await RaftStorageHelper.GetInitialStateAsync(log, sm).ConfigureAwait(false);
        Expect(new StoredMembership(Id(1, 3), Membership.FromVoters(1, 2, 3)), state.Membership.Effective, "effective membership (the log's, above last applied)");
        Expect(new StoredMembership(Id(1, 2), Membership.FromVoters(3, 4, 5)), state.Membership.Committed, "committed membership (the state machine's)");
    });

    /// <summary>14. Last log id (3,2); committed is the state machine's applied (3,1); the vote is read back.</summary>
    [Fact]
    public Task InitialState_WithState() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        var sm = c.NewStateMachine();
        await log.SaveVoteAsync(new Vote(1, 0)).ConfigureAwait(false);
        await AppendAsync(log, Blank(0, 0), Blank(3, 1), Blank(3, 2)).ConfigureAwait(false);
        await ApplyAsync(sm, Blank(3, 1)).ConfigureAwait(false);
        var state = await RaftStorageHelper.GetInitialStateAsync(log, sm).ConfigureAwait(false);
        Expect(Id(3, 2), state.LastLogId, "last log id (the log's)");
        Expect(Id(3, 1), state.Committed, "committed id (raised to the applied id)");
        Expect(Id(3, 1), state.LastApplied, "last applied id");
        Expect(new Vote(1, 0), state.Vote, "vote");
        Expect(null, state.LastPurgedLogId, "last purged id");
    });

    /// <summary>15. When the log is ahead of the state machine, the last log id comes from the log.</summary>
    [Fact]
    public Task InitialState_LastLogAheadOfSm() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        var sm = c.NewStateMachine();
        await log.SaveVoteAsync(new Vote(1, 0)).ConfigureAwait(false);
        await AppendAsync(log, Blank(0, 0), Blank(1, 1), Blank(1, 2), Blank(2, 3)).ConfigureAwait(false);
        await ApplyAsync(sm, Blank(1, 1), Blank(1, 2)).ConfigureAwait(false);
        var state = await RaftStorageHelper.GetInitialStateAsync(log, sm).ConfigureAwait(false);
        Expect(Id(2, 3), state.LastLogId, "last log id (the log is ahead)");
        Expect(Id(1, 2), state.LastApplied, "last applied id");
        Expect(null, state.LastPurgedLogId, "last purged id (nothing to clean)");
        Expect(new LogState(null, Id(2, 3)), await log.GetLogStateAsync().ConfigureAwait(false), "log state (must be left alone)");
    });

    /// <summary>16. When the state machine is ahead, last log id and last purged id both equal its applied id.</summary>
    [Fact]
    public Task InitialState_LastLogBehindSm() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        var sm = c.NewStateMachine();
        await log.SaveVoteAsync(new Vote(1, 0)).ConfigureAwait(false);
        await AppendAsync(log, Blank(0, 0), Blank(1, 1), Blank(1, 2)).ConfigureAwait(false);
        await ApplyAsync(sm, Blank(3, 3)).ConfigureAwait(false);
        var state = await RaftStorageHelper.GetInitialStateAsync(log, sm).ConfigureAwait(false);
        Expect(Id(3, 3), state.LastLogId, "last log id (the state machine is ahead)");
        Expect(Id(3, 3), state.LastPurgedLogId, "last purged id (the state machine is ahead)");
        ExpectIds([Id(3, 3)], state.KeyLogIds, "key log ids");
        Expect(new LogState(Id(3, 3), Id(3, 3)), await log.GetLogStateAsync().ConfigureAwait(false), "log state (purged up to the applied id)");
    });

    /// <summary>17. Key log ids (first id of each leader) stay right across append / truncate / purge sequences over terms 0–8.</summary>
    [Fact]
    public Task InitialState_LogIds() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        var sm = c.NewStateMachine();
        var model = new KeyLogIdModel();

        async Task Check(string step)
        {
            var state = await RaftStorageHelper.GetInitialStateAsync(log, sm).ConfigureAwait(false);
            ExpectIds(model.KeyLogIds(), state.KeyLogIds, $"key log ids after {step}");
            Expect(model.Last, state.LastLogId, $"last log id after {step}");
            Expect(model.Purged, state.LastPurgedLogId, $"last purged id after {step}");
        }

        async Task Append(params LogId[] ids)
        {
            var entries = new Entry[ids.Length];
            for (int i = 0; i < ids.Length; i++)
            {
                entries[i] = Entry.Blank(ids[i]);
            }

            await AppendAsync(log, entries).ConfigureAwait(false);
            model.Append(ids);
            await Check($"appending [{string.Join(", ", ids)}]").ConfigureAwait(false);
        }

        async Task Purge(LogId id)
        {
            await log.PurgeAsync(id).ConfigureAwait(false);
            model.Purge(id);
            await Check($"purging up to {id}").ConfigureAwait(false);
        }

        async Task Truncate(LogId id)
        {
            await log.TruncateAfterAsync(id).ConfigureAwait(false);
            model.TruncateAfter(id);
            await Check($"truncating after {id}").ConfigureAwait(false);
        }

        await Check("nothing").ConfigureAwait(false);

        // openraft's sequence: terms [0,1,1,2,2,3,3], then purges leader by leader.
        await Append(Id(0, 0)).ConfigureAwait(false);
        await Append(Id(1, 1), Id(1, 2), Id(2, 3)).ConfigureAwait(false);
        await Append(Id(2, 4), Id(3, 5), Id(3, 6)).ConfigureAwait(false);
        ExpectIds([Id(0, 0), Id(1, 1), Id(2, 3), Id(3, 5), Id(3, 6)], model.KeyLogIds(), "the reference model (self-check)");
        await Purge(Id(0, 0)).ConfigureAwait(false);
        await Purge(Id(1, 1)).ConfigureAwait(false);
        await Purge(Id(1, 2)).ConfigureAwait(false);
        await Purge(Id(2, 3)).ConfigureAwait(false);
        await Purge(Id(2, 4)).ConfigureAwait(false);
        await Purge(Id(3, 5)).ConfigureAwait(false);
        await Purge(Id(3, 6)).ConfigureAwait(false);
        await Append(Id(3, 7), Id(3, 8)).ConfigureAwait(false);

        // Terms 4–8, with several leaders in one term (advanced leader ids), runs of different
        // lengths, truncations that cut back into an earlier leader, and purges in between.
        ulong next = 9;
        for (ulong term = 4; term <= 8; term++)
        {
            for (ulong node = 0; node < 1 + (term % 2); node++)
            {
                ulong run = 1 + ((term + node) % 4);
                var ids = new LogId[run];
                for (ulong k = 0; k < run; k++)
                {
                    ids[k] = new LogId(term, node, next++);
                }

                await Append(ids).ConfigureAwait(false);
            }

            if (term % 2 == 0 && model.Last is { } last && model.Purged is { } purged && last.Index > purged.Index + 2)
            {
                // Cut off the newest leader's entries and one more, then refill with this term.
                var cut = await log.GetLogIdAsync(last.Index - 2).ConfigureAwait(false);
                await Truncate(cut).ConfigureAwait(false);
                next = cut.Index + 1;
                await Append(new LogId(term, 3, next++), new LogId(term, 3, next++)).ConfigureAwait(false);
            }

            if (term % 3 == 0 && model.Last is { } tail)
            {
                var purgeTo = await log.GetLogIdAsync(tail.Index - 1).ConfigureAwait(false);
                await Purge(purgeTo).ConfigureAwait(false);
            }
        }
    });

    /// <summary>18. With a persisted committed id (1,4), start-up re-applies up to it (skipped if the store keeps no committed id).</summary>
    [Fact]
    public Task InitialState_ReapplyCommitted() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        var sm = c.NewStateMachine();
        await log.SaveVoteAsync(new Vote(1, 0)).ConfigureAwait(false);
        await AppendAsync(log, Blank(0, 0), Blank(1, 1), Blank(1, 2), Blank(1, 3), Blank(1, 4), Blank(1, 5)).ConfigureAwait(false);
        await log.PurgeAsync(Id(1, 1)).ConfigureAwait(false);
        await ApplyAsync(sm, Blank(1, 2)).ConfigureAwait(false);
        await log.SaveCommittedAsync(Id(1, 4)).ConfigureAwait(false);
        if (await log.ReadCommittedAsync().ConfigureAwait(false) is null)
        {
            // As in openraft: a store may keep no committed id; then there is nothing to re-apply.
            return;
        }

        var state = await RaftStorageHelper.GetInitialStateAsync(log, sm).ConfigureAwait(false);
        Expect(Id(1, 4), state.LastApplied, "last applied id in the initial state (re-applied up to committed)");
        Expect(Id(1, 4), state.Committed, "committed id in the initial state");
        Expect(Id(1, 4), (await sm.GetAppliedStateAsync().ConfigureAwait(false)).LastApplied, "the state machine's applied id after start-up");
    });

    /// <summary>19. The log's tail has a greater index but a smaller log id than the applied id: start-up fails with "inverted log order".</summary>
    [Fact]
    public Task InitialState_InvertedLogOrder() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        var sm = c.NewStateMachine();
        await AppendAsync(log, Blank(0, 0), Blank(1, 1), Blank(1, 2), Blank(1, 3)).ConfigureAwait(false);
        await log.PurgeAsync(Id(1, 2)).ConfigureAwait(false);
        await ApplyAsync(sm, Blank(3, 1)).ConfigureAwait(false);
        await ExpectInvertedLogOrderAsync(log, sm, new LogState(Id(1, 2), Id(1, 3)), "tail (1,3) after applied (3,1)").ConfigureAwait(false);
    });

    /// <summary>20. The log and the state machine disagree on the log id at one index: start-up fails with "inverted log order".</summary>
    [Fact]
    public Task InitialState_ConflictAtSameIndex() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        var sm = c.NewStateMachine();
        await AppendAsync(log, Blank(0, 0), Blank(1, 1), Blank(3, 2)).ConfigureAwait(false);
        await ApplyAsync(sm, Blank(0, 0), Blank(2, 1)).ConfigureAwait(false);
        await ExpectInvertedLogOrderAsync(log, sm, new LogState(null, Id(3, 2)), "log (1,1) against applied (2,1)").ConfigureAwait(false);
    });

    private static async Task ExpectInvertedLogOrderAsync(IRaftLogStore log, IRaftStateMachine<TResponse, TSnapshot> sm, LogState logBefore, string what)
    {
        var appliedBefore = (await sm.GetAppliedStateAsync().ConfigureAwait(false)).LastApplied;
        var error = await ExpectFailureAsync<StorageInconsistencyException>(
            async () => await RaftStorageHelper.GetInitialStateAsync(log, sm).ConfigureAwait(false),
            $"reading the initial state with {what}").ConfigureAwait(false);
        Expect(error.Message.Contains("inverted log order", StringComparison.OrdinalIgnoreCase), $"The error should say \"inverted log order\"; it says: {error.Message}");
        Expect(logBefore, await log.GetLogStateAsync().ConfigureAwait(false), "log state after the refused start-up (nothing may be repaired)");
        Expect(appliedBefore, (await sm.GetAppliedStateAsync().ConfigureAwait(false)).LastApplied, "applied id after the refused start-up");
    }

    /// <summary>The key log ids a log should report, computed by a plain scan over a model of it.</summary>
    private sealed class KeyLogIdModel
    {
        private readonly List<LogId> _ids = new();

        public LogId? Purged { get; private set; }

        public LogId? Last => _ids.Count > 0 ? _ids[^1] : Purged;

        public void Append(LogId[] ids) => _ids.AddRange(ids);

        public void Purge(LogId id)
        {
            _ids.RemoveAll(x => x.Index <= id.Index);
            Purged = id;
        }

        public void TruncateAfter(LogId id) => _ids.RemoveAll(x => x.Index > id.Index);

        public List<LogId> KeyLogIds()
        {
            var keys = new List<LogId>();
            LogId? previous = Purged;
            if (Purged is { } purged)
            {
                keys.Add(purged);
            }

            foreach (var id in _ids)
            {
                if (previous is not { } p || p.LeaderId != id.LeaderId)
                {
                    keys.Add(id);
                }

                previous = id;
            }

            if (Last is { } last && keys[^1] != last)
            {
                keys.Add(last);
            }

            return keys;
        }
    }
}
