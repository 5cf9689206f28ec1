using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Testing.Storage;

namespace RaftToolkit.Core.Tests.Host;

/// <summary>An in-memory multi-group store whose entry reads of one group report corruption once armed.</summary>
internal sealed class CorruptingReadsStore : IMultiGroupLogStore
{
    private readonly InMemoryMultiGroupLogStore _inner = new();

    /// <summary>The group whose entry reads fail with <see cref="LogCorruptionException"/>; none while null.</summary>
    public ulong? CorruptGroup { get; set; }

    /// <summary>When set, the entry reads of <see cref="CorruptGroup"/> fail with this instead (a failed store rather than a bad record).</summary>
    public Exception? FailReadsWith { get; set; }

    public IRaftLogStore ForGroup(ulong groupId) => new GroupView(this, groupId, _inner.ForGroup(groupId));

    public ValueTask<IReadOnlyList<ulong>> ListGroupsAsync(CancellationToken cancellationToken = default) => _inner.ListGroupsAsync(cancellationToken);

    public ValueTask RemoveGroupAsync(ulong groupId, CancellationToken cancellationToken = default) => _inner.RemoveGroupAsync(groupId, cancellationToken);

    public ValueTask WriteAsync(LogWriteBatch batch, CancellationToken cancellationToken = default) => _inner.WriteAsync(batch, cancellationToken);

    public ValueTask DisposeAsync() => _inner.DisposeAsync();

    private sealed class GroupView(CorruptingReadsStore owner, ulong groupId, IRaftLogStore inner) : IRaftLogStore
    {
        public ValueTask<IReadOnlyList<Entry>> TryGetLogEntriesAsync(ulong start, ulong end, CancellationToken cancellationToken = default) =>
            owner.CorruptGroup == groupId
                ? ValueTask.FromException<IReadOnlyList<Entry>>(owner.FailReadsWith ?? new LogCorruptionException(groupId, start, "checksum mismatch (injected)"))
                : inner.TryGetLogEntriesAsync(start, end, cancellationToken);

        public ValueTask<IReadOnlyList<Entry>> LimitedGetLogEntriesAsync(ulong start, ulong end, CancellationToken cancellationToken = default) => inner.LimitedGetLogEntriesAsync(start, end, cancellationToken);

        public ValueTask<LogId> GetLogIdAsync(ulong index, CancellationToken cancellationToken = default) => inner.GetLogIdAsync(index, cancellationToken);

        public ValueTask<Vote?> ReadVoteAsync(CancellationToken cancellationToken = default) => inner.ReadVoteAsync(cancellationToken);

        public IAsyncEnumerable<Entry> EntriesStreamAsync(ulong start, ulong end, CancellationToken cancellationToken = default) => inner.EntriesStreamAsync(start, end, cancellationToken);

        public IAsyncEnumerable<Entry> LeaderBoundedStreamAsync(LeaderId leader, ulong start, ulong end, CancellationToken cancellationToken = default) => inner.LeaderBoundedStreamAsync(leader, start, end, cancellationToken);

        public ValueTask<LogState> GetLogStateAsync(CancellationToken cancellationToken = default) => inner.GetLogStateAsync(cancellationToken);

        public IRaftLogReader GetReader() => this;

        public ValueTask SaveVoteAsync(Vote vote, CancellationToken cancellationToken = default) => inner.SaveVoteAsync(vote, cancellationToken);

        public ValueTask SaveCommittedAsync(LogId? committed, CancellationToken cancellationToken = default) => inner.SaveCommittedAsync(committed, cancellationToken);

        public ValueTask<LogId?> ReadCommittedAsync(CancellationToken cancellationToken = default) => inner.ReadCommittedAsync(cancellationToken);

        public ValueTask AppendAsync(ReadOnlyMemory<Entry> entries, IFlushCallback callback, CancellationToken cancellationToken = default) => inner.AppendAsync(entries, callback, cancellationToken);

        public ValueTask TruncateAfterAsync(LogId? logId, CancellationToken cancellationToken = default) => inner.TruncateAfterAsync(logId, cancellationToken);

        public ValueTask PurgeAsync(LogId logId, CancellationToken cancellationToken = default) => inner.PurgeAsync(logId, cancellationToken);
    }
}
