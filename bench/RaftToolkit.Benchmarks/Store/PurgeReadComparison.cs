using System.Diagnostics;
using System.Globalization;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native;

namespace RaftToolkit.Benchmarks.Store;

/// <summary>
/// Reads interleaved with purges, for each given <see cref="RocksDbLogStoreOptions.MaxRangeDeletionsPerMemtable"/>
/// (0: no bound): many groups append in rounds, each purging its log behind it every few entries,
/// and after each group's turn a 64-entry read of another group's recent entries is timed.
/// </summary>
/// <remarks>
/// <para><c>dotnet run -c Release --project bench/RaftToolkit.Benchmarks -- purge-reads [groups]
/// [purge every] [rounds] [bound ...]</c> (defaults: 1,000 groups, a purge every 16 entries, 24
/// rounds of 16 entries a group, bounds 1024, 256 and 0). Prints, first for the same run without
/// purges, then per bound, the mean and 99th percentile read time and the whole run's time.</para>
/// <para>Why: every purge is a range deletion, and a read that meets the memtable after a new
/// one rebuilds RocksDB's sorted list of all the memtable's range deletions first. Without a
/// bound, the read's cost grows with every purge until the memtable is flushed. The stores
/// write without syncing, so that the run measures the reads, not the disk.</para>
/// </remarks>
internal static class PurgeReadComparison
{
    private const int EntriesPerRound = 16;
    private const int ReadEntries = 64;
    private const ulong KeptBehind = 64;

    public static void Run(string[] args)
    {
        int groups = BenchArgs.IntOr(args, 0, 1000);
        int purgeEvery = BenchArgs.IntOr(args, 1, 16);
        int rounds = BenchArgs.IntOr(args, 2, 24);
        int[] bounds = args.Length > 3 ? args[3..].Select(a => int.Parse(a, CultureInfo.InvariantCulture)).ToArray() : [1024, 256, 0];
        // The reference: the same appends and reads without purges.
        Measure("no purges", new RocksDbLogStoreOptions(), groups, purgeEvery: 0, rounds);
        foreach (int bound in bounds)
        {
            string name = $"bound {(bound == 0 ? "none" : bound.ToString(CultureInfo.InvariantCulture))}";
            Measure(name, new RocksDbLogStoreOptions { MaxRangeDeletionsPerMemtable = bound }, groups, purgeEvery, rounds);
        }
    }

    private static void Measure(string name, RocksDbLogStoreOptions options, int groups, int purgeEvery, int rounds)
    {
        using var env = new StoreBenchEnvironment();
        options.SyncMode = LogSyncMode.NoSync;
        var store = RocksDbLogStore.Open(env.Path("store"), options);
        try
        {
            var (reads, purges, elapsed) = Workload(store, groups, purgeEvery, rounds).GetAwaiter().GetResult();
            reads.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name}: {purges} purges, {reads.Count} reads of {ReadEntries} entries: " +
                $"mean {reads.Average():F1} us, p99 {reads[(int)(reads.Count * 0.99)]:F1} us; run {elapsed.TotalSeconds:F1} s"));
        }
        finally
        {
            store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static async Task<(List<double> Reads, int Purges, TimeSpan Elapsed)> Workload(RocksDbLogStore store, int groups, int purgeEvery, int rounds)
    {
        var views = new IRaftLogStore[groups];
        for (int g = 0; g < groups; g++)
        {
            views[g] = store.ForGroup((ulong)g);
        }

        var payload = new byte[128];
        var entries = new Entry[EntriesPerRound];
        var reads = new List<double>(groups * rounds);
        int purges = 0;
        var run = Stopwatch.StartNew();
        for (int round = 0; round < rounds; round++)
        {
            ulong first = (ulong)(round * EntriesPerRound);
            ulong next = first + EntriesPerRound;
            for (int g = 0; g < groups; g++)
            {
                for (int i = 0; i < EntriesPerRound; i++)
                {
                    entries[i] = Entry.Normal(new LogId(1, 0, first + (ulong)i), payload);
                }

                await views[g].AppendAsync(entries, NoFlushCallback.Instance);
                if (purgeEvery > 0 && next % (ulong)purgeEvery == 0 && next > KeptBehind)
                {
                    await views[g].PurgeAsync(new LogId(1, 0, next - KeptBehind - 1));
                    purges++;
                }

                // Entries every group holds by now, whether or not its turn in this round came yet.
                if (first >= ReadEntries)
                {
                    long started = Stopwatch.GetTimestamp();
                    await views[(g + (groups / 2)) % groups].TryGetLogEntriesAsync(first - ReadEntries, first);
                    reads.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                }
            }
        }

        return (reads, purges, run.Elapsed);
    }
}
