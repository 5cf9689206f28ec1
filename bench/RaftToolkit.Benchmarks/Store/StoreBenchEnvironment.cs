using System.Buffers.Binary;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native;
using RocksDbSharp;

namespace RaftToolkit.Benchmarks.Store;

/// <summary>Temporary database directories and the raw-RocksDB reference every store benchmark compares with.</summary>
internal sealed class StoreBenchEnvironment : IDisposable
{
    private readonly string _root = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"raftkit-bench-{Guid.NewGuid():N}");

    public StoreBenchEnvironment()
    {
        Directory.CreateDirectory(_root);
    }

    public string Path(string name) => System.IO.Path.Combine(_root, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the OS temp cleaner gets what a closing database still held.
        }
    }

    /// <summary>
    /// Brings a fresh database to the state of one that has been running for a while: writes
    /// <paramref name="walBytes"/> of filler to the log column family (unsynced, under group ids
    /// no benchmark uses) and flushes it, <see cref="AgingRounds"/> times over, so that every
    /// WAL file RocksDB keeps for reuse holds <paramref name="walBytes"/>, and the WAL written
    /// next is one of them wherever the database's options allow reuse.
    /// </summary>
    /// <remarks>
    /// <para>A fresh database writes its first WAL file from empty, so a short benchmark never
    /// sees what WAL reuse (<see cref="RocksDbLogStoreOptions.WalRecycleFileCount"/>) does for a
    /// store that has been up for more than one write buffer's worth of appends.</para>
    /// <para>Why every round is the same size, and under one write buffer: a synced write into a
    /// reused file stays cheap only while it lands inside the file's old length (beyond it, the
    /// file grows, and the sync must write the file's new size too). A short round leaves a
    /// short WAL behind it, and so does a round larger than the write buffer (RocksDB switches
    /// WALs when a memtable fills); a benchmark that later reuses that short file pays for
    /// growing it: 64-entry synced writes took 70 % longer while they did, on the machine this
    /// was measured on.</para>
    /// <para>A store's database is aged after the store is attached (<see cref="AttachAged"/>).</para>
    /// </remarks>
    public static void AgeWal(RocksDb db, long walBytes)
    {
        var family = db.GetColumnFamily(RocksDbLogStoreOptions.DefaultLogColumnFamily);
        var noSync = new WriteOptions().SetSync(false);
        var value = new byte[64 << 10];
        var key = new byte[16];
        long chunks = walBytes / value.Length;
        for (int round = 0; round < AgingRounds; round++)
        {
            for (long i = 0; i < chunks; i++)
            {
                WriteRawKey(key, FillerGroup, (ulong)((round * chunks) + i));
                db.Put(key, value, family, noSync);
            }

            // Retires this round's WAL (kept for reuse, up to the recycle count) and switches to
            // a new one, itself a reused file from the second round on.
            FlushLog(db);
        }
    }

    /// <summary>Flushes the log column family's memtable into a table file, and waits for it.</summary>
    public static void FlushLog(RocksDb db)
    {
        var family = db.GetColumnFamily(RocksDbLogStoreOptions.DefaultLogColumnFamily);
        var flush = new FlushOptions().SetWaitForFlush(true);
        RocksDbSharp.Native.Instance.rocksdb_flush_cf(db.Handle, flush.Handle, family.Handle, out nint error);
        if (error != 0)
        {
            throw new InvalidOperationException("flushing the log column family failed");
        }
    }

    /// <summary>Attaches a store to <paramref name="db"/>, then ages the database with <see cref="DefaultAgingBytes"/> of filler (<see cref="AgeWal"/>).</summary>
    /// <remarks>
    /// Why in this order: a new database's first attach writes the key-space marker and flushes
    /// it, which retires the current WAL after a few bytes, and RocksDB trims a retired WAL to
    /// what it wrote. Aged first, the store kept a 30-byte WAL for reuse, and spent its second
    /// WAL's worth of appends growing it: its synced writes were a fifth slower than raw
    /// RocksDB's, a third of (a)'s gap, until it had.
    /// </remarks>
    public static RocksDbLogStore AttachAged(RocksDb db, RocksDbLogStoreOptions? options = null)
    {
        var store = RocksDbLogStore.Attach(db, options);
        AgeWal(db, DefaultAgingBytes);
        return store;
    }

    /// <summary>Filler to age a database with the store's default options: seven eighths of its 64 MiB write buffer.</summary>
    public const long DefaultAgingBytes = 56L << 20;

    /// <summary>
    /// Two rounds: the first round's WAL is new and retires full; the second round writes into a
    /// second new file (nothing was retired yet when it was created) and its flush switches to
    /// the first one. So the WAL written next, and the one kept for reuse, are both full. More
    /// rounds add nothing, and from the fourth on, a flushed file starts an L0 compaction that
    /// would still be running, on one of the two cores, when the measurement starts.
    /// </summary>
    private const int AgingRounds = 2;

    /// <summary>A group id far above any benchmark's groups, for filler.</summary>
    private const ulong FillerGroup = 1UL << 62;

    /// <summary>The key the store's group-prefixed key space uses, for the raw reference.</summary>
    public static void WriteRawKey(byte[] key, ulong group, ulong index)
    {
        BinaryPrimitives.WriteUInt64BigEndian(key, group);
        BinaryPrimitives.WriteUInt64BigEndian(key.AsSpan(8), index);
    }
}

