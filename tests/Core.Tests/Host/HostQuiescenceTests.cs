using RaftToolkit.Core.Host;
using RaftToolkit.Core.Lifecycle;
using RaftToolkit.Core.Raft;
using RaftToolkit.Testing.KeyValue;
using Xunit;

namespace RaftToolkit.Core.Tests.Host;

/// <summary>Three hosts with quiescence on: idle groups leave the shared tick and come back on demand.</summary>
public sealed class HostQuiescenceTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static MultiRaftHostOptions Quiescing(ulong id) => new()
    {
        NodeId = id,
        WorkerCount = 2,
        TickInterval = TimeSpan.FromMilliseconds(10),
        Raft = new RaftConfig { ElectionTicks = 10, HeartbeatTicks = 2, QuiesceAfterTicks = 5, RandomSeed = 0x5EED + id },
    };

    [Fact]
    public async Task HostQuiescence_IdleGroupsStopBeingTickedAndAProposalWakesAndCommits()
    {
        await using var cluster = new HostCluster(3, rocksDb: false, Quiescing);
        ulong[] groups = [.. Enumerable.Range(1, 20).Select(g => (ulong)g)];
        await cluster.BootstrapFreshAsync(groups);
        foreach (var group in groups)
        {
            await cluster.WriteAsync(group, "k", "v", Patience);
        }

        await WaitUntilNoGroupIsTickedAsync(cluster);

        ulong leader = await cluster.WaitForLeaderAsync(groups[0], Patience);
        var host = cluster.Hosts[leader];
        long tickedBefore = host.Statistics.TickedGroups;
        await host.ProposeAsync(groups[0], KvCommand.Set("k", "woken")).WaitAsync(Patience);

        Assert.True(cluster.StateMachines[(leader, groups[0])].TryGetValue("k", out var value) && value == "woken");
        await HostCluster.WaitUntilAsync(() => host.Statistics.TickedGroups > tickedBefore, Patience, () => "the woken group never rejoined the tick");
        await WaitUntilNoGroupIsTickedAsync(cluster);
    }

    [Fact]
    public async Task HostQuiescence_WakeGroupsLetsTheFollowersElectANewLeaderWhenTheOldOneIsGone()
    {
        await using var cluster = new HostCluster(3, rocksDb: false, Quiescing);
        await cluster.BootstrapFreshAsync([9]);
        await cluster.WriteAsync(9, "k", "v", Patience);
        ulong leader = await cluster.WaitForLeaderAsync(9, Patience);
        await WaitUntilNoGroupIsTickedAsync(cluster);

        cluster.Network.Partitions.Isolate(leader);
        foreach (var id in cluster.NodeIds.Where(id => id != leader))
        {
            cluster.Hosts[id].WakeGroups(leader);
        }

        await HostCluster.WaitUntilAsync(
            () => cluster.NodeIds.Any(id => id != leader && cluster.Hosts[id].GetMetricsAsync(9).Result.Role == RaftRole.Leader),
            Patience,
            () => "no follower took over after being woken");
    }

    /// <summary>Waits until no host ticked any group over three periods of its timer.</summary>
    private static async Task WaitUntilNoGroupIsTickedAsync(HostCluster cluster)
    {
        var deadline = DateTime.UtcNow + Patience;
        foreach (var host in cluster.Hosts.Values)
        {
            while (true)
            {
                long ticked = host.Statistics.TickedGroups;
                long sequence = host.TickSequence;
                await HostCluster.WaitUntilAsync(() => host.TickSequence >= sequence + 3, Patience, () => "the timer stopped");
                if (host.Statistics.TickedGroups == ticked)
                {
                    break;
                }

                Assert.True(DateTime.UtcNow < deadline, $"node {host.NodeId} still ticks groups ({host.Statistics.TickedGroups} ticks so far)");
            }
        }
    }
}
