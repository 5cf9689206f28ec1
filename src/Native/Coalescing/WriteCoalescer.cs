using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.ObjectPool;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native.Diagnostics;
using RaftToolkit.Native.Interop;

namespace RaftToolkit.Native.Coalescing;

/// <summary>
/// Merges concurrent writes, of any number of groups, into one native write batch and one
/// (synced) RocksDB write, and tells each caller when its write is durable.
/// </summary>
/// <remarks>
/// <para>Order: a request is checked against the group caches and copied into the open native
/// batch under one gate, so batches, and requests within them, are in submission order, and
/// every group's writes apply in the order issued. In a group-prefixed store, a request's
/// operations go in in group order, and callers are answered so that the next batch tends to
/// arrive in group order too (see <see cref="NativeWriteBatch.Add"/>).</para>
/// <para>Writing: when no write is in flight, the submitting thread writes its batch itself (a
/// lone appender pays no thread hop); requests that arrive meanwhile collect in the next batch,
/// which a thread-pool work item writes as soon as the current write returns. Batches are
/// bounded in bytes and operations; one request is never split.</para>
/// <para>Fail-stop: if a write fails, every request of that batch and of every queued batch
/// fails with the error, and every later submission fails fast with
/// <see cref="StoreFailedException"/> carrying it. Nothing is retried.</para>
/// </remarks>
internal sealed class WriteCoalescer : IThreadPoolWorkItem
{
    /// <summary>Guards everything below and the group caches.</summary>
    private readonly Lock _gate = new();

    /// <summary>Full batches waiting to be written, oldest first.</summary>
    private readonly Queue<NativeWriteBatch> _sealed = new();

    private readonly ObjectPool<NativeWriteBatch> _batches;
    private readonly BatchPolicy _batchPolicy;
    private readonly nint _db;

    /// <summary>The native write options every write uses, owned by the coalescer (see <see cref="ReleaseNative"/>).</summary>
    private readonly nint _writeOptions;

    /// <summary>Whether the write options sync the WAL (<see cref="LogSyncMode.Sync"/>): only then is a write counted as synced.</summary>
    private readonly bool _synced;
    private readonly int _maxBatchBytes;
    private readonly int _maxBatchOperations;
    private readonly IGroupDirectory _groups;
    private readonly ILogger _logger;

    /// <summary>The store's name in log lines (its path, or a name for an attached database).</summary>
    private readonly string _storeName;

    /// <summary>The batch new requests are copied into; null when nothing is pending.</summary>
    private NativeWriteBatch? _open;

    /// <summary>True while a thread owns writing (inline leader or thread-pool drain).</summary>
    private bool _draining;

    /// <summary>Increases per submission, to scope the group checks' scratch state.</summary>
    private long _stamp;

    /// <summary>The error that stopped the store; null while healthy.</summary>
    private Exception? _failure;

    private bool _closed;

    /// <summary>Completed when the drain stops after <see cref="_closed"/> was set.</summary>
    private TaskCompletionSource? _drained;

    private long _writesIssued;

    private int _largestWriteOperations;

    /// <summary>Test seam: when set, the next native write fails with this error instead of being issued.</summary>
    private Exception? _injectedFailure;

    public WriteCoalescer(nint db, bool synced, nint logFamily, nint metaFamily, bool keysByGroup, int maxBatchBytes, int maxBatchOperations, IGroupDirectory groups, ILogger logger, string storeName)
    {
        _db = db;
        _synced = synced;
        _maxBatchBytes = maxBatchBytes;
        _maxBatchOperations = maxBatchOperations;
        _groups = groups;
        _logger = logger;
        _storeName = storeName;
        // The provider's pool disposes native batches it does not retain, and all of them when disposed.
        _batchPolicy = new BatchPolicy(logFamily, metaFamily, keysByGroup, maxRetainedBytes: 2L * maxBatchBytes);
        _batches = new DefaultObjectPoolProvider { MaximumRetained = 16 }.Create(_batchPolicy);
        _writeOptions = RocksDbNative.WriteOptionsCreate();
        RocksDbNative.WriteOptionsSetSync(_writeOptions, synced ? (byte)1 : (byte)0);
    }

    /// <summary>The lock guarding the group caches (and the coalescer's queue).</summary>
    public Lock Gate => _gate;

    /// <summary>The error that stopped the store, if any.</summary>
    /// <remarks>Read without the gate: it is written once, under the gate, and never cleared.</remarks>
    public Exception? Failure => Volatile.Read(ref _failure);

