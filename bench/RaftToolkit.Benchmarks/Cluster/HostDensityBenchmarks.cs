using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using RaftToolkit.Benchmarks.Store;
using RaftToolkit.Core.Host;
using RaftToolkit.Core.Lifecycle;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Transport;
using RaftToolkit.Native;
using RaftToolkit.Native.Keys;
using RaftToolkit.Testing.KeyValue;
using RaftToolkit.Testing.Storage;

namespace RaftToolkit.Benchmarks.Cluster;

/// <summary>
/// Density: 100,000 idle groups per host. Setup prints managed bytes per idle group replica
/// (GC.GetTotalMemory before and after bootstrapping, store state included) and the CPU the idle
/// host burns per second; the benchmark measures one commit on a single-voter group next to the
/// idle ones.
/// <list type="bullet">
/// <item><c>Quiescence = false</c>: one host whose groups are followers of a three-voter membership
/// whose other voters are elsewhere, election timeouts far beyond the run: every group is ticked.</item>
/// <item><c>Quiescence = true</c>: three hosts in the process (nodes 1-3, one RocksDB each) running
/// the same 100,000 three-voter groups with <see cref="RaftConfig.QuiesceAfterTicks"/> on; node 1
/// leads every group, writes stop, and the groups go quiescent: the tick visits none of them.
/// Numbers are per replica (memory and CPU of the whole process divided by 300,000).</item>
/// </list>
/// </summary>
[Config(typeof(BenchConfig))]
public class HostDensityBenchmarks
{
    private const int IdleGroups = 100_000;
    private const ulong BusyGroup = ulong.MaxValue - 1;
    private StoreBenchEnvironment? _env;
    private readonly List<RocksDbLogStore> _stores = [];
    private readonly List<MultiRaftHost<KvNode, KvCommand, KvResponse, KvSnapshot>> _hosts = [];
    private MultiRaftHost<KvNode, KvCommand, KvResponse, KvSnapshot>? _host;
    private readonly KvCommand _command = KvCommand.Set("key", new string('v', 128));

    /// <summary>Whether idle groups may go quiescent (see the class summary).</summary>
    [Params(false, true)]
    public bool Quiescence { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _env = new StoreBenchEnvironment();
        var network = new InMemoryNetwork();
        int hostCount = Quiescence ? 3 : 1;
        for (ulong id = 1; id <= (ulong)hostCount; id++)
        {
            var store = RocksDbLogStore.Open(_env.Path($"density{id}"), new RocksDbLogStoreOptions { KeySpace = LogKeySpace.GroupPrefixed });
            _stores.Add(store);
            var options = new MultiRaftHostOptions
            {
                NodeId = id,
                TickInterval = TimeSpan.FromSeconds(1),
                Raft = Quiescence
                    ? new RaftConfig { ElectionTicks = 30, HeartbeatTicks = 1, QuiesceAfterTicks = 2 }
                    : new RaftConfig { ElectionTicks = 1_000_000, HeartbeatTicks = 1 },
            };
            _hosts.Add(MultiRaftHost.Create(new KvTypeConfig(), options, store, network.CreateTransport(id), _ => new InMemoryStateMachine()));
        }

        _host = _hosts[0];
        long before = GC.GetTotalMemory(forceFullCollection: true);
        const int Chunk = 10_000;
        for (int start = 0; start < IdleGroups; start += Chunk)
        {
            var chunk = new List<Task>(Chunk * hostCount);
            foreach (var host in _hosts)
            {
                for (int i = 0; i < Chunk; i++)
                {
                    chunk.Add(host.BootstrapAsync((ulong)(start + i), BootstrapMode.Fresh(1, 2, 3)));
                }
            }

            Task.WaitAll([.. chunk]);
        }

        var settle = Stopwatch.StartNew();
        if (Quiescence)
        {
            // Node 1 leads every group; once each leader committed its first entry and its
            // followers hold it, the groups go quiet and leave the tick.
            var campaigns = new Task<bool>[IdleGroups];
            for (int g = 0; g < IdleGroups; g++)
            {
                campaigns[g] = _host.CampaignAsync((ulong)g);
            }

            Task.WaitAll(campaigns);
            WaitUntilNoGroupIsTicked(TimeSpan.FromMinutes(3));
        }

        long after = GC.GetTotalMemory(forceFullCollection: true);
        int replicas = IdleGroups * hostCount;
        Console.WriteLine($"// HostDensity(Quiescence={Quiescence}): {IdleGroups:N0} idle groups on {hostCount} host(s), settled in {settle.Elapsed.TotalSeconds:N1} s, managed memory per idle group replica = {(after - before) / (double)replicas:N0} bytes");

        long tickedBefore = TickedGroups();
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();

        // The measurement is the CPU the process burns while wall time passes with nothing to
        // do, so this benchmark really must let five seconds of real time go by.
        Thread.Sleep(TimeSpan.FromSeconds(5));
        process.Refresh();
        double cpuMs = (process.TotalProcessorTime - cpuBefore).TotalMilliseconds;
        Console.WriteLine($"// HostDensity(Quiescence={Quiescence}): idle CPU = {cpuMs / wall.Elapsed.TotalSeconds:N1} ms per second with a 1 s tick over {replicas:N0} group replicas ({cpuMs * 1e6 / wall.Elapsed.TotalSeconds / replicas:N0} ns per replica per second); group ticks in those 5 s: {TickedGroups() - tickedBefore:N0}");

        _host.BootstrapAsync(BusyGroup, BootstrapMode.Fresh(1)).GetAwaiter().GetResult();
        _host.CampaignAsync(BusyGroup).GetAwaiter().GetResult();
        _host.ProposeAsync(BusyGroup, _command).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var host in _hosts)
        {
            host.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        foreach (var store in _stores)
        {
            store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        _env?.Dispose();
    }

    private long TickedGroups()
    {
        long total = 0;
        foreach (var host in _hosts)
        {
            total += host.Statistics.TickedGroups;
        }

        return total;
    }

    /// <summary>Waits until three seconds (three ticks) pass without any host ticking a group.</summary>
    private void WaitUntilNoGroupIsTicked(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            long ticked = TickedGroups();

            // The host's real 1 s timer drives the ticks: three real seconds are three ticks.
            Thread.Sleep(TimeSpan.FromSeconds(3));
            if (TickedGroups() == ticked)
            {
                return;
            }
        }

        throw new TimeoutException($"The idle groups still tick after {timeout}.");
    }

    [Benchmark]
    public Task<KvResponse> CommitOnOneGroupAmongManyIdle() => _host!.ProposeAsync(BusyGroup, _command);
}
