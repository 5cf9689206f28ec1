using BenchmarkDotNet.Attributes;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native;

namespace RaftToolkit.Benchmarks.Store;

/// <summary>
/// A host's round at its largest: one write of a 1 KiB entry to each of 1,024 groups (1 MiB,
/// past what a pooled request keeps between writes), against raw RocksDB writing the same
/// 1,024-entry batch. Without sync, so that it measures the store's staging and copying rather
/// than the disk. Per entry. Not gated.
/// </summary>
[Config(typeof(BenchConfig))]
public class StoreLargeBatchBenchmarks
{
    private const int Groups = 1024;
    private const int PayloadBytes = 1024;

    private StoreBenchEnvironment _env = null!;
    private RocksDbLogStore _store = null!;
    private RawRocksDbWriter _raw = null!;
    private readonly LogWriteBatch _batch = new();
    private readonly Entry[] _entries = new Entry[Groups];
    private readonly ulong[] _next = new ulong[Groups];
    private readonly byte[] _payload = new byte[PayloadBytes];

    [GlobalSetup]
    public void Setup()
    {
        _env = new StoreBenchEnvironment();

        // A memtable large enough for the whole run, as in the hot-path benchmarks: a flush on
        // one side only, in the middle of its measurement, would decide the ratio.
        var options = new RocksDbLogStoreOptions { SyncMode = LogSyncMode.NoSync, WriteBufferSize = 2UL << 30 };
        _store = RocksDbLogStore.Open(_env.Path("store"), options);
        _raw = new RawRocksDbWriter(RocksDbLogStore.OpenDatabase(_env.Path("raw"), options), Groups, PayloadBytes, sync: false);
        Random.Shared.NextBytes(_payload);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _raw.Dispose();
        _env.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Groups)]
    public void RawThousandEntryBatch() => _raw.WriteBatch(0, Groups);

    [Benchmark(OperationsPerInvoke = Groups)]
    public void StoreThousandGroupBatch()
    {
        _batch.Clear();
        for (int g = 0; g < Groups; g++)
        {
            _entries[g] = Entry.Normal(new LogId(1, 0, _next[g]++), _payload);
            _batch.Append((ulong)g, _entries.AsMemory(g, 1));
        }

        _store.WriteAsync(_batch).GetAwaiter().GetResult();
    }
}
