using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;

namespace RaftToolkit.Native;

/// <summary>
/// The in-memory cache of one group's log ends, so validating a write needs no read, and the
/// group's <see cref="IRaftLogStore"/> (what <see cref="RocksDbLogStore.ForGroup"/> hands out):
/// the contract over the group's keys only. One object for both, because a store with 100,000
/// groups holds one of these per group. Loaded lazily from the database the first time the
/// group is used.
/// </summary>
/// <remarks>
/// Every field but <see cref="GroupId"/> is read and written only under the coalescer's gate;
/// the cache is updated when a write is queued, so it always reflects every queued write of the
/// group (a failed write stops the whole store, so the cache never has to roll back). A removed
/// group's instance is replaced in the store, so a log handed out before the removal fails.
/// The replacement is dropped again once the removal is written, unless it was used meanwhile,
/// so that the cache holds the groups in use, not every group the process ever removed.
/// </remarks>
internal sealed class GroupLogState : IRaftLogStore
{
    private readonly RocksDbLogStore _store;

    public GroupLogState(RocksDbLogStore store, ulong groupId)
    {
        _store = store;
        GroupId = groupId;
    }

    /// <summary>The group.</summary>
    public ulong GroupId { get; }

    /// <summary>True once <see cref="LastPurged"/> and <see cref="LastLogId"/> reflect the database.</summary>
    public bool Loaded;

    /// <summary>True once the group was removed: views holding this state fail with UnknownGroupException.</summary>
    public bool Removed;

    /// <summary>
    /// True once <see cref="RocksDbLogStore.ForGroup"/> handed this state out as a view. Set under
    /// the gate and never cleared: a state a caller may hold is never forgotten.
    /// </summary>
    public bool HandedOut;

    /// <summary>
    /// True once the store dropped this state, an unused stand-in for a removed group, from its
    /// cache (see <see cref="Coalescing.IGroupDirectory.RemovalWritten"/>). Only the store's own
    /// writes by group id can still hold it; they apply to the group's current state instead.
    /// </summary>
    public bool Forgotten;

    /// <summary>
    /// True from the moment this state stands in for a removed group (see
    /// <see cref="Coalescing.IGroupDirectory.ReplaceRemoved"/>) until that removal is written:
    /// the database still holds the removed group's keys, which no read through this state may
    /// return. No later write of the group is written before the removal either, so such a read
    /// answers what the database will hold once it is: none of those keys. Cleared by the writing
    /// thread after the removal's write returned and before any write behind it is completed.
    /// </summary>
    public bool RemovalUnwritten;

    /// <summary>The last purged id, including queued writes.</summary>
    public LogId? LastPurged;

    /// <summary>The last entry's id (falling back to <see cref="LastPurged"/>), including queued writes.</summary>
    public LogId? LastLogId;

    /// <summary>
    /// True when <see cref="LastLogId"/> is the id a truncation named, not read back from the
    /// log: its index is the log's end, but its term is the caller's word, which the stored
    /// entry may not bear. <see cref="RocksDbLogStore"/> reads the stored id before reporting it.
    /// </summary>
    public bool LastLogIdAsNamed;

    /// <summary>Scratch copy of <see cref="LastLogIdAsNamed"/> while a multi-operation write is validated.</summary>
    public bool PendingLastLogIdAsNamed;

    /// <summary>The validation pass that last touched <see cref="PendingPurged"/> and <see cref="PendingLastLogId"/>.</summary>
    public long PendingStamp;

    /// <summary>Scratch copy of <see cref="LastPurged"/> while a multi-operation write is validated.</summary>
    public LogId? PendingPurged;

    /// <summary>Scratch copy of <see cref="LastLogId"/> while a multi-operation write is validated.</summary>
    public LogId? PendingLastLogId;

    public ValueTask<LogState> GetLogStateAsync(CancellationToken cancellationToken = default) => _store.GetLogState(this, cancellationToken);

    public IRaftLogReader GetReader() => _store.GetReader(this);

    public ValueTask SaveVoteAsync(Vote vote, CancellationToken cancellationToken = default) => _store.SaveVote(this, vote, cancellationToken);

    public ValueTask SaveCommittedAsync(LogId? committed, CancellationToken cancellationToken = default) => _store.SaveCommitted(this, committed, cancellationToken);

    public ValueTask<LogId?> ReadCommittedAsync(CancellationToken cancellationToken = default) => _store.ReadCommitted(this, cancellationToken);

    public ValueTask AppendAsync(ReadOnlyMemory<Entry> entries, IFlushCallback callback, CancellationToken cancellationToken = default) =>
        _store.Append(this, entries, callback, cancellationToken);

    public ValueTask TruncateAfterAsync(LogId? logId, CancellationToken cancellationToken = default) => _store.TruncateAfter(this, logId, cancellationToken);

    public ValueTask PurgeAsync(LogId logId, CancellationToken cancellationToken = default) => _store.Purge(this, logId, cancellationToken);

    public ValueTask<IReadOnlyList<Entry>> TryGetLogEntriesAsync(ulong start, ulong end, CancellationToken cancellationToken = default) =>
        _store.ReadEntries(this, start, end, RocksDbLogStore.ReadLimits.Unlimited, cancellationToken);

    public ValueTask<IReadOnlyList<Entry>> LimitedGetLogEntriesAsync(ulong start, ulong end, CancellationToken cancellationToken = default) =>
        _store.ReadEntries(this, start, end, RocksDbLogStore.ReadLimits.Limited, cancellationToken);

    public ValueTask<LogId> GetLogIdAsync(ulong index, CancellationToken cancellationToken = default) => _store.GetLogId(this, index, cancellationToken);

    public ValueTask<Vote?> ReadVoteAsync(CancellationToken cancellationToken = default) => _store.ReadVote(this, cancellationToken);

    public IAsyncEnumerable<Entry> EntriesStreamAsync(ulong start, ulong end, CancellationToken cancellationToken = default) =>
        _store.StreamEntries(this, null, start, end, cancellationToken);

    public IAsyncEnumerable<Entry> LeaderBoundedStreamAsync(LeaderId leader, ulong start, ulong end, CancellationToken cancellationToken = default) =>
        _store.StreamEntries(this, leader, start, end, cancellationToken);

    public override string ToString() => $"group {GroupId} of {_store}";
}
