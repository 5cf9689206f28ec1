using BenchmarkDotNet.Attributes;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native;

namespace RaftToolkit.Benchmarks.Store;

/// <summary>
/// The store's CPU path without fsync noise, gated in CI. Workload (d): bytes allocated per
/// appended entry in steady state (MemoryDiagnoser) — the appends complete synchronously (a
/// lone appender writes inline), so nothing but the store itself can allocate; the target is
/// 0 B. The raw RocksDB references do the same puts through the binding with the same
/// options, so the store-to-raw time ratios measure the store's own overhead (keys, framing,
/// checksums, coalescer) on a machine-independent scale. <see cref="StoreWideGroupBatches"/>
/// is the host's shape of write, one batch spanning hundreds of groups, whose staging arrays
/// outgrow what a pooled request keeps. It counts one operation per write, not per entry:
/// BenchmarkDotNet rounds bytes per operation, and counted per entry an allocation of up to
/// 255 bytes per write would read as 0 B.
/// </summary>
[Config(typeof(BenchConfig))]
[BenchmarkCategory("gate")]
public class StoreHotPathBenchmarks
{
    private const int Appends = 256;

    private StoreBesideRaw _sides = null!;
    private IRaftLogStore[] _logs = null!;
    private ulong[] _next = null!;
    private readonly Entry[] _slot = new Entry[1];
    private readonly byte[] _payload = new byte[128];
    private readonly LogWriteBatch _batch = new();
    private readonly Entry[] _batchEntries = new Entry[16];

    /// <summary>Groups in one wide batch: well past a pooled request's kept staging arrays, within its kept bytes.</summary>
    private const int WideGroups = 512;
    private const ulong FirstWideGroup = 1_000;
    private readonly LogWriteBatch _wideBatch = new();
    private readonly Entry[] _wideEntries = new Entry[WideGroups];
    private readonly ulong[] _wideNext = new ulong[WideGroups];

    [GlobalSetup]
    public void Setup()
    {
        // A memtable large enough for the whole run: a flush or compaction starting in the middle
        // of one side's measurement (on a 2-core machine) moved the ratios by 2x between runs.
        var options = new RocksDbLogStoreOptions { SyncMode = LogSyncMode.NoSync, WriteBufferSize = 2UL << 30 };
        _sides = new StoreBesideRaw(options, 16, _payload.Length);
        _logs = new IRaftLogStore[16];
        _next = new ulong[16];
        for (int g = 0; g < _logs.Length; g++)
        {
            _logs[g] = _sides.Store.ForGroup((ulong)g);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sides.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Appends)]
    public void RawSingleEntryWrites()
    {
        for (int i = 0; i < Appends; i++)
        {
            _sides.Raw.WriteBatch(i & 15, 1);
        }
    }

    [Benchmark(OperationsPerInvoke = Appends)]
    public void RawSixteenEntryBatches()
    {
        for (int round = 0; round < Appends / 16; round++)
        {
            _sides.Raw.WriteBatch(0, 16);
        }
    }

    [Benchmark(OperationsPerInvoke = Appends)]
    public void StoreSingleEntryAppends()
    {
        for (int i = 0; i < Appends; i++)
        {
            int group = i & 15;
            _slot[0] = Entry.Normal(new LogId(1, 0, _next[group]++), _payload);
            _logs[group].AppendAsync(_slot, NoFlushCallback.Instance).GetAwaiter().GetResult();
        }
    }

    [Benchmark(OperationsPerInvoke = Appends)]
    public void StoreSixteenGroupBatches()
    {
        for (int round = 0; round < Appends / 16; round++)
        {
            _batch.Clear();
            for (int group = 0; group < 16; group++)
            {
                _batchEntries[group] = Entry.Normal(new LogId(1, 0, _next[group]++), _payload);
                _batch.Append((ulong)group, _batchEntries.AsMemory(group, 1));
            }

            _sides.Store.WriteAsync(_batch).GetAwaiter().GetResult();
        }
    }

    [Benchmark]
    public void StoreWideGroupBatches()
    {
        _wideBatch.Clear();
        for (int g = 0; g < WideGroups; g++)
        {
            _wideEntries[g] = Entry.Normal(new LogId(1, 0, _wideNext[g]++), _payload);
            _wideBatch.Append(FirstWideGroup + (ulong)g, _wideEntries.AsMemory(g, 1));
        }

        _sides.Store.WriteAsync(_wideBatch).GetAwaiter().GetResult();
    }
}
