using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using RaftToolkit.Native;
using RaftToolkit.Native.Diagnostics;

namespace RaftToolkit.Benchmarks.Store;

/// <summary>
/// Workloads (a), (b) and (c) in steady state, outside BenchmarkDotNet: the store's appenders
/// against raw RocksDB writing the same entries in synced batches of as many entries as there
/// are appenders. Both databases are open side by side and aged first
/// (<see cref="StoreBenchEnvironment.AgeWal"/>); the run alternates short slices of the two, in
/// A-B-B-A order, so that drift in the machine's fsync latency (tens of percent over seconds on
/// a shared machine) falls on both sides alike instead of on whichever ran second.
/// </summary>
/// <remarks>
/// <c>dotnet run -c Release --project bench/RaftToolkit.Benchmarks -- steady [appenders] [entry bytes] [slices] [entries per slice] [bytes per sync]</c>
/// (defaults: 64 appenders, 128 B, 40 slices a side of 256 writes' worth of entries, and the
/// store's <see cref="RocksDbLogStoreOptions.BytesPerSync"/> for both databases): prints the
/// ratio raw time ÷ store time over the whole run, the median and range of the slice pairs'
/// ratios, both sides' time per entry, and how a round splits: the synced write (time inside
/// RocksDB's write call) against everything else (building the batch; for the store, completing
/// the appends and taking the next ones), and how many writes the store took per round of
/// appends (1 in steady state). Each store slice starts its appenders from idle, and
/// an idle store writes the first append alone: one extra write in 257, against the store.
/// Keep slices at the default 256 rounds for (c) too (<c>steady 1024 1024 10</c>): 1,024
/// appenders start over a few writes, and more while a background flush holds the cores (17
/// single-entry writes once), so at 64 rounds a slice, start-up writes were 5–7 % of the
/// store's writes, and the ratio measured start-up as much as steady state.
/// <c>steady-control</c>, with the same arguments, puts raw RocksDB on both sides, to check
/// that the harness itself favours neither database. <c>steady-floor</c> puts a
/// <see cref="MinimalCoalescer"/> in the store's place: the same closed loop of appenders that
/// each await their append, with nothing of a store but one lock, one shared batch and one
/// completion per append. What it reads bounds what any store can read on the workload.
/// </remarks>
internal static class SteadyStateAppendComparison
{
    private const int Groups = 10_000;

    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(5);

