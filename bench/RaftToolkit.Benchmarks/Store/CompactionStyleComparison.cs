using System.Diagnostics;
using System.Globalization;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native;
using RocksDbSharp;

namespace RaftToolkit.Benchmarks.Store;

/// <summary>
/// What the log family's compaction style costs over a long run of appends and purges: a Raft
/// log's life, where each group appends behind its leader and drops the prefix its snapshot
/// covers. For each style in turn, on a fresh store: the disk bytes written per appended byte
/// (write amplification: WAL, flushes and compactions), the process's CPU time, the table files'
/// size at its peak and at the end against the entries still live, how long appends took at the
/// tail (RocksDB stalls writes when compaction falls behind), and the time to read a group's
/// oldest retained entries (a follower catching up, from table files).
/// </summary>
/// <remarks>
/// <c>dotnet run -c Release --project bench/RaftToolkit.Benchmarks -- compaction [groups] [entry bytes] [GiB appended] [entries kept] [purge every]</c>
/// (defaults: 1,000 groups, 1 KiB entries, 4 GiB, 1,024 entries kept a group, a purge every 256
/// entries; 0 kept: never purge, the log only grows). 64 appenders append 16-entry batches
/// without syncing, so that the run measures compaction, not fsyncs; the disk bytes come from
/// the process's <c>/proc/self/io</c> (<c>write_bytes</c>), so the numbers are Linux only.
/// Every entry carries the same random payload, as in the steady-state workloads, so table
/// files compress far below the payload bytes: compare their sizes between the styles.
/// </remarks>
internal static class CompactionStyleComparison
{
    private const int Appenders = 64;
    private const int EntriesPerAppend = 16;
    private const int ReadEntries = 64;
    private const int ReadEvery = 256;

    public static void Run(string[] args)
    {
        int groups = BenchArgs.IntOr(args, 0, 1000);
        int entryBytes = BenchArgs.IntOr(args, 1, 1024);
        long appendedBytes = (long)BenchArgs.IntOr(args, 2, 4) << 30;
        int kept = BenchArgs.IntOr(args, 3, 1024);
        int purgeEvery = BenchArgs.IntOr(args, 4, 256);
        if (groups < Appenders || entryBytes < 1 || appendedBytes < 1 || kept < 0 || (kept > 0 && purgeEvery < EntriesPerAppend))
        {
            throw new ArgumentException($"compaction [groups, at least {Appenders}] [entry bytes] [GiB appended, at least 1] [entries kept, 0: no purges] [purge every, at least {EntriesPerAppend} entries]");
        }

        string purges = kept > 0 ? string.Create(CultureInfo.InvariantCulture, $"{kept} entries kept a group (purged every {purgeEvery})") : "no purges";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{groups} groups, {entryBytes} B entries, {appendedBytes >> 30} GiB appended, {purges}"));
        foreach (var style in new[] { Compaction.Level, Compaction.Universal })
        {
            Measure(style, groups, entryBytes, appendedBytes, kept, purgeEvery);
        }
    }

