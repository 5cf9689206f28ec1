using System.Collections.Concurrent;
using RaftToolkit.Core.Host;
using RaftToolkit.Core.Lifecycle;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Storage;
using RaftToolkit.Core.Transport;
using RaftToolkit.Native;
using RaftToolkit.Testing.KeyValue;
using RaftToolkit.Testing.Storage;

namespace RaftToolkit.Core.Tests.Host;

/// <summary>
/// Several hosts of the KV type configuration in one process over an <see cref="InMemoryNetwork"/>,
/// each with its own store (in memory, or RocksDB GroupPrefixed in a temp directory), and a
/// client that retries at the leader hint.
/// </summary>
internal sealed class HostCluster : IAsyncDisposable
{
    private readonly string? _directory;
    private readonly Func<ulong, MultiRaftHostOptions> _options;
    private readonly Func<ulong, IMultiGroupLogStore>? _storeFactory;

    private readonly Func<ulong, ITransport, ITransport>? _wrapTransport;

    /// <summary>Starts <paramref name="size"/> hosts, nodes 1 to <paramref name="size"/>.</summary>
    /// <param name="size">How many hosts.</param>
    /// <param name="rocksDb">RocksDB stores in a temp directory rather than in-memory ones.</param>
    /// <param name="options">Each node's host options (default: <see cref="FastOptions"/>).</param>
    /// <param name="storeFactory">In memory only: makes each node's store, given its node id.</param>
    /// <param name="wrapTransport">When set, what each node's host uses around its endpoint on <see cref="Network"/>.</param>
    public HostCluster(int size, bool rocksDb, Func<ulong, MultiRaftHostOptions>? options = null, Func<ulong, IMultiGroupLogStore>? storeFactory = null, Func<ulong, ITransport, ITransport>? wrapTransport = null)
    {
        _storeFactory = storeFactory;
        _wrapTransport = wrapTransport;
        _options = options ?? (id => FastOptions(id));
        if (rocksDb)
        {
            _directory = Path.Combine(Path.GetTempPath(), $"raftkit-host-{Guid.NewGuid():N}");
            Directory.CreateDirectory(_directory);
        }

        for (ulong id = 1; id <= (ulong)size; id++)
        {
            NodeIds.Add(id);
            Stores[id] = OpenStore(id);
            StartHost(id);
        }
    }

    public List<ulong> NodeIds { get; } = [];

    public InMemoryNetwork Network { get; } = new();

    public ConcurrentDictionary<ulong, MultiRaftHost<KvNode, KvCommand, KvResponse, KvSnapshot>> Hosts { get; } = new();

    public ConcurrentDictionary<ulong, IMultiGroupLogStore> Stores { get; } = new();

    /// <summary>When set, what each (node, group) runs around its in-memory state machine, given the node and group ids (read when the group starts).</summary>
    public Func<ulong, ulong, InMemoryStateMachine, IRaftStateMachine<KvResponse, KvSnapshot>>? WrapMachine { get; set; }

    /// <summary>The state machine of each (node, group) most recently created.</summary>
    public ConcurrentDictionary<(ulong Node, ulong Group), InMemoryStateMachine> StateMachines { get; } = new();

    public static MultiRaftHostOptions FastOptions(ulong id, int workers = 2, int tickMs = 20) => new()
    {
        NodeId = id,
        WorkerCount = workers,
        TickInterval = TimeSpan.FromMilliseconds(tickMs),
        Raft = new RaftConfig { ElectionTicks = 10, HeartbeatTicks = 2, RandomSeed = 0x5EED + id },
    };

    public IMultiGroupLogStore OpenStore(ulong id) => _directory is null
        ? _storeFactory?.Invoke(id) ?? new InMemoryMultiGroupLogStore()
        : RocksDbLogStore.Open(Path.Combine(_directory, $"node{id}"), new RocksDbLogStoreOptions { KeySpace = Native.Keys.LogKeySpace.GroupPrefixed, WriteBufferSize = 8UL << 20, BlockCacheSize = 8UL << 20 });

    public MultiRaftHost<KvNode, KvCommand, KvResponse, KvSnapshot> StartHost(ulong id)
    {
        var endpoint = Network.CreateTransport(id);
        var host = MultiRaftHost.Create(new KvTypeConfig(), _options(id), Stores[id], _wrapTransport?.Invoke(id, endpoint) ?? endpoint, group =>
        {
            var machine = new InMemoryStateMachine();
            StateMachines[(id, group)] = machine;
            return WrapMachine?.Invoke(id, group, machine) ?? machine;
        });
        Hosts[id] = host;
        return host;
    }

    public Task BootstrapFreshAsync(IEnumerable<ulong> groups)
    {
        var voters = NodeIds.ToArray();
        var tasks = new List<Task>();
        foreach (var host in Hosts.Values)
        {
            foreach (var group in groups)
            {
                tasks.Add(host.BootstrapAsync(group, BootstrapMode.Fresh(voters)));
            }
        }

        return Task.WhenAll(tasks);
    }

