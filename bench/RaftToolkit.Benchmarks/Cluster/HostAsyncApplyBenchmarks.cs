using BenchmarkDotNet.Attributes;
using RaftToolkit.Core.Host;
using RaftToolkit.Core.Lifecycle;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Storage;
using RaftToolkit.Core.Transport;
using RaftToolkit.Testing.KeyValue;
using RaftToolkit.Testing.Storage;

namespace RaftToolkit.Benchmarks.Cluster;

/// <summary>
/// State machines that wait on their own I/O: one host with one worker leads G single-voter
/// groups over the in-memory log store, and every apply first awaits a 1 ms delay (a database
/// or file write of the application's). One operation proposes one entry to every group and
/// waits for all of them, so Mean ÷ G is the time per commit. A worker that applied its groups
/// one after another paid G delays a round; one that starts every apply before it waits for any
/// pays about one, whatever G.
/// </summary>
/// <remarks><c>dotnet run -c Release --project bench/RaftToolkit.Benchmarks -- --filter '*HostAsyncApply*'</c></remarks>
[Config(typeof(BenchConfig))]
public class HostAsyncApplyBenchmarks
{
    private static readonly TimeSpan ApplyIo = TimeSpan.FromMilliseconds(1);

    private MultiRaftHost<KvNode, KvCommand, KvResponse, KvSnapshot>? _host;
    private readonly List<Task<KvResponse>> _proposals = [];
    private KvCommand _command;

    [Params(16, 128)]
    public int Groups { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _command = KvCommand.Set("key", new string('v', 128));
        var options = new MultiRaftHostOptions
        {
            NodeId = 1,
            WorkerCount = 1,
            TickInterval = TimeSpan.FromMilliseconds(100),
            Raft = new RaftConfig { ElectionTicks = 20, HeartbeatTicks = 5 },
        };
        _host = MultiRaftHost.Create(new KvTypeConfig(), options, new InMemoryMultiGroupLogStore(), new InMemoryNetwork().CreateTransport(1), _ => new WaitingStateMachine());
        StartGroupsAsync(_host, Groups).GetAwaiter().GetResult();
    }

    /// <summary>Bootstraps every group with the host as its only voter, and waits until it leads each.</summary>
    private static async Task StartGroupsAsync(MultiRaftHost<KvNode, KvCommand, KvResponse, KvSnapshot> host, int groups)
    {
        using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        for (ulong g = 0; g < (ulong)groups; g++)
        {
            await host.BootstrapAsync(g, BootstrapMode.Fresh(1), patience.Token);
        }

        // Every group campaigns on its own timer meanwhile: waiting for them in turn waits about one election timeout in all.
        for (ulong g = 0; g < (ulong)groups; g++)
        {
            await foreach (var state in host.LeadershipEvents(g, patience.Token))
            {
                if (state.Role == LeadershipRole.Leader)
                {
                    break;
                }
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _host?.DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>One proposal to every group, all awaited.</summary>
    [Benchmark]
    public async Task ProposeToEveryGroup()
    {
        for (ulong g = 0; g < (ulong)Groups; g++)
        {
            _proposals.Add(_host!.ProposeAsync(g, _command));
        }

        await Task.WhenAll(_proposals);
        _proposals.Clear();
    }

    /// <summary>The in-memory key-value state machine behind a 1 ms wait per apply.</summary>
    private sealed class WaitingStateMachine() : DelegatingStateMachine<KvResponse, KvSnapshot>(new InMemoryStateMachine())
    {
        public override async ValueTask ApplyAsync(ReadOnlyMemory<ApplyItem<KvResponse>> items, CancellationToken cancellationToken = default)
        {
            await Task.Delay(ApplyIo, cancellationToken);
            await Inner.ApplyAsync(items, cancellationToken);
        }
    }
}