    private static void Measure(Compaction style, int groups, int entryBytes, long appendedBytes, int kept, int purgeEvery)
    {
        using var env = new StoreBenchEnvironment();
        var options = new RocksDbLogStoreOptions
        {
            SyncMode = LogSyncMode.NoSync,
            LogCompactionStyle = style,
        };
        var store = RocksDbLogStore.Open(env.Path("store"), options);
        try
        {
            long diskBefore = DiskBytesWritten();
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var run = new ChurnRun(store, groups, entryBytes, appendedBytes, kept, purgeEvery);
            var elapsed = run.Execute();
            long disk = DiskBytesWritten() - diskBefore;
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
            long sstEnd = SstBytes(store);
            var reads = run.Reads;
            reads.Sort();
            var appends = run.Appends;
            appends.Sort();
            double live = kept > 0 ? (double)groups * kept * entryBytes : run.AppendedBytes;
            string readTimes = reads.Count == 0
                ? "no reads (too few appends)"
                : string.Create(CultureInfo.InvariantCulture, $"{reads.Count} reads of the {ReadEntries} oldest entries: mean {reads.Average():F0} us, p99 {reads[(int)(reads.Count * 0.99)]:F0} us");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{style}: {elapsed.TotalSeconds:F1} s ({run.AppendedBytes / elapsed.TotalSeconds / (1 << 20):F0} MiB/s); " +
                $"disk written {disk / (double)run.AppendedBytes:F2}x the appended bytes; CPU {cpu.TotalSeconds:F1} s; " +
                $"appends p99 {appends[(int)(appends.Count * 0.99)]:F0} us, p99.9 {appends[(int)(appends.Count * 0.999)]:F0} us, max {appends[^1] / 1000:F0} ms; " +
                $"table files peak {Math.Max(run.PeakSstBytes, sstEnd) / live:F2}x the live entries, end {sstEnd / live:F2}x; " +
                $"{readTimes}"));
        }
        finally
        {
            store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static long SstBytes(RocksDbLogStore store) => store.ReadProperty("rocksdb.total-sst-files-size", perFamily: true) ?? 0;

    /// <summary>Bytes this process has caused to be written to storage (<c>write_bytes</c> of <c>/proc/self/io</c>).</summary>
    private static long DiskBytesWritten()
    {
        foreach (string line in File.ReadLines("/proc/self/io"))
        {
            if (line.StartsWith("write_bytes:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan("write_bytes:".Length).Trim(), CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException("/proc/self/io has no write_bytes line");
    }

    /// <summary>Appenders, each over its share of the groups, appending and purging until the run's bytes are written.</summary>
    private sealed class ChurnRun(RocksDbLogStore store, int groups, int entryBytes, long appendedBytes, int kept, int purgeEvery)
    {
        private readonly byte[] _payload = RandomPayload(entryBytes);
        private readonly long _appends = appendedBytes / ((long)entryBytes * EntriesPerAppend);
        private long _peakSst;

        public List<double> Reads { get; } = [];

        /// <summary>How long each append took, in microseconds: RocksDB stalls writes when compaction falls behind.</summary>
        public List<double> Appends { get; } = [];

        public long AppendedBytes => _appends * EntriesPerAppend * entryBytes;

        public long PeakSstBytes => Volatile.Read(ref _peakSst);

        public TimeSpan Execute()
        {
            var watch = Stopwatch.StartNew();
            using var sampling = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                // Table files grow and shrink with every flush and compaction: sampled ten times a second for the peak.
                using var every = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
                do
                {
                    Volatile.Write(ref _peakSst, Math.Max(_peakSst, SstBytes(store)));
                }
                while (await every.WaitForNextTickAsync(sampling.Token).ConfigureAwait(false));
            });
            var appenders = new Task[Appenders];
            for (int a = 0; a < Appenders; a++)
            {
                int appender = a;
                appenders[a] = Task.Run(() => Append(appender));
            }

            Task.WaitAll(appenders);
            var elapsed = watch.Elapsed;
            sampling.Cancel();
            try
            {
                sampler.GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
                // The sampler's way of stopping.
            }
            return elapsed;
        }

        private async Task Append(int appender)
        {
            var batch = new Entry[EntriesPerAppend];
            var reads = new List<double>();
            var appendTimes = new List<double>();
            var next = new Dictionary<int, ulong>();
            long appends = _appends / Appenders;

            // The appender's groups: every one whose id is the appender's number modulo Appenders.
            int ownGroups = ((groups - appender - 1) / Appenders) + 1;
            for (long n = 0; n < appends; n++)
            {
                int group = appender + (Appenders * (int)(n % ownGroups));
                var view = store.ForGroup((ulong)group);
                ulong first = next.GetValueOrDefault(group);
                for (int i = 0; i < EntriesPerAppend; i++)
                {
                    batch[i] = Entry.Normal(new LogId(1, 0, first + (ulong)i), _payload);
                }

                long appendStarted = Stopwatch.GetTimestamp();
                await view.AppendAsync(batch, NoFlushCallback.Instance);
                appendTimes.Add(Stopwatch.GetElapsedTime(appendStarted).TotalMicroseconds);
                ulong end = first + EntriesPerAppend;
                next[group] = end;
                if (kept > 0 && end > (ulong)kept && end % (ulong)purgeEvery < EntriesPerAppend)
                {
                    await view.PurgeAsync(new LogId(1, 0, end - (ulong)kept - 1));
                }

                if (n % ReadEvery == ReadEvery - 1)
                {
                    var state = await view.GetLogStateAsync();
                    ulong oldest = state.LastPurgedLogId is { } purged ? purged.Index + 1 : 0;
                    long started = Stopwatch.GetTimestamp();
                    await view.TryGetLogEntriesAsync(oldest, Math.Min(end, oldest + ReadEntries));
                    reads.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                }
            }

            lock (Reads)
            {
                Reads.AddRange(reads);
                Appends.AddRange(appendTimes);
            }
        }

        private static byte[] RandomPayload(int bytes)
        {
            var payload = new byte[bytes];
            Random.Shared.NextBytes(payload);
            return payload;
        }
    }
}
