using RaftToolkit.Core.Model;

namespace RaftToolkit.Core.Storage;

/// <summary>
/// Reads a group's start-up state from any <see cref="IRaftLogStore"/> and
/// <see cref="IRaftStateMachine{TResponse, TSnapshot}"/>: the counterpart of openraft's
/// <c>StorageHelper</c>, with the same rules, so that every store that passes the conformance
/// suite starts the same way.
/// </summary>
/// <remarks>Start-up paths: they run once per group open, so clarity wins over allocation here.</remarks>
public static class RaftStorageHelper
{
    /// <summary>How many entries one backwards step of the membership scan reads.</summary>
    public const int MembershipScanStep = 64;

    /// <summary>How many entries one re-apply step hands to the state machine.</summary>
    public const int ReapplyChunk = 256;

    /// <summary>
    /// The last (at most two) membership entries of the log with index at or above
    /// <paramref name="sinceIndex"/>, oldest first. Scans backwards from the log's tail; never
    /// looks at the state machine.
    /// </summary>
    public static async ValueTask<IReadOnlyList<StoredMembership>> LastMembershipInLogAsync(
        IRaftLogStore log, ulong sinceIndex, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(log);
        var state = await log.GetLogStateAsync(cancellationToken).ConfigureAwait(false);
        ulong end = state.LastLogId.NextIndex();
        ulong start = Math.Max(state.LastPurgedLogId.NextIndex(), sinceIndex);
        var found = new List<StoredMembership>(2);
        while (start < end)
        {
            ulong stepStart = end - start > MembershipScanStep ? end - MembershipScanStep : start;
            var entries = await log.TryGetLogEntriesAsync(stepStart, end, cancellationToken).ConfigureAwait(false);
            for (int i = entries.Count - 1; i >= 0; i--)
            {
                if (entries[i].Membership is { } membership)
                {
                    found.Insert(0, new StoredMembership(entries[i].LogId, membership));
                    if (found.Count == 2)
                    {
                        return found;
                    }
                }
            }

            end = stepStart;
        }

        return found;
    }

    /// <summary>
    /// The committed and effective membership: the state machine's last applied membership, then
    /// the membership entries of the log above the last applied id. None above it: both are the
    /// state machine's. One: committed is the state machine's, effective the log's. Two: the
    /// earlier is committed (Raft proposes a membership only once the previous one committed), the
    /// later effective.
    /// </summary>
    public static async ValueTask<MembershipState> GetMembershipAsync<TResponse, TSnapshot>(
        IRaftLogStore log, IRaftStateMachine<TResponse, TSnapshot> stateMachine, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(stateMachine);
        var applied = await stateMachine.GetAppliedStateAsync(cancellationToken).ConfigureAwait(false);
        var inLog = await LastMembershipInLogAsync(log, applied.LastApplied.NextIndex(), cancellationToken).ConfigureAwait(false);
        return inLog.Count switch
        {
            0 => new MembershipState(applied.LastMembership, applied.LastMembership),
            1 => new MembershipState(applied.LastMembership, inLog[0]),
            _ => new MembershipState(inLog[0], inLog[1]),
        };
    }

    /// <summary>
    /// Reads what a group's Raft core starts from, repairing what a crash may have left:
    /// committed entries the state machine had not applied yet are re-applied (up to the persisted
    /// committed id), and when the state machine is ahead of the log (a snapshot was installed but
    /// the log not yet cleaned) the log is purged up to the applied id.
    /// </summary>
    /// <exception cref="StorageInconsistencyException">
    /// The log and the state machine contradict each other ("inverted log order": the log's tail has
    /// a greater index but a smaller log id than the applied id, or they name different ids at the
    /// same index), or committed entries to re-apply are missing from the log.
    /// </exception>
    public static async ValueTask<RaftInitialState> GetInitialStateAsync<TResponse, TSnapshot>(
        IRaftLogStore log, IRaftStateMachine<TResponse, TSnapshot> stateMachine, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(stateMachine);
        var vote = await log.ReadVoteAsync(cancellationToken).ConfigureAwait(false) ?? default;
        var committed = await log.ReadCommittedAsync(cancellationToken).ConfigureAwait(false);
        var logState = await log.GetLogStateAsync(cancellationToken).ConfigureAwait(false);
        var lastPurged = logState.LastPurgedLogId;
        var lastLogId = logState.LastLogId;
        var lastApplied = (await stateMachine.GetAppliedStateAsync(cancellationToken).ConfigureAwait(false)).LastApplied;

        // Checked before anything is repaired: purging or re-applying over a contradicting log
        // would turn a detectable inconsistency into silent divergence.
        await CheckLogOrderAsync(log, lastPurged, lastLogId, lastApplied, cancellationToken).ConfigureAwait(false);

        // The committed id need not be durable, and installing a snapshot moves the applied id
        // before the new committed id is saved: the applied id is a floor for it.
        if (LogIds.Compare(committed, lastApplied) < 0)
        {
            committed = lastApplied;
        }

        if (LogIds.Compare(lastApplied, committed) < 0)
        {
            await ReapplyAsync(log, stateMachine, lastApplied.NextIndex(), committed!.Value, cancellationToken).ConfigureAwait(false);
            lastApplied = committed;
        }

        var membership = await GetMembershipAsync(log, stateMachine, cancellationToken).ConfigureAwait(false);

        // A snapshot was installed but the log behind it was not cleaned before the crash: the
        // entries below the applied id are covered by the state machine, so drop them.
        if (LogIds.Compare(lastLogId, lastApplied) < 0)
        {
            await log.PurgeAsync(lastApplied!.Value, cancellationToken).ConfigureAwait(false);
            lastLogId = lastApplied;
            lastPurged = lastApplied;
        }

        var keyLogIds = await LoadKeyLogIdsAsync(log, lastPurged, lastLogId, cancellationToken).ConfigureAwait(false);

        var snapshot = await stateMachine.GetCurrentSnapshotAsync(cancellationToken).ConfigureAwait(false);
        if (snapshot is null && lastPurged is not null)
        {
            // Purged entries can only reach a lagging follower through a snapshot; rebuild the one
            // that was not persisted so replication has something to send.
            snapshot = await stateMachine.BuildSnapshotAsync(force: true, cancellationToken).ConfigureAwait(false);
        }

        return new RaftInitialState(vote, committed, lastApplied, lastLogId, lastPurged, membership, keyLogIds, snapshot?.Meta);
    }

