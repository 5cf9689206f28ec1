using BenchmarkDotNet.Attributes;
using RaftToolkit.Native;
using RocksDbSharp;

namespace RaftToolkit.Benchmarks.Store;

/// <summary>
/// Workload (e): workload (a) (10,000 groups, 128-byte entries, 64 concurrent appenders) on a
/// store with the default <see cref="RocksDbLogStoreOptions"/> tuning, against the same store
/// over a database opened with RocksDB's default options. Per appended entry.
/// </summary>
/// <remarks>
/// Both databases are aged first (<see cref="StoreBenchEnvironment.AgeWal"/>, the same filler on
/// each): a store runs for far longer than a benchmark, and WAL reuse, one of the
/// defaults that differ, only shows once a WAL has rolled over.
/// </remarks>
[Config(typeof(BenchConfig))]
public class StoreTuningBenchmarks
{
    private const int Groups = 10_000;
    private const int Appenders = 64;
    private const int Rounds = 32;

    private StoreBenchEnvironment _env = null!;

    private RocksDbLogStore _tuned = null!;
    private RocksDb _tunedDb = null!;
    private RocksDbLogStore _plain = null!;
    private RocksDb _plainDb = null!;
    private ConcurrentAppendWorkload _tunedWorkload = null!;
    private ConcurrentAppendWorkload _plainWorkload = null!;

    [GlobalSetup]
    public void Setup()
    {
        _env = new StoreBenchEnvironment();
        var tuning = new RocksDbLogStoreOptions();
        _tunedDb = RocksDbLogStore.OpenDatabase(_env.Path("tuned"), tuning);
        _tuned = StoreBenchEnvironment.AttachAged(_tunedDb, tuning);
        var families = new ColumnFamilies();
        families.Add(RocksDbLogStoreOptions.DefaultLogColumnFamily, new ColumnFamilyOptions());
        families.Add(RocksDbLogStoreOptions.DefaultMetaColumnFamily, new ColumnFamilyOptions());
        _plainDb = RocksDb.Open(new DbOptions().SetCreateIfMissing(true).SetCreateMissingColumnFamilies(true), _env.Path("plain"), families);
        _plain = StoreBenchEnvironment.AttachAged(_plainDb);
        _tunedWorkload = new ConcurrentAppendWorkload(_tuned, Groups, Appenders, 128);
        _plainWorkload = new ConcurrentAppendWorkload(_plain, Groups, Appenders, 128);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _tuned.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _plain.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _tunedDb.Dispose();
        _plainDb.Dispose();
        _env.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Appenders * Rounds)]
    public Task StoreOnRocksDbDefaultOptions() => _plainWorkload.Run(Rounds);

    [Benchmark(OperationsPerInvoke = Appenders * Rounds)]
    public Task StoreOnDefaultTuning() => _tunedWorkload.Run(Rounds);
}
