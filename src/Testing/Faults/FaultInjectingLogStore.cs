using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;

namespace RaftToolkit.Testing.Faults;

/// <summary>
/// Wraps a log store and fails (or holds) writes as <see cref="WriteFaults"/> plans. A failed write
/// reaches nothing underneath, so what the inner store holds is exactly what was acknowledged. It
/// fails as a store's I/O error does: its task fails (the call does not throw), and a failed
/// append's flush callback is told the error. A held write's task stays pending until released.
/// </summary>
public sealed class FaultInjectingLogStore(IRaftLogStore inner, WriteFaults faults, ulong groupId = 0) : IRaftLogStore
{
    private readonly IRaftLogStore _inner = inner ?? throw new ArgumentNullException(nameof(inner));
    private readonly WriteFaults _faults = faults ?? throw new ArgumentNullException(nameof(faults));

    /// <inheritdoc />
    public ValueTask<LogState> GetLogStateAsync(CancellationToken cancellationToken = default) => _inner.GetLogStateAsync(cancellationToken);

    /// <inheritdoc />
    public IRaftLogReader GetReader() => _inner.GetReader();

    /// <inheritdoc />
    public ValueTask SaveVoteAsync(Vote vote, CancellationToken cancellationToken = default)
    {
        return FaultedWrite.Run(_faults, groupId, "save vote", () => _inner.SaveVoteAsync(vote, cancellationToken));
    }

    /// <inheritdoc />
    public ValueTask SaveCommittedAsync(LogId? committed, CancellationToken cancellationToken = default)
    {
        return FaultedWrite.Run(_faults, groupId, "save committed", () => _inner.SaveCommittedAsync(committed, cancellationToken));
    }

    /// <inheritdoc />
    public ValueTask<LogId?> ReadCommittedAsync(CancellationToken cancellationToken = default) => _inner.ReadCommittedAsync(cancellationToken);

    /// <inheritdoc />
    public ValueTask AppendAsync(ReadOnlyMemory<Entry> entries, IFlushCallback callback, CancellationToken cancellationToken = default) =>
        _faults.Run(() => AppendNowAsync(entries, callback, cancellationToken));

    private ValueTask AppendNowAsync(ReadOnlyMemory<Entry> entries, IFlushCallback callback, CancellationToken cancellationToken)
    {
        if (_faults.Refusal(groupId, "append") is { } refused)
        {
            // As a store's I/O error: the entries will never be durable, and the callback says so.
            callback.OnFlushed(refused);
            return ValueTask.FromException(refused);
        }

        return _inner.AppendAsync(entries, callback, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask TruncateAfterAsync(LogId? logId, CancellationToken cancellationToken = default)
    {
        return FaultedWrite.Run(_faults, groupId, "truncate", () => _inner.TruncateAfterAsync(logId, cancellationToken));
    }

    /// <inheritdoc />
    public ValueTask PurgeAsync(LogId logId, CancellationToken cancellationToken = default)
    {
        return FaultedWrite.Run(_faults, groupId, "purge", () => _inner.PurgeAsync(logId, cancellationToken));
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<Entry>> TryGetLogEntriesAsync(ulong start, ulong end, CancellationToken cancellationToken = default) =>
        _inner.TryGetLogEntriesAsync(start, end, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<Entry>> LimitedGetLogEntriesAsync(ulong start, ulong end, CancellationToken cancellationToken = default) =>
        _inner.LimitedGetLogEntriesAsync(start, end, cancellationToken);

    /// <inheritdoc />
    public ValueTask<LogId> GetLogIdAsync(ulong index, CancellationToken cancellationToken = default) => _inner.GetLogIdAsync(index, cancellationToken);

    /// <inheritdoc />
    public ValueTask<Vote?> ReadVoteAsync(CancellationToken cancellationToken = default) => _inner.ReadVoteAsync(cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<Entry> EntriesStreamAsync(ulong start, ulong end, CancellationToken cancellationToken = default) =>
        _inner.EntriesStreamAsync(start, end, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<Entry> LeaderBoundedStreamAsync(LeaderId leader, ulong start, ulong end, CancellationToken cancellationToken = default) =>
        _inner.LeaderBoundedStreamAsync(leader, start, end, cancellationToken);
}

/// <summary>A multi-group store whose writes (batches and per-group views alike) fail or hang as <see cref="WriteFaults"/> plans.</summary>
public sealed class FaultInjectingMultiGroupLogStore(IMultiGroupLogStore inner, WriteFaults faults) : IMultiGroupLogStore
{
    private readonly IMultiGroupLogStore _inner = inner ?? throw new ArgumentNullException(nameof(inner));
    private readonly WriteFaults _faults = faults ?? throw new ArgumentNullException(nameof(faults));

    /// <inheritdoc />
    public IRaftLogStore ForGroup(ulong groupId) => new FaultInjectingLogStore(_inner.ForGroup(groupId), _faults, groupId);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<ulong>> ListGroupsAsync(CancellationToken cancellationToken = default) => _inner.ListGroupsAsync(cancellationToken);

    /// <inheritdoc />
    public ValueTask RemoveGroupAsync(ulong groupId, CancellationToken cancellationToken = default)
    {
        return FaultedWrite.Run(_faults, groupId, "remove group", () => _inner.RemoveGroupAsync(groupId, cancellationToken));
    }

    /// <inheritdoc />
    public ValueTask WriteAsync(LogWriteBatch batch, CancellationToken cancellationToken = default)
    {
        if (batch is null)
        {
            return ValueTask.FromException(new ArgumentNullException(nameof(batch)));
        }

        return FaultedWrite.Run(_faults, batch.IsEmpty ? 0 : batch.Operations[0].GroupId, $"batch of {batch.Count} operations", () => _inner.WriteAsync(batch, cancellationToken));
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _inner.DisposeAsync();
}

/// <summary>A write of a fault-injecting store, as <see cref="WriteFaults"/> plans it.</summary>
internal static class FaultedWrite
{
    /// <summary>
    /// Runs <paramref name="write"/> in its turn (see <see cref="WriteFaults.Run"/>), unless the
    /// plan refuses it: then its task fails, as a store's after an I/O error, and nothing reaches
    /// the store underneath.
    /// </summary>
    public static ValueTask Run(WriteFaults faults, ulong groupId, string what, Func<ValueTask> write) =>
        faults.Run(() => faults.Refusal(groupId, what) is { } refused ? ValueTask.FromException(refused) : write());
}
