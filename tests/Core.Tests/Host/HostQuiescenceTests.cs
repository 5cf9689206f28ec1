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

    /// <summary>Quiescing hosts whose own peer failure detector is off.</summary>
    private static MultiRaftHostOptions QuiescingWithoutDetector(ulong id)
    {
        var options = Quiescing(id);
        options.PeerSilenceTicks = 0;
        return options;
    }

    /// <summary>Bootstraps <paramref name="groups"/>, writes to each, and waits until every group is quiescent; returns each group's leader.</summary>
    private static async Task<Dictionary<ulong, ulong>> QuiesceAsync(HostCluster cluster, ulong[] groups)
    {
        await cluster.BootstrapFreshAsync(groups);
        var leaders = new Dictionary<ulong, ulong>();
        foreach (var group in groups)
        {
            await cluster.WriteAsync(group, "k", "v", Patience);
            leaders[group] = await cluster.WaitForLeaderAsync(group, Patience);
        }

        await WaitUntilNoGroupIsTickedAsync(cluster);
        return leaders;
    }

    [Fact]
    public async Task HostQuiescence_WhenALeadersHostFallsSilentTheDetectorWakesItsGroupsAndTheyElectANewLeader()
    {
        await using var cluster = new HostCluster(3, rocksDb: false, Quiescing);
        ulong[] groups = [.. Enumerable.Range(1, 12).Select(g => (ulong)g)];
        var leaders = await QuiesceAsync(cluster, groups);
        ulong victim = leaders[groups[0]];

        // Nobody calls WakeGroups: the hosts' pings are the only failure signal.
        cluster.Network.Partitions.Isolate(victim);
        foreach (var group in groups.Where(g => leaders[g] == victim))
        {
            await cluster.WaitForLeaderOtherThanAsync(group, victim, Patience, $"group {group} never replaced its silent leader {victim}");
        }

        // The survivors keep serving the groups the silent host led.
        await cluster.WriteAsync(groups[0], "k", "after", Patience);
    }

    [Fact]
    public void HostQuiescence_TheDetectorDefaultsToTheElectionTimeoutAndRejectsNegativeSilence()
    {
        var options = Quiescing(1);
        Assert.Equal(options.Raft.ElectionTicks, options.EffectivePeerSilenceTicks);
        options.Raft = new RaftConfig { ElectionTicks = 10, HeartbeatTicks = 2 };
        Assert.Equal(0, options.EffectivePeerSilenceTicks);

        options = Quiescing(1);
        options.PeerSilenceTicks = -1;
        Assert.Throws<ArgumentException>(options.Validate);
    }

    [Fact]
    public async Task HostQuiescence_WithTheDetectorOffAQuiescentFollowerNeverNoticesItsLeaderIsGone()
    {
        await using var cluster = new HostCluster(3, rocksDb: false, QuiescingWithoutDetector);
        var leaders = await QuiesceAsync(cluster, [5]);
        ulong victim = leaders[5];
        cluster.Network.Partitions.Isolate(victim);

        // Five election timeouts: a ticking follower would have campaigned several times over.
        var host = cluster.Hosts[cluster.NodeIds.First(id => id != victim)];
        long start = host.TickSequence;
        await HostCluster.WaitUntilAsync(() => host.TickSequence >= start + 50, Patience, () => "the timer stopped");

        Assert.True(await cluster.LeaderOtherThanAsync(5, victim) is null, "a quiescent follower elected a leader with nothing to wake it");
        Assert.Equal(victim, (await host.GetMetricsAsync(5)).Leader);
    }

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
        await using var cluster = new HostCluster(3, rocksDb: false, QuiescingWithoutDetector);
        await cluster.BootstrapFreshAsync([9]);
        await cluster.WriteAsync(9, "k", "v", Patience);
        ulong leader = await cluster.WaitForLeaderAsync(9, Patience);
        await WaitUntilNoGroupIsTickedAsync(cluster);

        cluster.Network.Partitions.Isolate(leader);
        foreach (var id in cluster.NodeIds.Where(id => id != leader))
        {
            cluster.Hosts[id].WakeGroups(leader);
        }

        await cluster.WaitForLeaderOtherThanAsync(9, leader, Patience, "no follower took over after being woken");
    }

    /// <summary>
    /// A call to a quiescent follower wakes its node even when the follower refuses it (it is not
    /// the leader); the host must put the woken group back on the tick, or it would never count
    /// the silence of a leader that dies next, and the detector, which wakes only quiescent
    /// groups, would pass it by: with every follower asked, the group would stay leaderless.
    /// </summary>
    [Theory]
    [InlineData("propose")]
    [InlineData("membership change")]
    [InlineData("transfer leadership")]
    public async Task HostQuiescence_FollowersThatRefusedACallStillElectWhenTheLeaderFallsSilent(string call)
    {
        await using var cluster = new HostCluster(3, rocksDb: false, Quiescing);
        await cluster.BootstrapFreshAsync([5]);
        await cluster.WriteAsync(5, "k", "v", Patience);
        ulong leader = await cluster.WaitForLeaderAsync(5, Patience);
        await WaitUntilNoGroupIsTickedAsync(cluster);

        foreach (var id in cluster.NodeIds.Where(id => id != leader))
        {
            var host = cluster.Hosts[id];
            switch (call)
            {
                case "propose":
                    await Assert.ThrowsAsync<NotLeaderException>(() => host.ProposeAsync(5, KvCommand.Set("k", "refused")));
                    break;
                case "membership change":
                    Assert.Equal(MembershipChangeStatus.NotLeader, (await host.ProposeMembershipChangeAsync(5, MembershipChange.AddLearners(9))).Status);
                    break;
                default:
                    Assert.Equal(TransferLeadershipResult.NotLeader, (await host.StartTransferAsync(5, id)).Result);
                    break;
            }
        }

        cluster.Network.Partitions.Isolate(leader);
        await cluster.WaitForLeaderOtherThanAsync(5, leader, Patience, $"group 5 never replaced its silent leader {leader} after its followers refused a {call}");
    }

    private static Task WaitUntilNoGroupIsTickedAsync(HostCluster cluster) => cluster.WaitUntilNoGroupIsTickedAsync(Patience);
}