    /// <summary>Writes key = value to the group, following leader hints; returns once acknowledged.</summary>
    public async Task WriteAsync(ulong group, string key, string value, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        ulong target = NodeIds[(int)(group % (ulong)NodeIds.Count)];
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            if (!Hosts.TryGetValue(target, out var host) || host.Completion.IsCompleted)
            {
                target = Next(target);
                await Task.Delay(5);
                continue;
            }

            try
            {
                await host.ProposeAsync(group, KvCommand.Set(key, value)).WaitAsync(TimeSpan.FromSeconds(5));
                return;
            }
            catch (NotLeaderException e)
            {
                last = e;
                if (e.LeaderHint is { } hint && hint != target)
                {
                    target = hint;
                }
                else
                {
                    target = Next(target);
                    await Task.Delay(10);
                }
            }
            catch (Exception e) when (e is ProposalDroppedException or GroupNotHostedException or TimeoutException)
            {
                // Set is idempotent: retrying a proposal that may have committed is safe.
                last = e;
                target = Next(target);
                await Task.Delay(10);
            }
        }

        throw new TimeoutException($"Writing {key} to group {group} was not acknowledged within {timeout}.", last);
    }

    public static Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> describe) =>
        WaitUntilAsync(() => Task.FromResult(condition()), timeout, describe);

    /// <summary>Polls <paramref name="condition"/> (which may ask the hosts) until it holds; fails with <paramref name="describe"/> after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> describe)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Condition not met within {timeout}: {describe()}");
            }

            await Task.Delay(10);
        }
    }

    /// <summary>
    /// Polls <paramref name="condition"/> until it holds, failing with <paramref name="describe"/>
    /// once <paramref name="clock"/>'s timer has ticked <paramref name="ticks"/> times: a bound in
    /// the hosts' own time, which a loaded machine stretches for the hosts and the test alike.
    /// </summary>
    public static async Task WaitUntilWithinTicksAsync(MultiRaftHost<KvNode, KvCommand, KvResponse, KvSnapshot> clock, long ticks, Func<Task<bool>> condition, Func<string> describe)
    {
        long deadline = clock.TickSequence + ticks;
        while (!await condition())
        {
            if (clock.TickSequence > deadline)
            {
                throw new TimeoutException($"Condition not met within {ticks} ticks of node {clock.NodeId}: {describe()}");
            }

            await Task.Delay(5);
        }
    }

    /// <summary>Waits until no host ticked any group over three periods of its timer: every group is quiescent.</summary>
    public async Task WaitUntilNoGroupIsTickedAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        foreach (var host in Hosts.Values)
        {
            while (true)
            {
                long ticked = host.Statistics.TickedGroups;
                long sequence = host.TickSequence;
                await WaitUntilAsync(() => host.TickSequence >= sequence + 3, timeout, () => "the timer stopped");
                if (host.Statistics.TickedGroups == ticked)
                {
                    break;
                }

                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"Node {host.NodeId} still ticks groups after {timeout} ({host.Statistics.TickedGroups} ticks so far).");
                }
            }
        }
    }

    /// <summary>A node other than <paramref name="excluded"/> that leads <paramref name="group"/> now, if any.</summary>
    public async Task<ulong?> LeaderOtherThanAsync(ulong group, ulong excluded)
    {
        foreach (var id in NodeIds)
        {
            if (id != excluded && (await Hosts[id].GetMetricsAsync(group)).Role == RaftRole.Leader)
            {
                return id;
            }
        }

        return null;
    }

    /// <summary>Waits until a node other than <paramref name="excluded"/> leads <paramref name="group"/>, and returns it.</summary>
    public async Task<ulong> WaitForLeaderOtherThanAsync(ulong group, ulong excluded, TimeSpan timeout, string failure)
    {
        ulong? leader = null;
        await WaitUntilAsync(async () => (leader = await LeaderOtherThanAsync(group, excluded)) is not null, timeout, () => failure);
        return leader!.Value;
    }

    public async Task<ulong> WaitForLeaderAsync(ulong group, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            foreach (var (id, host) in Hosts)
            {
                if (host.Completion.IsCompleted || !host.IsHosted(group))
                {
                    continue;
                }

                try
                {
                    var metrics = await host.GetMetricsAsync(group);
                    if (metrics.Role == RaftRole.Leader)
                    {
                        return id;
                    }
                }
                catch (GroupNotHostedException)
                {
                }
            }

            await Task.Delay(10);
        }

        throw new TimeoutException($"Group {group} elected no leader within {timeout}.");
    }

    private ulong Next(ulong id)
    {
        int i = NodeIds.IndexOf(id);
        return NodeIds[(i + 1) % NodeIds.Count];
    }

    private bool _disposed;

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var host in Hosts.Values)
        {
            await host.DisposeAsync();
        }

        foreach (var store in Stores.Values)
        {
            await store.DisposeAsync();
        }

        if (_directory is not null)
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
