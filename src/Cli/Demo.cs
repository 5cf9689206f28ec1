using System.Diagnostics;
using System.Diagnostics.Metrics;
using RaftToolkit.Core.Host;
using RaftToolkit.Core.Lifecycle;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Transport;
using RaftToolkit.Native;
using RaftToolkit.Native.Diagnostics;
using RaftToolkit.Native.Keys;
using RaftToolkit.Testing.KeyValue;
using RaftToolkit.Testing.Storage;

namespace RaftToolkit.Cli;

/// <summary>Three hosts, many groups, one proposer per group: what one fsync per round buys.</summary>
internal static class Demo
{
    private const int Nodes = 3;

    public static async Task RunAsync(DemoOptions options)
    {
        string root = Path.Combine(Path.GetTempPath(), $"raftkit-demo-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(root);
        Console.WriteLine($"raftkit demo: {Nodes} hosts x {options.Groups:N0} groups, {options.PayloadBytes}-byte values, {options.Seconds} s, {options.Workers} workers per host");
        Console.WriteLine($"stores: {root}/node{{1..{Nodes}}} (RocksDB, GroupPrefixed, fsync on)");

        using var syncedWrites = new SyncedWriteCounter();
        var network = new InMemoryNetwork();
        var stores = new RocksDbLogStore[Nodes];
        var hosts = new MultiRaftHost<KvNode, KvCommand, KvResponse, KvSnapshot>[Nodes];
        try
        {
            for (int i = 0; i < Nodes; i++)
            {
                ulong id = (ulong)(i + 1);
                stores[i] = RocksDbLogStore.Open(Path.Combine(root, $"node{id}"), new RocksDbLogStoreOptions { KeySpace = LogKeySpace.GroupPrefixed });
                var hostOptions = new MultiRaftHostOptions
                {
                    NodeId = id,
                    WorkerCount = options.Workers,
                    TickInterval = TimeSpan.FromMilliseconds(50),
                    Raft = new RaftConfig { ElectionTicks = 10, HeartbeatTicks = 3 },
                    SnapshotAfterEntries = options.SnapshotAfterEntries,
                    PurgeKeepEntries = Math.Min(1024, options.SnapshotAfterEntries),
                };
                hosts[i] = MultiRaftHost.Create(new KvTypeConfig(), hostOptions, stores[i], network.CreateTransport(id), _ => new InMemoryStateMachine());
            }

            var clock = Stopwatch.StartNew();
            var bootstraps = new List<Task>(Nodes * options.Groups);
            // Group by group, all three hosts together: a host that started all its groups first
            // would win most first elections (its timers run ahead) and do most of the leading.
            for (ulong g = 0; g < (ulong)options.Groups; g++)
            {
                foreach (var host in hosts)
                {
                    bootstraps.Add(host.BootstrapAsync(g, BootstrapMode.Fresh(1, 2, 3)));
                }
            }

            await Task.WhenAll(bootstraps).ConfigureAwait(false);
            Console.WriteLine($"bootstrapped {options.Groups:N0} groups on {Nodes} hosts in {clock.Elapsed.TotalSeconds:F1} s");

            var run = new Run(hosts, options);
            await run.ExecuteAsync().ConfigureAwait(false);
            run.Report(syncedWrites.Total);
        }
        finally
        {
            foreach (var host in hosts)
            {
                if (host is not null)
                {
                    await host.DisposeAsync().ConfigureAwait(false);
                }
            }

            foreach (var store in stores)
            {
                if (store is not null)
                {
                    await store.DisposeAsync().ConfigureAwait(false);
                }
            }

            if (options.Keep)
            {
                Console.WriteLine($"stores kept: try `raftkit inspect {root}/node1`");
            }
            else
            {
                try
                {
                    Directory.Delete(root, recursive: true);
                }
                catch (IOException)
                {
                    Console.WriteLine($"could not delete {root}");
                }
            }
        }
    }

    /// <summary>One proposer loop per group, a progress line, and the numbers at the end.</summary>
    private sealed class Run(MultiRaftHost<KvNode, KvCommand, KvResponse, KvSnapshot>[] hosts, DemoOptions options)
    {
        private readonly string _value = new('x', options.PayloadBytes);
        private readonly List<long>[] _latencies = Enumerable.Range(0, options.Groups).Select(_ => new List<long>()).ToArray();
        private long _commits;
        private long _warmupCommits;
        private long _syncedAtStart;
        private TimeSpan _elapsed;
        private bool _measuring;

        public async Task ExecuteAsync()
        {
            using var stop = new CancellationTokenSource();
            var loops = new Task[options.Groups];
            for (int g = 0; g < loops.Length; g++)
            {
                loops[g] = ProposeLoopAsync((ulong)g, stop.Token);
            }

            // Warm up until every group has committed once (leaders elected), then measure.
            // The progress line refreshes on a timer: a cadence for the screen, not a wait for a condition.
            var warmup = Stopwatch.StartNew();
            using (var refresh = new PeriodicTimer(TimeSpan.FromMilliseconds(200)))
            {
                while (CountGroupsWithCommits() < options.Groups && warmup.Elapsed < TimeSpan.FromSeconds(30))
                {
                    Console.Write($"\relecting leaders: {CountGroupsWithCommits():N0}/{options.Groups:N0} groups committed   ");
                    await refresh.WaitForNextTickAsync().ConfigureAwait(false);
                }
            }

            Console.WriteLine($"\rleaders elected and first commit done in {warmup.Elapsed.TotalSeconds:F1} s                       ");
            _warmupCommits = Interlocked.Read(ref _commits);
            _syncedAtStart = SyncedWriteCounter.Current;
            foreach (var list in _latencies)
            {
                lock (list)
                {
                    list.Clear();
                }
            }

            _measuring = true;
            var clock = Stopwatch.StartNew();
            long lastCommits = 0;
            var lastTick = TimeSpan.Zero;
            using var progress = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
            while (clock.Elapsed < TimeSpan.FromSeconds(options.Seconds))
            {
                await progress.WaitForNextTickAsync().ConfigureAwait(false);
                long commits = Interlocked.Read(ref _commits) - _warmupCommits;
                var now = clock.Elapsed;
                double rate = (commits - lastCommits) / (now - lastTick).TotalSeconds;
                Console.Write($"\r[{now.TotalSeconds,5:F1} s] {commits,10:N0} commits  {rate,10:N0}/s  synced writes {SyncedWriteCounter.Current - _syncedAtStart,8:N0}   ");
                lastCommits = commits;
                lastTick = now;
            }

            _elapsed = clock.Elapsed;
            _measuring = false;
            Console.WriteLine();
            await stop.CancelAsync().ConfigureAwait(false);

            // A proposal whose fate is still open (its leader was cut off) need not hold the demo
            // up: stopping the hosts fails whatever is left.
            await Task.WhenAny(Task.WhenAll(loops), Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
        }

        public void Report(long _)
        {
            long commits = Interlocked.Read(ref _commits) - _warmupCommits;
            long synced = SyncedWriteCounter.Current - _syncedAtStart;
            var all = new List<long>();
            foreach (var list in _latencies)
            {
                lock (list)
                {
                    all.AddRange(list);
                }
            }

            all.Sort();
            double seconds = _elapsed.TotalSeconds;
            Console.WriteLine($"commits/s:        {commits / seconds,12:N0}   ({commits:N0} acknowledged in {seconds:F1} s)");
            Console.WriteLine($"commit latency:   p50 {Percentile(all, 0.50),8:F2} ms   p99 {Percentile(all, 0.99),8:F2} ms");
            Console.WriteLine($"synced writes/s:  {synced / seconds,12:N0}   (all {Nodes} stores; {(synced == 0 ? 0 : (double)commits * Nodes / synced):F1} replicated entries per fsync)");
            foreach (var host in hosts)
            {
                int leading = 0;
                for (ulong g = 0; g < (ulong)options.Groups; g++)
                {
                    if (host.GetMetricsAsync(g).GetAwaiter().GetResult().Role == RaftRole.Leader)
                    {
                        leading++;
                    }
                }

                var s = host.Statistics;
                Console.Write($"  node {host.NodeId}: leads {leading:N0} groups; ");
                Console.WriteLine($"{s.Rounds:N0} rounds, {s.StoreWrites:N0} store writes, {s.BatchesSent:N0} batches carrying {s.MessagesSent:N0} messages, {s.Elections:N0} elections");
            }
        }

        private static double Percentile(List<long> sorted, double q)
        {
            if (sorted.Count == 0)
            {
                return double.NaN;
            }

            long ticks = sorted[Math.Min(sorted.Count - 1, (int)(q * sorted.Count))];
            return ticks * 1000.0 / Stopwatch.Frequency;
        }

        private int CountGroupsWithCommits()
        {
            int n = 0;
            foreach (var list in _latencies)
            {
                lock (list)
                {
                    if (list.Count > 0)
                    {
                        n++;
                    }
                }
            }

            return n;
        }

        private async Task ProposeLoopAsync(ulong group, CancellationToken stop)
        {
            int target = (int)(group % (ulong)hosts.Length);
            var latencies = _latencies[group];
            long sequence = 0;
            while (!stop.IsCancellationRequested)
            {
                long started = Stopwatch.GetTimestamp();
                try
                {
                    await hosts[target].ProposeAsync(group, KvCommand.Set($"k{sequence++ % 16}", _value)).ConfigureAwait(false);
                    long elapsed = Stopwatch.GetTimestamp() - started;
                    Interlocked.Increment(ref _commits);
                    lock (latencies)
                    {
                        if (_measuring || latencies.Count == 0)
                        {
                            latencies.Add(elapsed);
                        }
                    }
                }
                catch (NotLeaderException e)
                {
                    target = e.LeaderHint is { } leader ? (int)leader - 1 : (target + 1) % hosts.Length;
                    if (e.LeaderHint is null)
                    {
                        await Task.Delay(20, CancellationToken.None).ConfigureAwait(false);
                    }
                }
                catch (ProposalDroppedException)
                {
                    await Task.Delay(5, CancellationToken.None).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>Sums the store's <c>raftkit.storage.synced_writes</c> counter across every store of the process.</summary>
    private sealed class SyncedWriteCounter : IDisposable
    {
        private static long _total;
        private readonly MeterListener _listener = new();

        public SyncedWriteCounter()
        {
            _listener.InstrumentPublished = static (instrument, listener) =>
            {
                if (instrument.Meter.Name == StorageMetrics.MeterName && instrument.Name == "raftkit.storage.synced_writes")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>(static (_, value, _, _) => Interlocked.Add(ref _total, value));
            _listener.Start();
        }

        public static long Current => Interlocked.Read(ref _total);

        public long Total => Current;

        public void Dispose() => _listener.Dispose();
    }
}
