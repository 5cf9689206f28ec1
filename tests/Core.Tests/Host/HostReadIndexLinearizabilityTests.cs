using System.Collections.Concurrent;
using System.Globalization;
using RaftToolkit.Core.Host;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Testing.KeyValue;
using RaftToolkit.Testing.Linearizability;
using RaftToolkit.Testing.Storage;
using Xunit;
using Xunit.Abstractions;

namespace RaftToolkit.Core.Tests.Host;

/// <summary>
/// Clients write through proposals and read through ReadIndexAsync at any replica while nodes
/// are isolated and reconnected, with snapshots and purges on; the recorded history must be
/// linearizable. The seed picks the faults and the clients' choices (threads still interleave
/// freely): RAFTKIT_SEED=n replays a seed's schedule. With slow applies, state machines also
/// wait up to three ticks in some applies, so that the workers park them (and serve the read
/// indexes of a parked group only once its apply ended).
/// </summary>
public sealed class HostReadIndexLinearizabilityTests(ITestOutputHelper output)
{
    private const ulong Group = 11;
    private const int TickMs = 20;
    private static readonly string[] Keys = ["a", "b", "c", "d"];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task HostReadIndex_ReadsAndWritesUnderIsolationsAndSnapshotsAreLinearizable(bool slowApplies)
    {
        int seed = Environment.GetEnvironmentVariable("RAFTKIT_SEED") is { } text
            ? int.Parse(text, CultureInfo.InvariantCulture)
            : Random.Shared.Next(1, 1_000_000);
        output.WriteLine($"seed {seed}; replay: RAFTKIT_SEED={seed} dotnet test tests/Core.Tests --filter \"FullyQualifiedName~HostReadIndexLinearizabilityTests\"");
        var machines = new ConcurrentBag<SlowApplyStateMachine>();

        await using var cluster = new HostCluster(3, rocksDb: true, id =>
        {
            var options = HostCluster.FastOptions(id, tickMs: TickMs);
            options.SnapshotAfterEntries = 10;
            options.PurgeKeepEntries = 3;
            return options;
        });
        if (slowApplies)
        {
            cluster.WrapMachine = (node, _, machine) =>
            {
                var slow = new SlowApplyStateMachine(machine, new Random(seed ^ (int)node << 8), TickMs);
                machines.Add(slow);
                return slow;
            };
        }

        await cluster.BootstrapFreshAsync([Group]);
        await cluster.WaitForLeaderAsync(Group, TimeSpan.FromSeconds(30));

        var history = new HistoryRecorder<KvCommand, KvResponse>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(4));
        var clients = Enumerable.Range(0, 3).Select(c => RunClientAsync(cluster, history, c, new Random(seed * 31 + c), stop.Token)).ToList();
        var faults = new Random(seed);
        while (!stop.IsCancellationRequested)
        {
            cluster.Network.Partitions.Heal();
            if (faults.Next(3) > 0)
            {
                cluster.Network.Partitions.Isolate(cluster.NodeIds[faults.Next(cluster.NodeIds.Count)]);
            }

            // The hosts run on real timers (elections, heartbeats), so a fault lasts real time:
            // 150-400 ms spans one to several election timeouts of the fast options.
            try
            {
                await Task.Delay(faults.Next(150, 400), stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }

        cluster.Network.Partitions.Heal();
        await Task.WhenAll(clients);
        var operations = history.Snapshot();
        long reads = operations.Count(o => o.Input.Operation == KvOperation.Get && !o.IsAmbiguous);
        long writes = operations.Count(o => o.Input.Operation == KvOperation.Set && !o.IsAmbiguous);
        long installs = cluster.Hosts.Values.Sum(h => h.Statistics.SnapshotsInstalled);
        long parked = cluster.Hosts.Values.Sum(h => h.Statistics.AppliesParked);
        output.WriteLine($"{operations.Count} operations: {writes} acknowledged writes, {reads} served reads, {operations.Count(o => o.IsAmbiguous)} ambiguous; {installs} snapshot installs; {parked} applies parked");

        var result = LinearizabilityChecker.Check(KeyValueModel.Instance, operations);
        Assert.True(result.Verdict != LinearizabilityVerdict.NotLinearizable, $"seed {seed}: {result.Describe()}");
        Assert.True(reads > 0 && writes > 0, $"seed {seed}: the clients got nothing done ({reads} reads, {writes} writes)");
        if (slowApplies)
        {
            Assert.True(parked > 0, $"seed {seed}: no apply was slow enough to be parked");
            Assert.All(machines, machine => Assert.True(machine.Calls.InOrderOneAtATime, $"seed {seed}: a state machine was called {machine.Calls.Describe()}"));
        }
    }

    /// <summary>
    /// A state machine that waits, in about a third of its applies, up to three ticks before it
    /// applies, and records how the host calls it (<see cref="Calls"/>).
    /// </summary>
    private sealed class SlowApplyStateMachine(InMemoryStateMachine inner, Random random, int tickMs) : DelegatingStateMachine<KvResponse, KvSnapshot>(inner)
    {
        public ApplyCallRecorder Calls { get; } = new();

        public override async ValueTask ApplyAsync(ReadOnlyMemory<ApplyItem<KvResponse>> items, CancellationToken cancellationToken = default)
        {
            using var _ = Calls.Enter();
            int wait;
            lock (random)
            {
                wait = random.Next(3) == 0 ? random.Next(tickMs * 3) : 0;
            }

            if (wait > 0)
            {
                // The application's own I/O, which the hosts' real timers run beside.
                await Task.Delay(wait, cancellationToken);
            }

            Calls.Applying(items.Span);
            await Inner.ApplyAsync(items, cancellationToken);
        }

        public override ValueTask InstallSnapshotAsync(SnapshotMeta meta, KvSnapshot snapshot, CancellationToken cancellationToken = default)
        {
            Calls.Installed(meta.LastLogId);
            return Inner.InstallSnapshotAsync(meta, snapshot, cancellationToken);
        }
    }

    private static async Task RunClientAsync(HostCluster cluster, HistoryRecorder<KvCommand, KvResponse> history, int client, Random random, CancellationToken stop)
    {
        int sequence = 0;
        while (!stop.IsCancellationRequested)
        {
            string key = Keys[random.Next(Keys.Length)];
            ulong node = cluster.NodeIds[random.Next(cluster.NodeIds.Count)];
            var host = cluster.Hosts[node];
            if (random.Next(2) == 0)
            {
                var command = KvCommand.Set(key, $"{client}-{sequence++}");
                int handle = history.Call(client, command);
                try
                {
                    var response = await host.ProposeAsync(Group, command).WaitAsync(TimeSpan.FromSeconds(2));
                    history.Return(handle, response);
                }
                catch (Exception e) when (e is NotLeaderException or ProposalDroppedException or TimeoutException or GroupNotHostedException)
                {
                    // Unknown outcome (a NotLeader refusal is certain, but ambiguous is never wrong).
                    // A client backs off after a refusal: retrying at once while no leader is known
                    // would only pile up ambiguous operations for the checker to search through.
                    history.Abandon(handle);
                    await Task.Delay(5, CancellationToken.None);
                }
            }
            else
            {
                var command = KvCommand.Get(key);
                int handle = history.Call(client, command);
                try
                {
                    await host.ReadIndexAsync(Group).WaitAsync(TimeSpan.FromSeconds(2));
                    cluster.StateMachines[(node, Group)].TryGetValue(key, out var value);
                    history.Return(handle, new KvResponse(value));
                }
                catch (Exception e) when (e is NotLeaderException or ReadIndexException or TimeoutException or GroupNotHostedException)
                {
                    history.Abandon(handle);
                    await Task.Delay(5, CancellationToken.None); // backs off, as after a refused write
                }
            }
        }
    }
}
