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

    private StoreBesideRaw _sides = null!;
    private readonly LogWriteBatch _batch = new();
    private readonly Entry[] _entries = new Entry[Groups];
    private readonly ulong[] _next = new ulong[Groups];
    private readonly byte[] _payload = new byte[PayloadBytes];

    [GlobalSetup]
    public void Setup()
    {

        // A memtable large enough for the whole run, as in the hot-path benchmarks: a flush on
        // one side only, in the middle of its measurement, would decide the ratio.
        var options = new RocksDbLogStoreOptions { SyncMode = LogSyncMode.NoSync, WriteBufferSize = 2UL << 30 };
        _sides = new StoreBesideRaw(options, Groups, PayloadBytes);
        Random.Shared.NextBytes(_payload);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sides.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Groups)]
    public void RawThousandEntryBatch() => _sides.Raw.WriteBatch(0, Groups);

    [Benchmark(OperationsPerInvoke = Groups)]
    public void StoreThousandGroupBatch()
    {
        _batch.Clear();
        for (int g = 0; g < Groups; g++)
        {
            _entries[g] = Entry.Normal(new LogId(1, 0, _next[g]++), _payload);
            _batch.Append((ulong)g, _entries.AsMemory(g, 1));
        }

        _sides.Store.WriteAsync(_batch).GetAwaiter().GetResult();
    }
}
