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

    private StoreBesideRaw _sides = null!;
    private IRaftLogStore _log = null!;
    private readonly Entry[] _slot = new Entry[1];
    private readonly byte[] _payload = new byte[128];
    private ulong _next;

    [GlobalSetup]
    public void Setup()
    {
        var options = new RocksDbLogStoreOptions();
        _sides = new StoreBesideRaw(options, 1, _payload.Length);
        _log = _sides.Store.ForGroup(1);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sides.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Appends)]
    public void RawRocksDbSingleEntryWrites()
    {
        for (int i = 0; i < Appends; i++)
        {
            _sides.Raw.WriteBatch(0, 1);
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
