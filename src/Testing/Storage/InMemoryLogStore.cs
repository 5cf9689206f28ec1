using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;

namespace RaftToolkit.Testing.Storage;

/// <summary>
/// A thread-safe, in-memory <see cref="IRaftLogStore"/> for one group that follows the storage
/// contract exactly (it passes the conformance suite): every write is "durable" once it returns,
/// so the flush callback fires before <see cref="AppendAsync"/> completes.
/// </summary>
/// <remarks>
/// A store object is a handle over the group's state. <see cref="DisposeAsync"/> closes the
/// handle (every later call fails with <see cref="StoreClosedException"/>) but keeps the state,
/// and <see cref="Reopen"/> returns a new handle over it: what a process restart does to a real
/// store, so restart tests can use this store too. An <see cref="InMemoryMultiGroupLogStore"/>
/// hands out handles of this type for its groups.
/// </remarks>
public sealed class InMemoryLogStore : IRaftLogStore, IAsyncDisposable
{
    /// <summary>How many entries <see cref="LimitedGetLogEntriesAsync"/> returns at most, unless configured.</summary>
    public const int DefaultLimitedReadMaxEntries = 64;

    /// <summary>How many entries a stream reads under the lock at a time.</summary>
    private const int StreamChunk = 64;

    private readonly object _sync;
    private readonly InMemoryGroupLog _log;
    private readonly InMemoryMultiGroupLogStore? _owner;
    private readonly int _limitedReadMaxEntries;

    /// <summary>Set by <see cref="DisposeAsync"/>; read without the lock, so volatile.</summary>
    private volatile bool _closed;

    /// <summary>Creates an empty store for <paramref name="groupId"/>.</summary>
    /// <param name="groupId">The group named in errors.</param>
    /// <param name="limitedReadMaxEntries">The bound of <see cref="LimitedGetLogEntriesAsync"/> (at least 1).</param>
    public InMemoryLogStore(ulong groupId = 0, int limitedReadMaxEntries = DefaultLimitedReadMaxEntries)
        : this(new object(), new InMemoryGroupLog(groupId), null, limitedReadMaxEntries)
    {
    }

