using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native.Coalescing;
using RaftToolkit.Native.Keys;
using RaftToolkit.Native.Records;

namespace RaftToolkit.Native;

/// <summary>The per-group operations behind every group's log (<see cref="GroupLogState"/>).</summary>
public sealed partial class RocksDbLogStore
{
    internal ValueTask<LogState> GetLogState(GroupLogState state, CancellationToken cancellationToken)
    {
        try
        {
            return GetLogStateCore(state, cancellationToken);
        }
        catch (Exception e)
        {
            return ValueTask.FromException<LogState>(e);
        }
    }

    private ValueTask<LogState> GetLogStateCore(GroupLogState state, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfUnusable(state);
        EnsureLoaded(state);
        lock (_coalescer.Gate)
        {
            ThrowIfRemovedDuringRead(state);
            if (!state.LastLogIdAsNamed)
            {
                return new(new LogState(state.LastPurged, state.LastLogId));
            }
        }

        return ReadBackLastLogId(state, cancellationToken);
    }

    /// <summary>
    /// The log state of a group whose last id a truncation named (see
    /// <see cref="GroupLogState.LastLogIdAsNamed"/>): once the group's queued writes are written,
    /// the stored entry's id, which the cache then keeps, as a reload would read it.
    /// </summary>
    private async ValueTask<LogState> ReadBackLastLogId(GroupLogState state, CancellationToken cancellationToken)
    {
        while (true)
        {
            ThrowIfUnusable(state);
            long stamp;
            LogState named;
            lock (_coalescer.Gate)
            {
                ThrowIfRemovedDuringRead(state);
                named = new LogState(state.LastPurged, state.LastLogId);
                if (!state.LastLogIdAsNamed)
                {
                    return named;
                }

                // Changes with every write checked against the group since (a superset of those
                // that move its ends: a vote costs a needless retry, nothing more).
                stamp = state.PendingStamp;
            }

            // A write of nothing is answered once every write queued before it is written, so
            // the read below sees the truncation, and every write of the group before it. It is
            // answered on the writing thread: leave it before reading, and before the caller's
            // code runs, which must not hold up every group's writes.
            cancellationToken.ThrowIfCancellationRequested();
            await WrittenSoFar().ConfigureAwait(false);
            await Task.Yield();
            ulong index = named.LastLogId!.Value.Index;
            var stored = ReadEntryLogId(state.GroupId, index);
            lock (_coalescer.Gate)
            {
                // Unless the log's ends moved meanwhile (a write queued behind the empty one may
                // even have deleted the entry): then the read may be stale, and is tried again.
                if (state.PendingStamp == stamp && state.LastLogIdAsNamed)
                {
                    if (stored is null)
                    {
                        throw new StorageInconsistencyException($"Group {state.GroupId}: entry {index}, the last one kept by a truncation, is not in the log.");
                    }

                    state.LastLogId = stored;
                    state.LastLogIdAsNamed = false;
                    return new LogState(state.LastPurged, stored);
                }
            }
        }
    }

    /// <summary>A write of nothing: answered once every write queued before it is durable.</summary>
    private ValueTask WrittenSoFar()
    {
        var request = _requests.Get();
        try
        {
            return Submit(request);
        }
        catch
        {
            request.Abandon();
            throw;
        }
    }

    internal ValueTask Append(GroupLogState state, ReadOnlyMemory<Entry> entries, IFlushCallback callback, CancellationToken cancellationToken)
    {
        try
        {
            return AppendCore(state, entries, callback, cancellationToken);
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }
    }

    private ValueTask AppendCore(GroupLogState state, ReadOnlyMemory<Entry> entries, IFlushCallback callback, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(callback);
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfUnusable(state);
        var span = entries.Span;
        ValidateEntries(state.GroupId, span, nameof(entries));
        EnsureLoaded(state);
        var request = _requests.Get();
        try
        {
            // An empty append writes nothing, yet is queued like any other: its callback must not
            // tell the caller "flushed" while the group's earlier writes are still on their way.
            if (!span.IsEmpty)
            {
                request.Reserve(WriteRequest.AppendSize(_space, span), nameof(entries));
                request.StageAppend(_space, state, span);
            }

            request.Callback = callback;
            return Submit(request);
        }
        catch
        {
            request.Abandon();
            throw;
        }
    }