/// <summary>Raw RocksDB through the binding: one reused WriteBatch, one (by default synced) write per batch.</summary>
internal sealed class RawRocksDbWriter : IDisposable
{
    private readonly RocksDb _db;
    private readonly ColumnFamilyHandle _family;
    private readonly WriteOptions _writeOptions;
    private readonly WriteBatch _batch = new();
    private readonly byte[] _key = new byte[16];
    private readonly byte[] _value;
    private readonly ulong[] _next;
    private readonly bool _ownsDatabase;

    public RawRocksDbWriter(RocksDb db, int groups, int valueBytes, bool sync = true, bool ownsDatabase = true)
    {
        _db = db;
        _ownsDatabase = ownsDatabase;
        _writeOptions = new WriteOptions().SetSync(sync);
        _family = db.GetColumnFamily(RocksDbLogStoreOptions.DefaultLogColumnFamily);
        _value = new byte[valueBytes];
        Random.Shared.NextBytes(_value);
        _next = new ulong[groups];
    }

    /// <summary>Writes one batch of <paramref name="entries"/> single-entry puts to consecutive groups starting at <paramref name="firstGroup"/>.</summary>
    public void WriteBatch(int firstGroup, int entries)
    {
        _batch.Clear();
        for (int i = 0; i < entries; i++)
        {
            int group = (firstGroup + i) % _next.Length;
            StoreBenchEnvironment.WriteRawKey(_key, (ulong)group, _next[group]++);
            _batch.Put(_key, _value, _family);
        }

        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        _db.Write(_batch, _writeOptions);
        WriteTicks += System.Diagnostics.Stopwatch.GetTimestamp() - started;
        Writes++;
    }

    /// <summary>Stopwatch ticks spent inside RocksDB's write call (fsync included), over <see cref="Writes"/> writes.</summary>
    public long WriteTicks { get; set; }

    /// <summary>Writes issued since <see cref="WriteTicks"/> was last reset.</summary>
    public long Writes { get; set; }

    /// <summary><see cref="WriteTicks"/> in microseconds.</summary>
    public double WriteMicroseconds => System.Diagnostics.Stopwatch.GetElapsedTime(0, WriteTicks).TotalMicroseconds;

    public void Dispose()
    {
        _batch.Dispose();
        if (_ownsDatabase)
        {
            _db.Dispose();
        }
    }
}

/// <summary>
/// A store and the raw RocksDB reference it is compared with, under the same options, each in
/// its own database of one temporary environment; the raw side syncs when the store does.
/// </summary>
internal sealed class StoreBesideRaw : IDisposable
{
    private readonly StoreBenchEnvironment _env = new();

    public StoreBesideRaw(RocksDbLogStoreOptions options, int rawGroups, int valueBytes)
    {
        Store = RocksDbLogStore.Open(_env.Path("store"), options);
        Raw = new RawRocksDbWriter(RocksDbLogStore.OpenDatabase(_env.Path("raw"), options), rawGroups, valueBytes, sync: options.SyncMode == LogSyncMode.Sync);
    }

    public RocksDbLogStore Store { get; }

    /// <summary>Writes to groups 0 to <c>rawGroups</c> − 1 of its own database.</summary>
    public RawRocksDbWriter Raw { get; }

    public void Dispose()
    {
        Store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Raw.Dispose();
        _env.Dispose();
    }
}

/// <summary>
/// Many concurrent appenders, each appending one entry at a time (awaiting durability) to its
/// own share of the groups, round-robin.
/// </summary>
internal sealed class ConcurrentAppendWorkload
{
    private readonly IRaftLogStore[] _views;
    private readonly ulong[] _next;
    private readonly Entry[][] _slots;
    private readonly byte[] _payload;
    private readonly Task[] _tasks;
    private readonly int _appenders;

    public ConcurrentAppendWorkload(IMultiGroupLogStore store, int groups, int appenders, int payloadBytes)
    {
        _views = new IRaftLogStore[groups];
        for (int g = 0; g < groups; g++)
        {
            _views[g] = store.ForGroup((ulong)g);
        }

        _next = new ulong[groups];
        _appenders = appenders;
        _slots = new Entry[appenders][];
        for (int a = 0; a < appenders; a++)
        {
            _slots[a] = new Entry[1];
        }

        _payload = new byte[payloadBytes];
        Random.Shared.NextBytes(_payload);
        _tasks = new Task[appenders];
    }

    /// <summary>Every appender appends <paramref name="rounds"/> entries, each awaited; returns when all are durable.</summary>
    public Task Run(int rounds)
    {
        for (int a = 0; a < _appenders; a++)
        {
            int appender = a;
            _tasks[a] = Task.Run(() => Append(appender, rounds));
        }

        return Task.WhenAll(_tasks);
    }

    private async Task Append(int appender, int rounds)
    {
        var slot = _slots[appender];
        int groupsPerAppender = _views.Length / _appenders;
        for (int r = 0; r < rounds; r++)
        {
            int group = appender + (_appenders * (r % groupsPerAppender));
            slot[0] = Entry.Normal(new LogId(1, 0, _next[group]++), _payload);
            await _views[group].AppendAsync(slot, NoFlushCallback.Instance);
        }
    }
}

/// <summary>The awaited task reports durability; benchmarks need no callback.</summary>
internal sealed class NoFlushCallback : IFlushCallback
{
    public static NoFlushCallback Instance { get; } = new();

    public void OnFlushed(Exception? error)
    {
    }
}
