using BenchmarkDotNet.Attributes;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native;

namespace RaftToolkit.Benchmarks.Store;

/// <summary>
/// Workload (b): one sequential appender, one 128-byte entry per synced write, against raw
/// RocksDB writing one single-entry batch per synced write. Per appended entry.
/// </summary>
[Config(typeof(BenchConfig))]
public class StoreSequentialAppendBenchmarks
{
    private const int Appends = 64;

    private StoreBenchEnvironment _env = null!;
    private RocksDbLogStore _store = null!;
    private IRaftLogStore _log = null!;
    private RawRocksDbWriter _raw = null!;
    private readonly Entry[] _slot = new Entry[1];
    private readonly byte[] _payload = new byte[128];
    private ulong _next;

    [GlobalSetup]
    public void Setup()
    {
        _env = new StoreBenchEnvironment();
        var options = new RocksDbLogStoreOptions();
        _store = RocksDbLogStore.Open(_env.Path("store"), options);
        _log = _store.ForGroup(1);
        _raw = new RawRocksDbWriter(RocksDbLogStore.OpenDatabase(_env.Path("raw"), options), 1, _payload.Length);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _raw.Dispose();
        _env.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Appends)]
    public void RawRocksDbSingleEntryWrites()
    {
        for (int i = 0; i < Appends; i++)
        {
            _raw.WriteBatch(0, 1);
        }
    }

    [Benchmark(OperationsPerInvoke = Appends)]
    public async Task StoreSequentialAppends()
    {
        for (int i = 0; i < Appends; i++)
        {
            _slot[0] = Entry.Normal(new LogId(1, 0, _next++), _payload);
            await _log.AppendAsync(_slot, NoFlushCallback.Instance);
        }
    }
}
