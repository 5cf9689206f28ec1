using BenchmarkDotNet.Attributes;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native;
using RocksDbSharp;

namespace RaftToolkit.Benchmarks.Store;

/// <summary>
/// Reads, as a leader does to send entries to a follower that fell behind: a range of 64 entries
/// of one group among 1,000, from table files, and the id of one entry. Raw RocksDB reads the
/// same keys of the same database through the binding (an iterator bounded above, each value
/// copied out; a get), so both sides share the block cache and the ratio measures the store's
/// read path: its own interop, the record checks (version, checksum) and building entries.
/// Per entry read.
/// </summary>
[Config(typeof(BenchConfig))]
public class StoreReadBenchmarks
{
    private const int Groups = 1_000;
    private const int EntriesPerGroup = 256;
    private const int RangeLength = 64;
    private const int PointReads = 64;

    private StoreBenchEnvironment _env = null!;
    private RocksDbLogStore _store = null!;
    private ColumnFamilyHandle _family = null!;
    private readonly byte[] _lower = new byte[16];
    private readonly byte[] _upper = new byte[16];
    private uint _cursor;

    [GlobalSetup]
    public void Setup()
    {
        _env = new StoreBenchEnvironment();
        _store = RocksDbLogStore.Open(_env.Path("store"), new RocksDbLogStoreOptions { SyncMode = LogSyncMode.NoSync });
        var payload = new byte[128];
        Random.Shared.NextBytes(payload);
        var batch = new LogWriteBatch();
        for (int index = 0; index < EntriesPerGroup; index += 16)
        {
            batch.Clear();
            for (ulong group = 0; group < Groups; group++)
            {
                batch.Append(group, Enumerable.Range(index, 16).Select(i => Entry.Normal(new LogId(1, 0, (ulong)i), payload)).ToArray());
            }

            _store.WriteAsync(batch).AsTask().GetAwaiter().GetResult();
        }

        // From table files, as a follower far behind is served: the memtables are flushed.
        StoreBenchEnvironment.FlushLog(_store.Database);
        _family = _store.Database.GetColumnFamily(RocksDbLogStoreOptions.DefaultLogColumnFamily);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _env.Dispose();
    }

    /// <summary>The next group and first index, spread over the groups and the log.</summary>
    private (ulong Group, ulong Start) Next()
    {
        ulong at = (ulong)_cursor++;
        return (at * 7919 % Groups, at % (EntriesPerGroup - RangeLength));
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = RangeLength)]
    public int RawRocksDbRangeRead()
    {
        var (group, start) = Next();
        StoreBenchEnvironment.WriteRawKey(_lower, group, start);
        StoreBenchEnvironment.WriteRawKey(_upper, group, start + RangeLength);
        var readOptions = new ReadOptions().SetIterateUpperBound(_upper);
        using var iterator = _store.Database.NewIterator(_family, readOptions);
        int bytes = 0;
        for (iterator.Seek(_lower); iterator.Valid(); iterator.Next())
        {
            bytes += iterator.Value().Length;
        }

        return bytes;
    }

    [Benchmark(OperationsPerInvoke = RangeLength)]
    public async Task<int> StoreRangeRead()
    {
        var (group, start) = Next();
        var entries = await _store.ForGroup(group).TryGetLogEntriesAsync(start, start + RangeLength);
        return entries.Count;
    }

    [Benchmark(OperationsPerInvoke = PointReads)]
    public int RawRocksDbPointReads()
    {
        int bytes = 0;
        for (int i = 0; i < PointReads; i++)
        {
            var (group, start) = Next();
            StoreBenchEnvironment.WriteRawKey(_lower, group, start);
            bytes += _store.Database.Get(_lower, _family)!.Length;
        }

        return bytes;
    }

    [Benchmark(OperationsPerInvoke = PointReads)]
    public async Task<ulong> StorePointReads()
    {
        ulong sum = 0;
        for (int i = 0; i < PointReads; i++)
        {
            var (group, start) = Next();
            sum += (await _store.ForGroup(group).GetLogIdAsync(start)).Index;
        }

        return sum;
    }
}
