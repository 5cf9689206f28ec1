using BenchmarkDotNet.Attributes;
using RaftToolkit.Native;

namespace RaftToolkit.Benchmarks.Store;

/// <summary>
/// Workload (a): 10,000 groups, 128-byte entries, 64 concurrent single-entry appenders through
/// the coalescer, against raw RocksDB writing the same entries as 64-entry batches, each one
/// synced write. Same database options on both sides; per appended entry.
/// </summary>
/// <remarks>
/// Each invocation starts its appenders from idle, and an idle store writes the first append
/// alone; 128 rounds keep that start-up write to under 1% of the writes measured.
/// </remarks>
[Config(typeof(BenchConfig))]
public class StoreManyGroupsAppendBenchmarks
{
    private const int Groups = 10_000;
    private const int Appenders = 64;
    private const int Rounds = 128;
    private const int PayloadBytes = 128;

    private StoreBesideRaw _sides = null!;
    private ConcurrentAppendWorkload _workload = null!;
    private int _rawGroup;

    [GlobalSetup]
    public void Setup()
    {
        var options = new RocksDbLogStoreOptions();
        _sides = new StoreBesideRaw(options, Groups, PayloadBytes);
        _workload = new ConcurrentAppendWorkload(_sides.Store, Groups, Appenders, PayloadBytes);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sides.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Appenders * Rounds)]
    public void RawRocksDb64EntryBatches()
    {
        for (int r = 0; r < Rounds; r++)
        {
            _sides.Raw.WriteBatch(_rawGroup, Appenders);
            _rawGroup = (_rawGroup + Appenders) % Groups;
        }
    }

    [Benchmark(OperationsPerInvoke = Appenders * Rounds)]
    public Task Store64ConcurrentAppenders() => _workload.Run(Rounds);
}
