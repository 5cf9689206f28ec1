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

    private StoreBenchEnvironment _env = null!;
    private RocksDbLogStore _store = null!;
    private ConcurrentAppendWorkload _workload = null!;
    private RawRocksDbWriter _raw = null!;

    [GlobalSetup]
    public void Setup()
    {
        _env = new StoreBenchEnvironment();
        var options = new RocksDbLogStoreOptions();
        _store = RocksDbLogStore.Open(_env.Path("store"), options);
        _workload = new ConcurrentAppendWorkload(_store, Appenders, Appenders, PayloadBytes);
        _raw = new RawRocksDbWriter(RocksDbLogStore.OpenDatabase(_env.Path("raw"), options), Appenders, PayloadBytes);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _raw.Dispose();
        _env.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Appenders * Rounds)]
    public void RawRocksDb1024EntryBatches()
    {
        for (int r = 0; r < Rounds; r++)
        {
            _raw.WriteBatch(0, Appenders);
        }
    }

    [Benchmark(OperationsPerInvoke = Appenders * Rounds)]
    public Task Store1024ConcurrentAppenders() => _workload.Run(Rounds);
}
