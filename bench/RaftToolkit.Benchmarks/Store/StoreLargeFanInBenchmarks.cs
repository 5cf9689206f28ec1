using BenchmarkDotNet.Attributes;
using RaftToolkit.Native;

namespace RaftToolkit.Benchmarks.Store;

/// <summary>
/// Workload (c): 1,024 concurrent appenders (one group each), 1 KiB entries, against raw
/// RocksDB writing 1,024-entry batches, one synced write each. Per appended entry.
/// </summary>
/// <remarks>
/// An invocation starts its appenders from idle, and the first append of an idle store is
/// written alone (a lone appender never waits for company): 32 rounds keep that start-up write
/// to about one in 33, where 4 rounds made it one in 5 and measured start-up, not steady state.
/// </remarks>
[Config(typeof(BenchConfig))]
public class StoreLargeFanInBenchmarks
{
    private const int Appenders = 1024;
    private const int Rounds = 32;
    private const int PayloadBytes = 1024;

    private StoreBesideRaw _sides = null!;
    private ConcurrentAppendWorkload _workload = null!;

    [GlobalSetup]
    public void Setup()
    {
        var options = new RocksDbLogStoreOptions();
        _sides = new StoreBesideRaw(options, Appenders, PayloadBytes);
        _workload = new ConcurrentAppendWorkload(_sides.Store, Appenders, Appenders, PayloadBytes);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sides.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Appenders * Rounds)]
    public void RawRocksDb1024EntryBatches()
    {
        for (int r = 0; r < Rounds; r++)
        {
            _sides.Raw.WriteBatch(0, Appenders);
        }
    }

    [Benchmark(OperationsPerInvoke = Appenders * Rounds)]
    public Task Store1024ConcurrentAppenders() => _workload.Run(Rounds);
}
