using RaftToolkit.Core.Storage;

namespace RaftToolkit.Testing.Storage;

/// <summary>
/// A thread-safe, in-memory <see cref="IMultiGroupLogStore"/>: each group's view
/// (<see cref="ForGroup"/>) follows the single-group contract exactly, and
/// <see cref="WriteAsync"/> validates a whole batch before applying it atomically.
/// </summary>
/// <remarks>
/// One lock guards every group. That makes a cross-group batch trivially atomic; contention
/// is irrelevant for a test double.
/// </remarks>
public sealed class InMemoryMultiGroupLogStore : IMultiGroupLogStore
{
    /// <summary>Guards <see cref="_groups"/> and every group's state; shared with the handles reopened over the same state.</summary>
    private readonly object _sync;
    private readonly Dictionary<ulong, InMemoryGroupLog> _groups;
    private readonly int _limitedReadMaxEntries;
    private bool _closed;

    /// <summary>Creates an empty store.</summary>
    /// <param name="limitedReadMaxEntries">The bound of each view's <see cref="IRaftLogReader.LimitedGetLogEntriesAsync"/> (at least 1).</param>
    public InMemoryMultiGroupLogStore(int limitedReadMaxEntries = InMemoryLogStore.DefaultLimitedReadMaxEntries)
        : this(new object(), new Dictionary<ulong, InMemoryGroupLog>(), limitedReadMaxEntries)
    {
    }

    private InMemoryMultiGroupLogStore(object sync, Dictionary<ulong, InMemoryGroupLog> groups, int limitedReadMaxEntries)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limitedReadMaxEntries, 1);
        _sync = sync;
        _groups = groups;
        _limitedReadMaxEntries = limitedReadMaxEntries;
    }

    /// <summary>
    /// A new store over the same state, as a process restart that reopens the storage would give
    /// (everything is kept: in memory every write is durable). Views of this store keep failing
    /// once it is disposed; dispose it first to model the process going away.
    /// </summary>
    public InMemoryMultiGroupLogStore Reopen() => new(_sync, _groups, _limitedReadMaxEntries);

    /// <inheritdoc />
    /// <remarks>The returned view is an <see cref="InMemoryLogStore"/> handle; each call returns a new handle over the same group.</remarks>
    public IRaftLogStore ForGroup(ulong groupId)
    {
        lock (_sync)
        {
            ThrowIfClosed();
            return new InMemoryLogStore(_sync, GetOrCreate(groupId), this, _limitedReadMaxEntries);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<ulong>> ListGroupsAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            lock (_sync)
            {
                ThrowIfClosed();
                var ids = new List<ulong>(_groups.Count);
                foreach (var (id, log) in _groups)
                {
                    if (log.HasState)
                    {
                        ids.Add(id);
                    }
                }

                ids.Sort();
                return ValueTask.FromResult<IReadOnlyList<ulong>>(ids);
            }
        }
        catch (Exception e)
        {
            return ValueTask.FromException<IReadOnlyList<ulong>>(e);
        }
    }

    /// <inheritdoc />
    public ValueTask RemoveGroupAsync(ulong groupId, CancellationToken cancellationToken = default)
    {
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            lock (_sync)
            {
                ThrowIfClosed();
                if (_groups.Remove(groupId, out var log))
                {
                    log.Removed = true;
                }
            }

            return ValueTask.CompletedTask;
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }
    }

    /// <inheritdoc />
    /// <exception cref="LogOrderException">An operation would break its group's log order; nothing was written.</exception>
    /// <exception cref="ArgumentException">A purge without a log id; nothing was written.</exception>
    public ValueTask WriteAsync(LogWriteBatch batch, CancellationToken cancellationToken = default)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(batch);
            cancellationToken.ThrowIfCancellationRequested();
            lock (_sync)
            {
                ThrowIfClosed();
                Validate(batch.Operations);
                foreach (ref readonly var op in batch.Operations)
                {
                    var log = GetOrCreate(op.GroupId);
                    switch (op.Kind)
                    {
                        case LogWriteOpKind.SaveVote:
                            log.SaveVote(op.Vote);
                            break;
                        case LogWriteOpKind.Append:
                            log.Append(op.Entries.Span);
                            break;
                        case LogWriteOpKind.TruncateAfter:
                            log.TruncateAfter(op.LogId);
                            break;
                        case LogWriteOpKind.Purge:
                            log.Purge(op.LogId!.Value);
                            break;
                        case LogWriteOpKind.SaveCommitted:
                            log.SaveCommitted(op.LogId);
                            break;
                    }
                }
            }

            return ValueTask.CompletedTask;
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }
    }

    /// <summary>Closes the store: every view and call fails with <see cref="StoreClosedException"/> from then on.</summary>
    public ValueTask DisposeAsync()
    {
        lock (_sync)
        {
            _closed = true;
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Called under the lock by views.</summary>
    internal void ThrowIfClosed()
    {
        if (_closed)
        {
            throw new StoreClosedException();
        }
    }

    private InMemoryGroupLog GetOrCreate(ulong groupId)
    {
        if (!_groups.TryGetValue(groupId, out var log))
        {
            log = new InMemoryGroupLog(groupId);
            _groups.Add(groupId, log);
        }

        return log;
    }

    /// <summary>
    /// Checks every operation's own arguments, then runs every operation against shadows of the
    /// groups' ends, so a bad one fails the batch before anything changes. Argument errors of any
    /// operation come before order errors of any, as in the RocksDB store, which checks the
    /// former before it takes its lock and the latter under it: a batch with both fails alike in
    /// either store.
    /// </summary>
    private void Validate(ReadOnlySpan<LogWriteOp> operations)
    {
        foreach (ref readonly var op in operations)
        {
            switch (op.Kind)
            {
                case LogWriteOpKind.Append:
                    InMemoryGroupLog.ValidateEntries(op.GroupId, op.Entries.Span, "batch");
                    break;
                case LogWriteOpKind.TruncateAfter or LogWriteOpKind.Purge when op.LogId is { } logId:
                    LogIndexes.ThrowIfOutOfRange(op.GroupId, logId.Index, "batch");
                    break;
            }
        }

        var shadows = new Dictionary<ulong, InMemoryGroupLog.Shadow>();
        foreach (ref readonly var op in operations)
        {
            if (!shadows.TryGetValue(op.GroupId, out var shadow))
            {
                shadow = _groups.TryGetValue(op.GroupId, out var log) ? new InMemoryGroupLog.Shadow(log) : new InMemoryGroupLog.Shadow(op.GroupId);
            }

            switch (op.Kind)
            {
                case LogWriteOpKind.SaveVote:
                case LogWriteOpKind.SaveCommitted:
                    break;
                case LogWriteOpKind.Append:
                    shadow.Append(op.Entries.Span);
                    break;
                case LogWriteOpKind.TruncateAfter:
                    shadow.TruncateAfter(op.LogId);
                    break;
                case LogWriteOpKind.Purge:
                    if (op.LogId is not { } purgeTo)
                    {
                        throw new ArgumentException($"A purge of group {op.GroupId} has no log id.", "batch");
                    }

                    shadow.Purge(purgeTo);
                    break;
                default:
                    throw new ArgumentException($"Unknown operation kind {op.Kind} for group {op.GroupId}.", "batch");
            }

            shadows[op.GroupId] = shadow;
        }
    }
}
