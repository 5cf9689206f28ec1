using System.Diagnostics;
using RaftToolkit.Native;

namespace RaftToolkit.Benchmarks.Store;

/// <summary>
/// Workloads (a) and (c) in steady state, outside BenchmarkDotNet: appenders that do not pause
/// for a long run (a BenchmarkDotNet invocation restarts its appenders from idle every few
/// batches, and an idle store writes the first append alone), against raw RocksDB writing the
/// same entries in batches of as many, the two sides interleaved so that both see the same
/// machine weather. Both databases are aged first (<see cref="StoreBenchEnvironment.AgeWal"/>).
/// </summary>
/// <remarks>
/// <c>dotnet run -c Release --project bench/RaftToolkit.Benchmarks -- steady [appenders] [entry bytes] [pairs] [entries]</c>
/// (defaults: 64 appenders, 128 B, 5 pairs of 640,000 entries a side): prints each pair's raw and store time per
/// entry and their ratio (raw ÷ store), then the median ratio.
/// </remarks>
internal static class SteadyStateAppendComparison
{
    private const int Groups = 10_000;

    /// <summary>Filler written to both databases first, so that both run on reused WALs, as a long-running store does.</summary>
    private const long AgingBytes = 80L << 20;

    public static void Run(string[] args)
    {
        int appenders = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 64;
        int entryBytes = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 128;
        int pairs = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 5;
        long entries = args.Length > 3 ? long.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 640_000;
        int groups = Math.Max(Groups, appenders);

        var ratios = new List<double>();
        for (int pair = 0; pair < pairs; pair++)
        {
            double raw = MeasureRaw(appenders, entryBytes, groups, entries);
            double store = MeasureStore(appenders, entryBytes, groups, entries);
            ratios.Add(raw / store);
            Console.WriteLine($"pair {pair + 1}: raw {raw:F2} us/entry, store {store:F2} us/entry, ratio {raw / store:F2}");
        }

        ratios.Sort();
        Console.WriteLine($"{appenders} appenders, {entryBytes} B entries: median ratio (raw time / store time) {ratios[ratios.Count / 2]:F2}, range {ratios[0]:F2}-{ratios[^1]:F2}");
    }

    /// <summary>Raw RocksDB, <paramref name="entries"/> in synced writes of <paramref name="appenders"/> entries each; microseconds per entry.</summary>
    private static double MeasureRaw(int appenders, int entryBytes, int groups, long entries)
    {
        using var env = new StoreBenchEnvironment();
        var db = RocksDbLogStore.OpenDatabase(env.Path("raw"), new RocksDbLogStoreOptions());
        StoreBenchEnvironment.AgeWal(db, AgingBytes);
        using var raw = new RawRocksDbWriter(db, groups, entryBytes);
        long batches = entries / appenders;
        int first = 0;
        var clock = Stopwatch.StartNew();
        for (long b = 0; b < batches; b++)
        {
            raw.WriteBatch(first, appenders);
            first = (first + appenders) % groups;
        }

        return clock.Elapsed.TotalMicroseconds / (batches * appenders);
    }

    /// <summary>The store with <paramref name="appenders"/> appenders that never pause until <paramref name="entries"/> are durable; microseconds per entry.</summary>
    private static double MeasureStore(int appenders, int entryBytes, int groups, long entries)
    {
        using var env = new StoreBenchEnvironment();
        var options = new RocksDbLogStoreOptions();
        using var db = RocksDbLogStore.OpenDatabase(env.Path("store"), options);
        StoreBenchEnvironment.AgeWal(db, AgingBytes);
        var store = RocksDbLogStore.Attach(db, options);
        try
        {
            var workload = new ConcurrentAppendWorkload(store, groups, appenders, entryBytes);
            int perAppender = checked((int)(entries / appenders));
            var clock = Stopwatch.StartNew();
            workload.Run(perAppender).GetAwaiter().GetResult();
            return clock.Elapsed.TotalMicroseconds / ((long)perAppender * appenders);
        }
        finally
        {
            store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