    /// <summary>
    /// The first log id of each leader in <c>[lastPurged, lastLogId]</c>, followed by
    /// <paramref name="lastLogId"/> when it is not already last. Found by bisection over
    /// <see cref="IRaftLogReader.GetLogIdAsync"/>: leader ids never decrease along a log, so a range
    /// whose ends share a leader holds no change of leader.
    /// </summary>
    public static async ValueTask<IReadOnlyList<LogId>> LoadKeyLogIdsAsync(
        IRaftLogReader log, LogId? lastPurged, LogId? lastLogId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(log);
        var keys = new List<LogId>();
        if (lastLogId is not { } last)
        {
            return keys;
        }

        var first = lastPurged ?? await LogIdAtAsync(log, 0, cancellationToken).ConfigureAwait(false);
        keys.Add(first);
        await CollectLeaderStartsAsync(log, first, last, keys, cancellationToken).ConfigureAwait(false);
        if (keys[^1] != last)
        {
            keys.Add(last);
        }

        return keys;
    }

    private static async ValueTask CollectLeaderStartsAsync(IRaftLogReader log, LogId from, LogId to, List<LogId> keys, CancellationToken cancellationToken)
    {
        if (from.LeaderId == to.LeaderId || to.Index <= from.Index)
        {
            return;
        }

        if (to.Index == from.Index + 1)
        {
            keys.Add(to);
            return;
        }

        ulong middleIndex = from.Index + ((to.Index - from.Index) / 2);
        var middle = await LogIdAtAsync(log, middleIndex, cancellationToken).ConfigureAwait(false);
        await CollectLeaderStartsAsync(log, from, middle, keys, cancellationToken).ConfigureAwait(false);
        await CollectLeaderStartsAsync(log, middle, to, keys, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The id of the entry at <paramref name="index"/>, from a store that must answer for that
    /// index: an answer for another one would send the bisection above round in circles (a
    /// stack overflow, not an error naming the store's fault).
    /// </summary>
    /// <exception cref="StorageInconsistencyException">The store answered with another index.</exception>
    private static async ValueTask<LogId> LogIdAtAsync(IRaftLogReader log, ulong index, CancellationToken cancellationToken)
    {
        var id = await log.GetLogIdAsync(index, cancellationToken).ConfigureAwait(false);
        if (id.Index != index)
        {
            throw new StorageInconsistencyException($"Asked for the log id at index {index}, the store answered {id}.");
        }

        return id;
    }

    private static async ValueTask CheckLogOrderAsync(IRaftLogStore log, LogId? lastPurged, LogId? lastLogId, LogId? lastApplied, CancellationToken cancellationToken)
    {
        if (lastApplied is not { } applied || lastLogId is not { } last)
        {
            return;
        }

        if (last.Index > applied.Index && last < applied)
        {
            throw new StorageInconsistencyException(
                $"Storage has an inverted log order: the log's last id {last} has a greater index but a smaller log id than the state machine's applied id {applied}.");
        }

        LogId? atApplied = null;
        if (lastPurged is { } purged && purged.Index == applied.Index)
        {
            atApplied = purged;
        }
        else if (applied.Index >= lastPurged.NextIndex() && applied.Index <= last.Index)
        {
            atApplied = await LogIdAtAsync(log, applied.Index, cancellationToken).ConfigureAwait(false);
        }

        if (atApplied is { } inLog && inLog != applied)
        {
            throw new StorageInconsistencyException(
                $"Storage has an inverted log order: at index {applied.Index} the log holds {inLog} but the state machine applied {applied}.");
        }
    }

    private static async ValueTask ReapplyAsync<TResponse, TSnapshot>(
        IRaftLogStore log, IRaftStateMachine<TResponse, TSnapshot> stateMachine, ulong start, LogId committed, CancellationToken cancellationToken)
    {
        ulong end = committed.Index + 1;
        while (start < end)
        {
            ulong chunkEnd = end - start > ReapplyChunk ? start + ReapplyChunk : end;
            var entries = await log.TryGetLogEntriesAsync(start, chunkEnd, cancellationToken).ConfigureAwait(false);
            if ((ulong)entries.Count != chunkEnd - start || (entries.Count > 0 && entries[0].Index != start))
            {
                throw new StorageInconsistencyException(
                    $"The committed id is {committed}, but the log does not hold every entry in [{start}, {chunkEnd}) to re-apply (found {entries.Count}).");
            }

            var items = new ApplyItem<TResponse>[entries.Count];
            for (int i = 0; i < items.Length; i++)
            {
                items[i] = new ApplyItem<TResponse>(entries[i], null);
            }

            await stateMachine.ApplyAsync(items, cancellationToken).ConfigureAwait(false);
            start = chunkEnd;
        }
    }
}