    /// <summary>Native writes issued so far (successful or not).</summary>
    internal long WritesIssued => Volatile.Read(ref _writesIssued);

    /// <summary>The most operations one native write has carried.</summary>
    internal int LargestWriteOperations => Volatile.Read(ref _largestWriteOperations);

    /// <summary>Batches freed after their write rather than pooled, for the size they grew to.</summary>
    internal long OversizedBatchesFreed => _batchPolicy.OversizedFreed;

    /// <summary>Makes the next native write fail with <paramref name="error"/> (the batch is not written).</summary>
    internal void InjectWriteFailure(Exception error) => Volatile.Write(ref _injectedFailure, error);

    /// <summary>
    /// Checks <paramref name="request"/> against the group caches and queues it. Returns when the
    /// request is queued (or, if this thread became the writer, after its batch was written).
    /// </summary>
    /// <exception cref="StoreFailedException">The store stopped after an I/O error.</exception>
    /// <exception cref="StoreClosedException">The store is closed.</exception>
    /// <exception cref="LogOrderException">A check failed; nothing was queued.</exception>
    public void Submit(WriteRequest request)
    {
        lock (_gate)
        {
            ThrowIfUnusable();
            request.CheckAndApply(++_stamp, _groups);
            var open = _open ??= _batches.Get();
            if (open.RequestCount > 0
                && (open.OperationCount + request.OpCount > _maxBatchOperations || open.ByteCount + request.ByteCount > _maxBatchBytes))
            {
                _sealed.Enqueue(open);
                open = _open = _batches.Get();
            }

            open.Add(request);
            if (_draining)
            {
                return;
            }

            _draining = true;
        }

        Drain(inline: true);
    }

    /// <summary>Refuses new writes, then waits until every queued write completed.</summary>
    public Task CloseAsync()
    {
        lock (_gate)
        {
            _closed = true;
            if (!_draining)
            {
                return Task.CompletedTask;
            }

            _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _drained.Task;
        }
    }

    /// <summary>Frees the pooled native batches and the write options; call once, after <see cref="CloseAsync"/> completed.</summary>
    public void ReleaseNative()
    {
        (_batches as IDisposable)?.Dispose();
        RocksDbNative.WriteOptionsDestroy(_writeOptions);
    }

    void IThreadPoolWorkItem.Execute() => Drain(inline: false);

    private void ThrowIfUnusable()
    {
        if (_failure is not null)
        {
            throw new StoreFailedException(_failure);
        }

        if (_closed)
        {
            throw new StoreClosedException();
        }
    }

    private void Drain(bool inline)
    {
        while (true)
        {
            NativeWriteBatch? batch;
            lock (_gate)
            {
                if (_sealed.Count > 0)
                {
                    batch = _sealed.Dequeue();
                }
                else if (_open is { RequestCount: > 0 })
                {
                    batch = _open;
                    _open = null;
                }
                else
                {
                    StopDraining();
                    return;
                }
            }

            var error = WriteNative(batch);
            if (error is not null)
            {
                FailStop(batch, error);
                return;
            }

            if (batch.RemovalCount > 0)
            {
                RemovalsWritten(batch);
            }

            // Completions run outside the gate: a continuation may submit its next write.
            CompleteAndRecycle(batch, null);

            if (inline)
            {
                lock (_gate)
                {
                    if (_sealed.Count == 0 && _open is not { RequestCount: > 0 })
                    {
                        StopDraining();
                        return;
                    }
                }

                // The submitting thread's own write is done: hand the rest to the thread pool
                // rather than keep its caller waiting on other callers' writes.
                ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
                return;
            }
        }
    }

    /// <summary>
    /// After <paramref name="batch"/>, which removed groups, was written, and before any of its
    /// requests is completed: the empty states that stand in for the removed groups may read the
    /// database again, and the group caches forget them unless they were used since.
    /// </summary>
    private void RemovalsWritten(NativeWriteBatch batch)
    {
        lock (_gate)
        {
            foreach (var request in batch.Requests)
            {
                if (request.Replacement is { } replacement)
                {
                    _groups.RemovalWritten(replacement);
                }
            }
        }
    }

    /// <summary>Under the gate: no thread writes any more.</summary>
    private void StopDraining()
    {
        _draining = false;
        if (_closed && _drained is { } drained)
        {
            drained.TrySetResult();
        }
    }