    internal ValueTask TruncateAfter(GroupLogState state, LogId? logId, CancellationToken cancellationToken)
    {
        try
        {
            return TruncateAfterCore(state, logId, cancellationToken);
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }
    }

    private ValueTask TruncateAfterCore(GroupLogState state, LogId? logId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfUnusable(state);
        if (logId is { } id)
        {
            ValidateIndex(state.GroupId, id.Index, nameof(logId));
        }

        EnsureLoaded(state);
        var request = _requests.Get();
        try
        {
            request.StageTruncateAfter(_space, state, logId);
            return Submit(request);
        }
        catch
        {
            request.Abandon();
            throw;
        }
    }

    internal ValueTask Purge(GroupLogState state, LogId logId, CancellationToken cancellationToken)
    {
        try
        {
            return PurgeCore(state, logId, cancellationToken);
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }
    }

    private ValueTask PurgeCore(GroupLogState state, LogId logId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfUnusable(state);
        ValidateIndex(state.GroupId, logId.Index, nameof(logId));
        EnsureLoaded(state);
        var request = _requests.Get();
        try
        {
            request.StagePurge(_space, state, logId);
            return Submit(request);
        }
        catch
        {
            request.Abandon();
            throw;
        }
    }

    internal ValueTask SaveVote(GroupLogState state, Vote vote, CancellationToken cancellationToken)
    {
        try
        {
            return SaveVoteCore(state, vote, cancellationToken);
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }
    }

    private ValueTask SaveVoteCore(GroupLogState state, Vote vote, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfUnusable(state);
        EnsureLoaded(state);
        var request = _requests.Get();
        try
        {
            request.StageVote(_space, state, vote);
            return Submit(request);
        }
        catch
        {
            request.Abandon();
            throw;
        }
    }

    internal ValueTask SaveCommitted(GroupLogState state, LogId? committed, CancellationToken cancellationToken)
    {
        try
        {
            return SaveCommittedCore(state, committed, cancellationToken);
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }
    }

    private ValueTask SaveCommittedCore(GroupLogState state, LogId? committed, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfUnusable(state);
        EnsureLoaded(state);
        var request = _requests.Get();
        try
        {
            request.StageCommitted(_space, state, committed);
            return Submit(request);
        }
        catch
        {
            request.Abandon();
            throw;
        }
    }

    internal ValueTask<Vote?> ReadVote(GroupLogState state, CancellationToken cancellationToken)
    {
        try
        {
            return ReadVoteCore(state, cancellationToken);
        }
        catch (Exception e)
        {
            return ValueTask.FromException<Vote?>(e);
        }
    }

    private ValueTask<Vote?> ReadVoteCore(GroupLogState state, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfUnusable(state);
        var vote = RemovalUnwritten(state) ? null : ReadVoteRecord(state.GroupId);
        ThrowIfRemovedDuringRead(state);
        return new(vote);
    }

    internal ValueTask<LogId?> ReadCommitted(GroupLogState state, CancellationToken cancellationToken)
    {
        try
        {
            return ReadCommittedCore(state, cancellationToken);
        }
        catch (Exception e)
        {
            return ValueTask.FromException<LogId?>(e);
        }
    }

    private ValueTask<LogId?> ReadCommittedCore(GroupLogState state, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfUnusable(state);
        var committed = RemovalUnwritten(state) ? null : ReadMetaLogId(state.GroupId, MetaLabel.Committed);
        ThrowIfRemovedDuringRead(state);
        return new(committed);
    }

    internal ValueTask<IReadOnlyList<Entry>> ReadEntries(GroupLogState state, ulong start, ulong end, ReadLimits limits, CancellationToken cancellationToken)
    {
        try
        {
            return ReadEntriesCore(state, start, end, limits, cancellationToken);
        }
        catch (Exception e)
        {
            return ValueTask.FromException<IReadOnlyList<Entry>>(e);
        }
    }

    private ValueTask<IReadOnlyList<Entry>> ReadEntriesCore(GroupLogState state, ulong start, ulong end, ReadLimits limits, CancellationToken cancellationToken)
    {
        LogRanges.ThrowIfInverted(start, end);
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfUnusable(state);
        if (start == end || RemovalUnwritten(state))
        {
            return new(Array.Empty<Entry>());
        }

        // Sized for the range up front: growing a list of entries by doubling allocated half again
        // as much as the entries themselves on a 64-entry replication read. Capped, because an
        // open-ended range ("the rest of the log") says nothing about the log's length.
        var entries = new List<Entry>((int)Math.Min(end - start, InitialReadCapacity));
        ReadRange(state.GroupId, start, end, limits, entries);
        ThrowIfRemovedDuringRead(state);
        return new(entries);
    }