    /// <param name="args">The command's positional arguments.</param>
    /// <param name="compared">What runs against raw RocksDB: the store, or one of the harness's checks.</param>
    public static void Run(string[] args, ComparedSide compared = ComparedSide.Store)
    {
        int appenders = BenchArgs.IntOr(args, 0, 64);
        int entryBytes = BenchArgs.IntOr(args, 1, 128);
        int slices = BenchArgs.IntOr(args, 2, 40);
        int rounds = Math.Max(1, BenchArgs.IntOr(args, 3, 256 * appenders) / appenders);
        int groups = Math.Max(Groups, appenders);

        using var storeWrites = new StoreWriteTimes();
        using var env = new StoreBenchEnvironment();
        var options = new RocksDbLogStoreOptions();
        options.BytesPerSync = (ulong)BenchArgs.IntOr(args, 4, (int)options.BytesPerSync);
        var rawDb = RocksDbLogStore.OpenDatabase(env.Path("raw"), options);
        StoreBenchEnvironment.AgeWal(rawDb, StoreBenchEnvironment.DefaultAgingBytes);
        using var raw = new RawRocksDbWriter(rawDb, groups, entryBytes);
        using var storeDb = RocksDbLogStore.OpenDatabase(env.Path("store"), options);
        var store = StoreBenchEnvironment.AttachAged(storeDb, options);
        using var rawInStoreDb = compared == ComparedSide.RawControl ? new RawRocksDbWriter(storeDb, groups, entryBytes, ownsDatabase: false) : null;
        using var minimal = compared == ComparedSide.MinimalCoalescer ? new MinimalCoalescer(storeDb) : null;
        try
        {
            // The awaiting appenders' closed loop: through the store, or through the minimal coalescer.
            Func<int, Task> appendRounds = minimal is null
                ? new ConcurrentAppendWorkload(store, groups, appenders, entryBytes).Run
                : new MinimalCoalescerWorkload(minimal, groups, appenders, entryBytes).Run;
            Func<double> RawSlices(RawRocksDbWriter writer)
            {
                int firstGroup = 0;
                return () =>
                {
                    long started = Stopwatch.GetTimestamp();
                    for (int r = 0; r < rounds; r++)
                    {
                        writer.WriteBatch(firstGroup, appenders);
                        firstGroup = (firstGroup + appenders) % groups;
                    }

                    return Stopwatch.GetElapsedTime(started).TotalMicroseconds;
                };
            }

            double AppendersSlice()
            {
                long started = Stopwatch.GetTimestamp();
                appendRounds(rounds).GetAwaiter().GetResult();
                return Stopwatch.GetElapsedTime(started).TotalMicroseconds;
            }

            var rawSlice = RawSlices(raw);
            var storeSlice = rawInStoreDb is null ? AppendersSlice : RawSlices(rawInStoreDb);

            // Unmeasured slices first, until the JIT has settled: the store's code starts out
            // unoptimized and is recompiled as it runs (tiered compilation), which took the first
            // second or so of workload (a); raw RocksDB's work is native code from the start.
            var warmUp = Stopwatch.StartNew();
            while (warmUp.Elapsed < WarmUp)
            {
                rawSlice();
                storeSlice();
            }

            double rawTotal = 0;
            double storeTotal = 0;
            raw.WriteTicks = raw.Writes = 0;
            rawInStoreDb?.WriteTicks = rawInStoreDb.Writes = 0;
            minimal?.ResetCounts();
            storeWrites.Reset();
            var pairRatios = new List<double>(slices);
            for (int slice = 0; slice < slices; slice++)
            {
                double rawTime;
                double storeTime;
                if (slice % 2 == 0)
                {
                    rawTime = rawSlice();
                    storeTime = storeSlice();
                }
                else
                {
                    storeTime = storeSlice();
                    rawTime = rawSlice();
                }

                rawTotal += rawTime;
                storeTotal += storeTime;
                pairRatios.Add(rawTime / storeTime);
            }

            pairRatios.Sort();
            double entries = (double)slices * rounds * appenders;
            double storeWriteCount = rawInStoreDb?.Writes ?? minimal?.Writes ?? storeWrites.Count;
            double storeWriteMicroseconds = rawInStoreDb?.WriteMicroseconds ?? minimal?.WriteMicroseconds ?? storeWrites.TotalMicroseconds;
            string storeSide = compared switch
            {
                ComparedSide.RawControl => "raw in the store's database",
                ComparedSide.MinimalCoalescer => "minimal coalescer",
                _ => "store",
            };
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{appenders} appenders, {entryBytes} B entries, {slices} slices of {rounds * appenders} entries a side: " +
                $"ratio (raw time / {storeSide} time) {rawTotal / storeTotal:F2}; slice pairs median {pairRatios[slices / 2]:F2}, range {pairRatios[0]:F2}-{pairRatios[^1]:F2}; " +
                $"raw {rawTotal / entries:F2} us/entry, {storeSide} {storeTotal / entries:F2} us/entry; " +
                $"a round: raw {rawTotal / raw.Writes:F0} us with a {raw.WriteMicroseconds / raw.Writes:F0} us write, " +
                $"{storeSide} {storeTotal / storeWriteCount:F0} us with a {storeWriteMicroseconds / storeWriteCount:F0} us write, " +
                $"{storeWriteCount / ((double)slices * rounds):F3} writes a round"));
        }
        finally
        {
            store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}

/// <summary>What <see cref="SteadyStateAppendComparison"/> runs against raw RocksDB.</summary>
internal enum ComparedSide
{
    /// <summary>The store's appenders (<c>steady</c>).</summary>
    Store,

    /// <summary>
    /// Raw RocksDB again, writing the same batches through the binding into the store's
    /// database (<c>steady-control</c>): with the same work on both sides, the ratio should read
    /// 1.0 within noise.
    /// </summary>
    RawControl,

    /// <summary>The store's appenders' closed loop through a <see cref="MinimalCoalescer"/> (<c>steady-floor</c>).</summary>
    MinimalCoalescer,
}

/// <summary>Sums the store's write latency (its <c>raftkit.storage.write_latency</c> instrument) while alive.</summary>
internal sealed class StoreWriteTimes : IDisposable
{
    private readonly MeterListener _listener = new();
    private double _totalMilliseconds;
    private long _count;

    public StoreWriteTimes()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == StorageMetrics.MeterName && instrument.Name == "raftkit.storage.write_latency")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };

        // Only the coalescer's writing thread records, one write at a time.
        _listener.SetMeasurementEventCallback<double>((_, milliseconds, _, _) =>
        {
            _totalMilliseconds += milliseconds;
            _count++;
        });
        _listener.Start();
    }

    public long Count => _count;

    public double TotalMicroseconds => _totalMilliseconds * 1000;

    public void Reset()
    {
        _totalMilliseconds = 0;
        _count = 0;
    }

    public void Dispose() => _listener.Dispose();
}