    private Exception? WriteNative(NativeWriteBatch batch)
    {
        if (batch.OperationCount == 0)
        {
            // Only writes of nothing (empty appends): the writes before them are done, which is
            // all they wait for.
            return null;
        }

        Interlocked.Increment(ref _writesIssued);
        if (batch.OperationCount > _largestWriteOperations)
        {
            // Only the draining thread writes, so this read-compare-write does not race.
            Volatile.Write(ref _largestWriteOperations, batch.OperationCount);
        }

        long started = Stopwatch.GetTimestamp();
        var error = Interlocked.Exchange(ref _injectedFailure, null);
        if (error is null)
        {
            RocksDbNative.Write(_db, _writeOptions, batch.Handle, out nint nativeError);
            error = RocksDbNative.TakeError(nativeError);
        }

        RecordWrite(batch, error, started);
        return error;
    }

    /// <summary>Records the outcome of <paramref name="batch"/>'s write, begun at <paramref name="started"/>, on the store's instruments.</summary>
    /// <remarks>
    /// A listener of the instruments runs inline, here, on the writing thread. One that throws
    /// must not take the batch with it: its callers would never be answered (the one that wrote
    /// it inline would be told the listener's error for a write RocksDB took, and give its
    /// request back to the pool while the batch still held it), the native batch would never be
    /// freed, and the writer would stay claimed, so that every later write and the store's
    /// disposal would wait forever.
    /// </remarks>
    private void RecordWrite(NativeWriteBatch batch, Exception? error, long started)
    {
        try
        {
            if (error is not null)
            {
                StorageMetrics.Errors.Add(1);
                return;
            }

            StorageMetrics.WriteLatency.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            if (_synced)
            {
                StorageMetrics.SyncedWrites.Add(1);
            }

            StorageMetrics.EntriesPerWrite.Record(batch.EntryCount);
            StorageMetrics.Appends.Add(batch.EntryCount);
            StorageMetrics.Bytes.Add(batch.ByteCount);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            StoreLog.MetricsListenerThrew(_logger, e);
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void FailStop(NativeWriteBatch failed, Exception error)
    {
        var unwritten = new List<NativeWriteBatch>();
        lock (_gate)
        {
            Volatile.Write(ref _failure, _failure ?? error);
            while (_sealed.Count > 0)
            {
                unwritten.Add(_sealed.Dequeue());
            }

            if (_open is { } open)
            {
                unwritten.Add(open);
                _open = null;
            }

            // Still draining, though nothing is left to write: a closing store waits until every
            // caller below has its answer. New submissions already fail fast on _failure.
        }

        // Counted before completing: completion resets the batch.
        int requests = failed.RequestCount;
        int operations = failed.OperationCount;
        var stopped = new StoreFailedException(error);
        CompleteAndRecycle(failed, stopped);
        foreach (var batch in unwritten)
        {
            CompleteAndRecycle(batch, stopped);
        }

        StoreLog.Stopped(_logger, error, _storeName, requests, operations, unwritten.Count);
        lock (_gate)
        {
            StopDraining();
        }
    }

    /// <summary>Completes every request of <paramref name="batch"/> (outside the gate), then gives the batch back to the pool.</summary>
    private void CompleteAndRecycle(NativeWriteBatch batch, Exception? error)
    {
        batch.CompleteAll(error, _logger);
        batch.Reset();
        _batches.Return(batch);
    }

    /// <summary>
    /// Keeps batches that held at most <paramref name="maxRetainedBytes"/>: merged writes stop
    /// near <see cref="RocksDbLogStoreOptions.MaxBatchBytes"/>, but one caller's write is never
    /// split, and a batch that once carried a write of a gigabyte would hold a gigabyte of
    /// native memory for as long as the store lives. Such batches are freed after their write.
    /// </summary>
    private sealed class BatchPolicy(nint logFamily, nint metaFamily, bool keysByGroup, long maxRetainedBytes) : PooledObjectPolicy<NativeWriteBatch>
    {
        public override NativeWriteBatch Create() => new(logFamily, metaFamily, keysByGroup);

        private long _oversizedFreed;

        public long OversizedFreed => Volatile.Read(ref _oversizedFreed);

        public override bool Return(NativeWriteBatch obj)
        {
            if (obj.PeakByteCount <= maxRetainedBytes)
            {
                return true;
            }

            Interlocked.Increment(ref _oversizedFreed);
            return false;
        }
    }
}
