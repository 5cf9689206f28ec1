using System.Threading.Tasks.Sources;
using RaftToolkit.Native;
using RocksDbSharp;

namespace RaftToolkit.Benchmarks.Store;

/// <summary>
/// The least a store can add to raw RocksDB when appenders each await their own append: a lock,
/// a put of the caller's bytes into one shared WriteBatch, one synced write of it by a writer
/// thread, and a completion per append, whose continuation (the appender's next append) runs on
/// the writer thread, as the store's do. No validation, framing, checksum, pooled requests,
/// group caches, ordering or metrics. <c>steady-floor</c> runs workloads (a) and (c) through it
/// in place of the store: the ratio it reads is what the closed loop itself costs against raw
/// RocksDB writing whole batches, a ceiling for any store measured the same way.
/// </summary>
internal sealed class MinimalCoalescer : IDisposable
{
    private readonly RocksDb _db;
    private readonly ColumnFamilyHandle _family;
    private readonly WriteOptions _sync = new WriteOptions().SetSync(true);
    private readonly object _gate = new();
    private readonly Thread _writer;
    private WriteBatch _open = new();
    private WriteBatch _writing = new();
    private List<Appender> _openWaiters = [];
    private List<Appender> _writingWaiters = [];
    private bool _idle;
    private bool _stopping;
    private long _writes;
    private long _writeTicks;

    public MinimalCoalescer(RocksDb db)
    {
        _db = db;
        _family = db.GetColumnFamily(RocksDbLogStoreOptions.DefaultLogColumnFamily);
        _writer = new Thread(WriteLoop) { IsBackground = true, Name = "minimal coalescer" };
        _writer.Start();
    }

    /// <summary>Synced writes issued; read between runs (only the writer thread writes it).</summary>
    public long Writes => Volatile.Read(ref _writes);

    /// <summary>Microseconds spent inside RocksDB's write call over <see cref="Writes"/>.</summary>
    public double WriteMicroseconds => System.Diagnostics.Stopwatch.GetElapsedTime(0, Volatile.Read(ref _writeTicks)).TotalMicroseconds;

    /// <summary>Starts the counts over; call between runs, when no append is in flight.</summary>
    public void ResetCounts()
    {
        Volatile.Write(ref _writes, 0);
        Volatile.Write(ref _writeTicks, 0);
    }

    /// <summary>Puts the appender's key and value into the open batch; completes once a synced write carried it.</summary>
    public ValueTask AppendAsync(Appender appender, byte[] key, byte[] value)
    {
        var pending = appender.Start();
        lock (_gate)
        {
            _open.Put(key, value, _family);
            _openWaiters.Add(appender);
            if (_idle)
            {
                _idle = false;
                Monitor.Pulse(_gate);
            }
        }

        return pending;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.Pulse(_gate);
        }

        _writer.Join();
        _open.Dispose();
        _writing.Dispose();
    }

    private void WriteLoop()
    {
        while (true)
        {
            lock (_gate)
            {
                while (_openWaiters.Count == 0 && !_stopping)
                {
                    _idle = true;
                    Monitor.Wait(_gate);
                }

                if (_stopping)
                {
                    return;
                }

                (_open, _writing) = (_writing, _open);
                (_openWaiters, _writingWaiters) = (_writingWaiters, _openWaiters);
            }

            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            _db.Write(_writing, _sync);
            Volatile.Write(ref _writeTicks, _writeTicks + System.Diagnostics.Stopwatch.GetTimestamp() - started);
            Volatile.Write(ref _writes, _writes + 1);
            _writing.Clear();
            foreach (var appender in _writingWaiters)
            {
                appender.Complete();
            }

            _writingWaiters.Clear();
        }
    }

    /// <summary>One appender's reusable completion: one append in flight at a time.</summary>
    internal sealed class Appender : IValueTaskSource
    {
        private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = false };

        public ValueTask Start()
        {
            _core.Reset();
            return new ValueTask(this, _core.Version);
        }

        public void Complete() => _core.SetResult(true);

        public void GetResult(short token) => _core.GetResult(token);

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}

/// <summary><see cref="ConcurrentAppendWorkload"/>'s appenders, through a <see cref="MinimalCoalescer"/>.</summary>
internal sealed class MinimalCoalescerWorkload(MinimalCoalescer coalescer, int groups, int appenders, int payloadBytes)
{
    private readonly ulong[] _next = new ulong[groups];
    private readonly Task[] _tasks = new Task[appenders];
    private readonly byte[] _payload = RandomPayload(payloadBytes);

    public Task Run(int rounds)
    {
        for (int a = 0; a < appenders; a++)
        {
            int appender = a;
            _tasks[a] = Task.Run(() => Append(appender, rounds));
        }

        return Task.WhenAll(_tasks);
    }

    private async Task Append(int appender, int rounds)
    {
        var completion = new MinimalCoalescer.Appender();
        var key = new byte[16];
        int groupsPerAppender = groups / appenders;
        for (int r = 0; r < rounds; r++)
        {
            int group = appender + (appenders * (r % groupsPerAppender));
            StoreBenchEnvironment.WriteRawKey(key, (ulong)group, _next[group]++);
            await coalescer.AppendAsync(completion, key, _payload);
        }
    }

    private static byte[] RandomPayload(int bytes)
    {
        var payload = new byte[bytes];
        Random.Shared.NextBytes(payload);
        return payload;
    }
}