    internal InMemoryLogStore(object sync, InMemoryGroupLog log, InMemoryMultiGroupLogStore? owner, int limitedReadMaxEntries)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limitedReadMaxEntries, 1);
        _sync = sync;
        _log = log;
        _owner = owner;
        _limitedReadMaxEntries = limitedReadMaxEntries;
    }

    /// <summary>The group this store keeps.</summary>
    public ulong GroupId => _log.GroupId;

    /// <summary>True once this handle was disposed.</summary>
    public bool IsClosed => _closed;

    /// <summary>
    /// A new handle over the same state, as a restart that reopens the storage would give. This
    /// handle stays as it is (dispose it first to model the process going away).
    /// </summary>
    /// <exception cref="StoreClosedException">The multi-group store this handle came from is closed.</exception>
    /// <exception cref="UnknownGroupException">The group was removed from its multi-group store.</exception>
    public InMemoryLogStore Reopen()
    {
        lock (_sync)
        {
            if (_owner is not null)
            {
                _owner.ThrowIfClosed();
            }

            if (_log.Removed)
            {
                throw new UnknownGroupException(_log.GroupId);
            }

            return new InMemoryLogStore(_sync, _log, _owner, _limitedReadMaxEntries);
        }
    }

    /// <inheritdoc />
    public ValueTask<LogState> GetLogStateAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            lock (_sync)
            {
                Enter(cancellationToken);
                return ValueTask.FromResult(new LogState(_log.LastPurged, _log.LastLogId));
            }
        }
        catch (Exception e)
        {
            return ValueTask.FromException<LogState>(e);
        }
    }

    /// <inheritdoc />
    public IRaftLogReader GetReader()
    {
        // Reads always take the lock and see the latest state, so this handle is its own reader.
        lock (_sync)
        {
            Enter(CancellationToken.None);
            return this;
        }
    }

    /// <inheritdoc />
    public ValueTask SaveVoteAsync(Vote vote, CancellationToken cancellationToken = default)
    {
        try
        {
            lock (_sync)
            {
                Enter(cancellationToken);
                _log.SaveVote(vote);
            }

            return ValueTask.CompletedTask;
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }
    }

    /// <inheritdoc />
    public ValueTask SaveCommittedAsync(LogId? committed, CancellationToken cancellationToken = default)
    {
        try
        {
            lock (_sync)
            {
                Enter(cancellationToken);
                _log.SaveCommitted(committed);
            }

            return ValueTask.CompletedTask;
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }
    }

    /// <inheritdoc />
    public ValueTask<LogId?> ReadCommittedAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            lock (_sync)
            {
                Enter(cancellationToken);
                return ValueTask.FromResult(_log.Committed);
            }
        }
        catch (Exception e)
        {
            return ValueTask.FromException<LogId?>(e);
        }
    }

    /// <inheritdoc />
    public ValueTask AppendAsync(ReadOnlyMemory<Entry> entries, IFlushCallback callback, CancellationToken cancellationToken = default)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(callback);
            lock (_sync)
            {
                Enter(cancellationToken);
                _log.Append(entries.Span);
            }
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }

        // Outside the lock: the callback is the caller's code and may call back into the store.
        callback.OnFlushed(null);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask TruncateAfterAsync(LogId? logId, CancellationToken cancellationToken = default)
    {
        try
        {
            lock (_sync)
            {
                Enter(cancellationToken);
                _log.TruncateAfter(logId);
            }

            return ValueTask.CompletedTask;
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }
    }

    /// <inheritdoc />
    public ValueTask PurgeAsync(LogId logId, CancellationToken cancellationToken = default)
    {
        try
        {
            lock (_sync)
            {
                Enter(cancellationToken);
                _log.Purge(logId);
            }

            return ValueTask.CompletedTask;
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<Entry>> TryGetLogEntriesAsync(ulong start, ulong end, CancellationToken cancellationToken = default) =>
        Read(start, end, int.MaxValue, cancellationToken);

    /// <inheritdoc />
    /// <remarks>Returns at most the number of entries this store was configured with.</remarks>
    public ValueTask<IReadOnlyList<Entry>> LimitedGetLogEntriesAsync(ulong start, ulong end, CancellationToken cancellationToken = default) =>
        Read(start, end, _limitedReadMaxEntries, cancellationToken);

    /// <inheritdoc />
    public ValueTask<LogId> GetLogIdAsync(ulong index, CancellationToken cancellationToken = default)
    {
        try
        {
            lock (_sync)
            {
                Enter(cancellationToken);
                return ValueTask.FromResult(_log.GetLogId(index));
            }
        }
        catch (Exception e)
        {
            return ValueTask.FromException<LogId>(e);
        }
    }

    /// <inheritdoc />
    public ValueTask<Vote?> ReadVoteAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            lock (_sync)
            {
                Enter(cancellationToken);
                return ValueTask.FromResult(_log.Vote);
            }
        }
        catch (Exception e)
        {
            return ValueTask.FromException<Vote?>(e);
        }
    }

    /// <inheritdoc />
    public IAsyncEnumerable<Entry> EntriesStreamAsync(ulong start, ulong end, CancellationToken cancellationToken = default)
    {
        LogRanges.ThrowIfInverted(start, end);
        return Stream(null, start, end, cancellationToken);
    }

    /// <inheritdoc />
    public IAsyncEnumerable<Entry> LeaderBoundedStreamAsync(LeaderId leader, ulong start, ulong end, CancellationToken cancellationToken = default)
    {
        LogRanges.ThrowIfInverted(start, end);
        return Stream(leader, start, end, cancellationToken);
    }

    /// <summary>Closes this handle; the state stays for <see cref="Reopen"/>.</summary>
    public ValueTask DisposeAsync()
    {
        _closed = true;
        return ValueTask.CompletedTask;
    }

    // The chunks are read synchronously, so the stream never yields to the thread pool: the
    // in-memory store has nothing to wait for, and a simulation driving it stays deterministic
    // only if no continuation hops threads.
    private IAsyncEnumerable<Entry> Stream(LeaderId? leader, ulong start, ulong end, CancellationToken cancellationToken) =>
        LogStreams.ContiguousAsync(start, end, (from, to, token) => ReadStreamChunk(leader, from, to, token), cancellationToken);

    private ValueTask<IReadOnlyList<Entry>> ReadStreamChunk(LeaderId? leader, ulong start, ulong end, CancellationToken cancellationToken)
    {
        if (leader is { } expected)
        {
            lock (_sync)
            {
                Enter(cancellationToken);
                if (!(_log.Vote is { Committed: true } vote && vote.LeaderId == expected))
                {
                    throw new LeaderChangedException(expected, _log.Vote);
                }
            }
        }

        return Read(start, end, StreamChunk, cancellationToken);
    }

    private ValueTask<IReadOnlyList<Entry>> Read(ulong start, ulong end, int limit, CancellationToken cancellationToken)
    {
        try
        {
            LogRanges.ThrowIfInverted(start, end);
            lock (_sync)
            {
                Enter(cancellationToken);
                return ValueTask.FromResult<IReadOnlyList<Entry>>(_log.Read(start, end, limit));
            }
        }
        catch (Exception e)
        {
            return ValueTask.FromException<IReadOnlyList<Entry>>(e);
        }
    }

    /// <summary>Checks, under the lock, that this handle may be used.</summary>
    private void Enter(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_closed)
        {
            throw new StoreClosedException();
        }

        _owner?.ThrowIfClosed();
        if (_log.Removed)
        {
            throw new UnknownGroupException(_log.GroupId);
        }
    }
}
