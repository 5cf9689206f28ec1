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
/// Density: one host with 100,000 idle groups (followers of a three-voter membership whose
/// other voters are elsewhere; election timeouts far beyond the run, as quiescence would make
/// them). Setup prints managed bytes per idle group (GC.GetTotalMemory before and after
/// bootstrapping, store state included) and the CPU the idle host burns per second; the
/// benchmark measures one commit on a single-voter group next to the idle ones.
/// </summary>
[Config(typeof(BenchConfig))]
public class HostDensityBenchmarks
{
    private const int IdleGroups = 100_000;
    private const ulong BusyGroup = ulong.MaxValue - 1;
    private StoreBenchEnvironment? _env;
    private RocksDbLogStore? _store;
    private MultiRaftHost<KvNode, KvCommand, KvResponse, KvSnapshot>? _host;
    private readonly KvCommand _command = KvCommand.Set("key", new string('v', 128));

    [GlobalSetup]
    public void Setup()
    {
        _env = new StoreBenchEnvironment();
        _store = RocksDbLogStore.Open(_env.Path("density"), new RocksDbLogStoreOptions { KeySpace = LogKeySpace.GroupPrefixed });
        var network = new InMemoryNetwork();
        var options = new MultiRaftHostOptions
        {
            NodeId = 1,
            TickInterval = TimeSpan.FromSeconds(1),
            Raft = new RaftConfig { ElectionTicks = 1_000_000, HeartbeatTicks = 1 },
        };
        _host = MultiRaftHost.Create(new KvTypeConfig(), options, _store, network.CreateTransport(1), _ => new InMemoryStateMachine());

        long before = GC.GetTotalMemory(forceFullCollection: true);
        const int Chunk = 10_000;
        for (int start = 0; start < IdleGroups; start += Chunk)
        {
            var chunk = new Task[Chunk];
            for (int i = 0; i < Chunk; i++)
            {
                chunk[i] = _host.BootstrapAsync((ulong)(start + i), BootstrapMode.Fresh(1, 2, 3));
            }

            Task.WaitAll(chunk);
        }

        long after = GC.GetTotalMemory(forceFullCollection: true);
        Console.WriteLine($"// HostDensity: {IdleGroups:N0} idle groups, managed memory per idle group = {(after - before) / (double)IdleGroups:N0} bytes");

        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        Thread.Sleep(TimeSpan.FromSeconds(5));
        process.Refresh();
        double cpuMs = (process.TotalProcessorTime - cpuBefore).TotalMilliseconds;
        Console.WriteLine($"// HostDensity: idle CPU = {cpuMs / wall.Elapsed.TotalSeconds:N1} ms per second with a 1 s tick over {IdleGroups:N0} groups ({cpuMs * 1e6 / wall.Elapsed.TotalSeconds / IdleGroups:N0} ns per group per second)");

        _host.BootstrapAsync(BusyGroup, BootstrapMode.Fresh(1)).GetAwaiter().GetResult();
        _host.CampaignAsync(BusyGroup).GetAwaiter().GetResult();
        _host.ProposeAsync(BusyGroup, _command).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _host?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _store?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _env?.Dispose();
    }

    [Benchmark]
    public Task<KvResponse> CommitOnOneGroupAmongManyIdle() => _host!.ProposeAsync(BusyGroup, _command);
}