    internal ValueTask<LogId> GetLogId(GroupLogState state, ulong index, CancellationToken cancellationToken)
    {
        try
        {
            return GetLogIdCore(state, index, cancellationToken);
        }
        catch (Exception e)
        {
            return ValueTask.FromException<LogId>(e);
        }
    }

    private ValueTask<LogId> GetLogIdCore(GroupLogState state, ulong index, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfUnusable(state);
        EnsureLoaded(state);
        LogId? purged;
        LogId? last;
        lock (_coalescer.Gate)
        {
            ThrowIfRemovedDuringRead(state);
            purged = state.LastPurged;
            last = state.LastLogId;
        }

        if (purged is { } p && index <= p.Index)
        {
            throw new LogEntryNotFoundException(state.GroupId, index, $"purged up to {p}");
        }

        if (last is not { } l || index > l.Index)
        {
            throw new LogEntryNotFoundException(state.GroupId, index, "past the end of the log");
        }

        var stored = RemovalUnwritten(state) ? null : ReadEntryLogId(state.GroupId, index);
        ThrowIfRemovedDuringRead(state);
        return new(stored ?? throw new LogEntryNotFoundException(state.GroupId, index, "not written yet"));
    }

    /// <exception cref="ArgumentOutOfRangeException">The range ends before it starts (thrown here, not when the stream is first read).</exception>
    internal IAsyncEnumerable<Entry> StreamEntries(GroupLogState state, LeaderId? leader, ulong start, ulong end, CancellationToken cancellationToken)
    {
        LogRanges.ThrowIfInverted(start, end);
        return LogStreams.ContiguousAsync(start, end, (from, to, token) => ReadStreamChunk(state, leader, from, to, token), cancellationToken);
    }

