using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;

namespace RaftToolkit.Native;

/// <summary>
/// One group's log inside a <see cref="RocksDbLogStore"/>: the <see cref="IRaftLogStore"/>
/// contract over the group's keys only. Holds no state of its own beyond the group's cache
/// entry, so it also serves as its own reader.
/// </summary>
internal sealed class GroupLogView : IRaftLogStore
{
    private readonly RocksDbLogStore _store;

    public GroupLogView(RocksDbLogStore store, GroupLogState state)
    {
        _store = store;
        State = state;
    }

    /// <summary>The group's cache entry (replaced in the store when the group is removed).</summary>
    public GroupLogState State { get; }

    public ValueTask<LogState> GetLogStateAsync(CancellationToken cancellationToken = default) => _store.GetLogState(State, cancellationToken);

    public IRaftLogReader GetReader() => this;

    public ValueTask SaveVoteAsync(Vote vote, CancellationToken cancellationToken = default) => _store.SaveVote(State, vote, cancellationToken);

    public ValueTask SaveCommittedAsync(LogId? committed, CancellationToken cancellationToken = default) => _store.SaveCommitted(State, committed, cancellationToken);

    public ValueTask<LogId?> ReadCommittedAsync(CancellationToken cancellationToken = default) => _store.ReadCommitted(State, cancellationToken);

    public ValueTask AppendAsync(ReadOnlyMemory<Entry> entries, IFlushCallback callback, CancellationToken cancellationToken = default) =>
        _store.Append(State, entries, callback, cancellationToken);

    public ValueTask TruncateAfterAsync(LogId? logId, CancellationToken cancellationToken = default) => _store.TruncateAfter(State, logId, cancellationToken);

    public ValueTask PurgeAsync(LogId logId, CancellationToken cancellationToken = default) => _store.Purge(State, logId, cancellationToken);

    public ValueTask<IReadOnlyList<Entry>> TryGetLogEntriesAsync(ulong start, ulong end, CancellationToken cancellationToken = default) =>
        _store.ReadEntries(State, start, end, limited: false, cancellationToken);

    public ValueTask<IReadOnlyList<Entry>> LimitedGetLogEntriesAsync(ulong start, ulong end, CancellationToken cancellationToken = default) =>
        _store.ReadEntries(State, start, end, limited: true, cancellationToken);

    public ValueTask<LogId> GetLogIdAsync(ulong index, CancellationToken cancellationToken = default) => _store.GetLogId(State, index, cancellationToken);

    public ValueTask<Vote?> ReadVoteAsync(CancellationToken cancellationToken = default) => _store.ReadVote(State, cancellationToken);

    public IAsyncEnumerable<Entry> EntriesStreamAsync(ulong start, ulong end, CancellationToken cancellationToken = default) =>
        _store.StreamEntries(State, null, start, end, cancellationToken);

    public IAsyncEnumerable<Entry> LeaderBoundedStreamAsync(LeaderId leader, ulong start, ulong end, CancellationToken cancellationToken = default) =>
        _store.StreamEntries(State, leader, start, end, cancellationToken);

    public override string ToString() => $"group {State.GroupId} of {_store}";
}