    /// <summary>One chunk of a stream: after the leader check, if the stream is leader-bounded.</summary>
    private async ValueTask<IReadOnlyList<Entry>> ReadStreamChunk(GroupLogState state, LeaderId? leader, ulong from, ulong end, CancellationToken cancellationToken)
    {
        if (leader is { } bound)
        {
            var vote = await ReadVote(state, cancellationToken).ConfigureAwait(false);
            if (vote is not { Committed: true } granted || granted.LeaderId != bound)
            {
                throw new LeaderChangedException(bound, vote);
            }
        }

        return await ReadEntries(state, from, end, ReadLimits.StreamChunk, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Loads the group's log ends from the database the first time the group is used.</summary>
    private void EnsureLoaded(GroupLogState state)
    {
        if (Volatile.Read(ref state.Loaded))
        {
            return;
        }

        // No write of this group can be queued while it is unloaded (writes load first), so the
        // database holds its whole state; two racing loaders read the same values.
        var purged = ReadMetaLogId(state.GroupId, MetaLabel.LastPurged);
        var last = ReadLastEntryId(state.GroupId, purged is { } p ? p.Index + 1 : 0) ?? purged;
        SetLoaded(state, purged, last);
    }

    /// <summary>
    /// Loads the group before its removal. Removal deletes every key of the group and needs
    /// neither of its ends, so a group whose stored ends are damaged can still be removed (and
    /// replicated afresh): its ends are taken as empty, which is what the removal leaves.
    /// </summary>
    private void EnsureLoadedForRemoval(GroupLogState state)
    {
        try
        {
            EnsureLoaded(state);
        }
        catch (RaftStorageException damaged) when (damaged is LogCorruptionException or MetaRecordCorruptionException or StorageInconsistencyException)
        {
            SetLoaded(state, null, null);
        }
    }

    private void SetLoaded(GroupLogState state, LogId? purged, LogId? last)
    {
        lock (_coalescer.Gate)
        {
            if (!state.Loaded)
            {
                state.LastPurged = purged;
                state.LastLogId = last;
                Volatile.Write(ref state.Loaded, true);
            }
        }
    }

    private void ThrowIfUnusable(GroupLogState state)
    {
        ThrowIfUnusable();
        if (Volatile.Read(ref state.Removed))
        {
            throw new UnknownGroupException(state.GroupId);
        }
    }

    /// <summary>
    /// After a read of the database through a view: fails it as the removed group's if the group
    /// was removed since the view was checked usable. The check before the read is not enough:
    /// between it and the read, the removal may be queued and written, and the group reused and
    /// written again under the same id, and the read would then answer with the new group's
    /// log, vote or committed id through a view of the old one. A removal marks the state when
    /// it is queued, before it or any later write of the group is written; a state still
    /// unmarked now was unmarked throughout the read, which therefore saw the old group.
    /// </summary>
    private static void ThrowIfRemovedDuringRead(GroupLogState state)
    {
        if (Volatile.Read(ref state.Removed))
        {
            throw new UnknownGroupException(state.GroupId);
        }
    }

    /// <summary>
    /// Whether <paramref name="state"/> stands in for a removed group whose removal is not
    /// written yet (<see cref="GroupLogState.RemovalUnwritten"/>): a read through it then answers
    /// without the database, which still holds the removed group's keys, as the database will
    /// once the removal is written: no vote, no committed id, no entry.
    /// </summary>
    private static bool RemovalUnwritten(GroupLogState state) => Volatile.Read(ref state.RemovalUnwritten);

    /// <summary>The group's reader: its own view, checked usable now as every read is.</summary>
    internal IRaftLogReader GetReader(GroupLogState state)
    {
        ThrowIfUnusable(state);
        return state;
    }

    private GroupLogState FlatView => _flatView ?? throw new InvalidOperationException(
        "This store keeps many groups (group-prefixed key space): use ForGroup(groupId) to reach one group's log.");

    /// <inheritdoc />
    public ValueTask<LogState> GetLogStateAsync(CancellationToken cancellationToken = default) => FlatView.GetLogStateAsync(cancellationToken);

    /// <inheritdoc />
    public IRaftLogReader GetReader() => FlatView.GetReader();

    /// <inheritdoc />
    public ValueTask SaveVoteAsync(Vote vote, CancellationToken cancellationToken = default) => FlatView.SaveVoteAsync(vote, cancellationToken);

    /// <inheritdoc />
    public ValueTask SaveCommittedAsync(LogId? committed, CancellationToken cancellationToken = default) => FlatView.SaveCommittedAsync(committed, cancellationToken);

    /// <inheritdoc />
    public ValueTask<LogId?> ReadCommittedAsync(CancellationToken cancellationToken = default) => FlatView.ReadCommittedAsync(cancellationToken);

    /// <inheritdoc />
    public ValueTask AppendAsync(ReadOnlyMemory<Entry> entries, IFlushCallback callback, CancellationToken cancellationToken = default) =>
        FlatView.AppendAsync(entries, callback, cancellationToken);

    /// <inheritdoc />
    public ValueTask TruncateAfterAsync(LogId? logId, CancellationToken cancellationToken = default) => FlatView.TruncateAfterAsync(logId, cancellationToken);

    /// <inheritdoc />
    public ValueTask PurgeAsync(LogId logId, CancellationToken cancellationToken = default) => FlatView.PurgeAsync(logId, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<Entry>> TryGetLogEntriesAsync(ulong start, ulong end, CancellationToken cancellationToken = default) =>
        FlatView.TryGetLogEntriesAsync(start, end, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<Entry>> LimitedGetLogEntriesAsync(ulong start, ulong end, CancellationToken cancellationToken = default) =>
        FlatView.LimitedGetLogEntriesAsync(start, end, cancellationToken);

    /// <inheritdoc />
    public ValueTask<LogId> GetLogIdAsync(ulong index, CancellationToken cancellationToken = default) => FlatView.GetLogIdAsync(index, cancellationToken);

    /// <inheritdoc />
    public ValueTask<Vote?> ReadVoteAsync(CancellationToken cancellationToken = default) => FlatView.ReadVoteAsync(cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<Entry> EntriesStreamAsync(ulong start, ulong end, CancellationToken cancellationToken = default) =>
        FlatView.EntriesStreamAsync(start, end, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<Entry> LeaderBoundedStreamAsync(LeaderId leader, ulong start, ulong end, CancellationToken cancellationToken = default) =>
        FlatView.LeaderBoundedStreamAsync(leader, start, end, cancellationToken);
}
