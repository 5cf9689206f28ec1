using RaftToolkit.Core.Host;
using RaftToolkit.Core.Lifecycle;
using RaftToolkit.Core.Raft;
using RaftToolkit.Testing.KeyValue;
using Xunit;

namespace RaftToolkit.Core.Tests.Host;

/// <summary>
/// The host's membership helpers over three voter hosts (nodes 1-3) and one spare host (node 4)
/// that joins the group, in memory.
/// </summary>
public sealed class HostMembershipTests
{
    private const ulong Group = 5;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task AddLearner_NonBlocking_CompletesWithTheLearnerAndItsNodeDataInTheCommittedMembership()
    {
        await using var cluster = new HostCluster(4, rocksDb: false);
        var leader = await StartAsync(cluster);

        await leader.AddLearnerAsync(Group, 4, new KvNode("node-4:7000"), blocking: false).WaitAsync(Patience);

        var membership = await leader.GetMembershipAsync(Group);
        Assert.False(membership.Membership.IsJoint);
        Assert.Equal([1UL, 2, 3], membership.Membership.Voters);
        Assert.Equal([4UL], membership.Membership.Learners);
        Assert.Equal(new KvNode("node-4:7000"), leader.Types.GetNode(membership.Membership, 4));
        var metrics = await leader.GetMetricsAsync(Group);
        Assert.True(metrics.Committed!.Value.Index >= membership.LogId!.Value.Index, "the learner's entry is committed when the call completes");
    }

    [Fact]
    public async Task AddLearner_Blocking_CompletesOnlyOnceTheLearnerHoldsTheLeadersCommittedLog()
    {
        await using var cluster = new HostCluster(4, rocksDb: false);
        var leader = await StartAsync(cluster);
        for (int i = 0; i < 50; i++)
        {
            await cluster.WriteAsync(Group, $"k{i}", "v", Patience);
        }

        await leader.AddLearnerAsync(Group, 4, new KvNode("node-4"), blocking: true).WaitAsync(Patience);

        // Read right away: blocking means the learner already holds everything committed, the learner entry included.
        var leaderCommitted = (await leader.GetMetricsAsync(Group)).Committed!.Value;
        var learner = await cluster.Hosts[4].GetMetricsAsync(Group);
        Assert.Equal(RaftRole.Learner, learner.Role);
        Assert.True(learner.LastLogId is { } last && last.Index >= leaderCommitted.Index, $"learner at {learner.LastLogId}, leader committed {leaderCommitted}");
    }

    [Fact]
    public async Task ChangeMembership_PromotesALearnerToVoterAndCompletesWithTheUniformConfigurationCommitted()
    {
        await using var cluster = new HostCluster(4, rocksDb: false);
        var leader = await StartAsync(cluster);
        await leader.AddLearnerAsync(Group, 4, new KvNode("node-4"), blocking: true).WaitAsync(Patience);

        await leader.ChangeMembershipAsync(Group, [1, 2, 3, 4], retain: false).WaitAsync(Patience);

        var membership = await leader.GetMembershipAsync(Group);
        Assert.False(membership.Membership.IsJoint);
        Assert.Equal([1UL, 2, 3, 4], membership.Membership.Voters);
        Assert.Equal(new KvNode("node-4"), leader.Types.GetNode(membership.Membership, 4));
        Assert.True((await leader.GetMetricsAsync(Group)).Committed!.Value.Index >= membership.LogId!.Value.Index);
        await HostCluster.WaitUntilAsync(async () => (await cluster.Hosts[4].GetMetricsAsync(Group)).Role == RaftRole.Follower, Patience, () => "node 4 never became a follower");
        await cluster.WriteAsync(Group, "after", "promotion", Patience);
    }

    /// <summary>Node id 0 means "no node": a voter 0 could never answer, and the joint configuration naming it would never commit.</summary>
    [Fact]
    public async Task ChangeMembership_NamingNodeIdZeroIsRefusedAndChangesNothing()
    {
        await using var cluster = new HostCluster(4, rocksDb: false);
        var leader = await StartAsync(cluster);
        var before = await leader.GetMembershipAsync(Group);

        Assert.Throws<ArgumentException>(() => { _ = leader.ChangeMembershipAsync(Group, [1, 2, 3, 0], retain: false); });
        Assert.Throws<ArgumentException>(() => MembershipChange.AddVoters(0));
        Assert.Throws<ArgumentException>(() => BootstrapMode.Fresh(1, 0));

        Assert.Equal(before, await leader.GetMembershipAsync(Group));
        await leader.AddLearnerAsync(Group, 4, new KvNode("node-4:7000"), blocking: false).WaitAsync(Patience);
    }

    [Fact]
    public async Task ChangeMembership_WithRetain_KeepsTheRemovedVoterAsALearner()
    {
        await using var cluster = new HostCluster(3, rocksDb: false);
        var leader = await StartAsync(cluster);
        ulong removed = cluster.NodeIds.First(id => id != leader.NodeId);
        var remaining = cluster.NodeIds.Where(id => id != removed).ToArray();

        await leader.ChangeMembershipAsync(Group, remaining, retain: true).WaitAsync(Patience);

        var membership = (await leader.GetMembershipAsync(Group)).Membership;
        Assert.False(membership.IsJoint);
        Assert.Equal(remaining, membership.Voters);
        Assert.Equal([removed], membership.Learners);
        await HostCluster.WaitUntilAsync(async () => (await cluster.Hosts[removed].GetMetricsAsync(Group)).Role == RaftRole.Learner, Patience, () => $"node {removed} never became a learner");
    }

    [Fact]
    public async Task ChangeMembership_WithoutRetain_RemovesTheVoterFromTheGroup()
    {
        await using var cluster = new HostCluster(3, rocksDb: false);
        var leader = await StartAsync(cluster);
        ulong removed = cluster.NodeIds.First(id => id != leader.NodeId);
        var remaining = cluster.NodeIds.Where(id => id != removed).ToArray();

        await leader.ChangeMembershipAsync(Group, remaining, retain: false).WaitAsync(Patience);

        var membership = (await leader.GetMembershipAsync(Group)).Membership;
        Assert.False(membership.IsJoint);
        Assert.Equal(remaining, membership.Voters);
        Assert.False(membership.Contains(removed));
        Assert.Empty(membership.Learners);
        await cluster.WriteAsync(Group, "after", "removal", Patience);
    }

    [Fact]
    public async Task ChangeMembership_OnAFollower_FailsWithNotLeaderNamingTheLeader()
    {
        await using var cluster = new HostCluster(3, rocksDb: false);
        var leader = await StartAsync(cluster);
        var follower = cluster.Hosts[cluster.NodeIds.First(id => id != leader.NodeId)];
        await HostCluster.WaitUntilAsync(async () => (await follower.GetMetricsAsync(Group)).Leader == leader.NodeId, Patience, () => "the follower never learned the leader");

        var error = await Assert.ThrowsAsync<MembershipException>(() => follower.ChangeMembershipAsync(Group, [leader.NodeId], retain: false));

        Assert.Equal(MembershipErrorKind.NotLeader, error.Kind);
        Assert.Equal(leader.NodeId, error.LeaderHint);
        Assert.Equal(Group, error.GroupId);
    }

    [Fact]
    public async Task ChangeMembership_WhileAnotherChangeIsInProgress_FailsWithConflict()
    {
        await using var cluster = new HostCluster(4, rocksDb: false);
        var leader = await StartAsync(cluster);

        // Cut the leader off so the first change cannot commit while the second one is asked.
        cluster.Network.Partitions.Isolate(leader.NodeId);
        using var giveUp = new CancellationTokenSource(Patience);
        var first = leader.AddLearnerAsync(Group, 4, new KvNode("node-4"), blocking: false, giveUp.Token);
        var error = await Assert.ThrowsAsync<MembershipException>(() => leader.ChangeMembershipAsync(Group, [1, 2, 3, 4], retain: false));

        Assert.Equal(MembershipErrorKind.Conflict, error.Kind);
        cluster.Network.Partitions.Heal();
        await Record.ExceptionAsync(() => first);
    }

    /// <summary>
    /// The leader that accepted a change is cut off before it commits; a new leader writes its own
    /// entry at the change's index. Once the old leader rejoins and its log takes the new
    /// leader's entries, the change can never commit: the call fails, neither succeeding nor
    /// waiting for ever.
    /// </summary>
    [Fact]
    public async Task AddLearner_WhoseEntryAnotherLeaderReplacedAtItsIndex_FailsWithOther()
    {
        await using var cluster = new HostCluster(4, rocksDb: false);
        var oldLeader = await StartAsync(cluster);
        cluster.Network.Partitions.Isolate(oldLeader.NodeId);
        using var giveUp = new CancellationTokenSource(Patience * 2);
        var change = oldLeader.AddLearnerAsync(Group, 4, new KvNode("node-4"), blocking: false, giveUp.Token);
        await HostCluster.WaitUntilAsync(
            async () => await oldLeader.GetMetricsAsync(Group) is { LastLogId: { } last, Committed: { } committed } && last.Index > committed.Index,
            Patience,
            () => "the cut-off leader never appended the learner's entry");

        ulong newLeader = await cluster.WaitForLeaderOtherThanAsync(Group, oldLeader.NodeId, Patience, "the connected voters never elected a new leader");
        await cluster.Hosts[newLeader].ProposeAsync(Group, KvCommand.Set("k", "new leader")).WaitAsync(Patience);
        cluster.Network.Partitions.Heal();

        var error = await Assert.ThrowsAsync<MembershipException>(() => change.WaitAsync(Patience));

        Assert.Equal(MembershipErrorKind.Other, error.Kind);
        Assert.Contains("replaced by another leader's entries", error.Message, StringComparison.Ordinal);
        Assert.False((await cluster.Hosts[newLeader].GetMembershipAsync(Group)).Membership.Contains(4), "node 4 joined though its entry was replaced");
    }

    [Fact]
    public async Task ChangeMembership_ToAnEmptyVoterSet_FailsWithOther()
    {
        await using var cluster = new HostCluster(3, rocksDb: false);
        var leader = await StartAsync(cluster);

        var error = await Assert.ThrowsAsync<MembershipException>(() => leader.ChangeMembershipAsync(Group, [], retain: false));

        Assert.Equal(MembershipErrorKind.Other, error.Kind);
        Assert.Equal([1UL, 2, 3], (await leader.GetMembershipAsync(Group)).Membership.Voters);
    }

    [Fact]
    public async Task ChangeMembership_ToTheVotersInForce_FailsWithOtherCarryingTheCoresReason()
    {
        await using var cluster = new HostCluster(3, rocksDb: false);
        var leader = await StartAsync(cluster);

        var error = await Assert.ThrowsAsync<MembershipException>(() => leader.ChangeMembershipAsync(Group, [1, 2, 3], retain: false));

        Assert.Equal(MembershipErrorKind.Other, error.Kind);
        Assert.Contains("leaves the configuration as it is", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TransferLeadership_HandsTheLeadershipToTheTarget()
    {
        await using var cluster = new HostCluster(3, rocksDb: false);
        var leader = await StartAsync(cluster);
        ulong target = cluster.NodeIds.First(id => id != leader.NodeId);

        await leader.TransferLeadershipAsync(Group, target).WaitAsync(Patience);

        await HostCluster.WaitUntilAsync(async () => (await cluster.Hosts[target].GetMetricsAsync(Group)).Role == RaftRole.Leader, Patience, () => $"node {target} never led");
        Assert.Equal(target, (await leader.GetMetricsAsync(Group)).Leader);
    }

    [Fact]
    public async Task TransferLeadership_OnAFollower_FailsWithNotLeader()
    {
        await using var cluster = new HostCluster(3, rocksDb: false);
        var leader = await StartAsync(cluster);
        var follower = cluster.Hosts[cluster.NodeIds.First(id => id != leader.NodeId)];

        var error = await Assert.ThrowsAsync<MembershipException>(() => follower.TransferLeadershipAsync(Group, follower.NodeId));

        Assert.Equal(MembershipErrorKind.NotLeader, error.Kind);
    }

    [Fact]
    public async Task ChangeMembership_CompletesInTheRoundsThatCommitItWithoutWaitingForATick()
    {
        // An hour-long tick: nothing here may wait for the timer, so the call can complete only
        // if it is woken by the rounds that commit the joint and the final configuration.
        await using var cluster = WithoutTicks();
        var leader = await ElectNodeOneAsync(cluster);

        await leader.ChangeMembershipAsync(Group, [1, 2], retain: false).WaitAsync(Patience);

        var membership = await leader.GetMembershipAsync(Group);
        Assert.False(membership.Membership.IsJoint);
        Assert.Equal([1UL, 2], membership.Membership.Voters);
    }

    [Fact]
    public async Task Membership_AWaitForProgressCountsARoundThatPassedBetweenTheProbeAndTheWait()
    {
        // The helpers probe, then wait for the group's next round. A round that lands between the
        // two is progress the probe did not see: with an hour-long tick, waiting for yet another
        // round would hang the call (it did, now and then, when the final round of a change
        // committed in that gap).
        await using var cluster = WithoutTicks();
        var leader = await ElectNodeOneAsync(cluster);

        var probe = await leader.ProbeMembershipAsync(Group, 0, 0);
        await leader.ProposeAsync(Group, KvCommand.Set("k", "w")).WaitAsync(Patience);

        await leader.WaitForProgressAsync(Group, probe, CancellationToken.None).WaitAsync(Patience);
    }

    /// <summary>Three voter hosts whose tick is an hour: nothing a test does may wait for the timer.</summary>
    private static HostCluster WithoutTicks() => new(3, rocksDb: false, id =>
    {
        var options = HostCluster.FastOptions(id);
        options.TickInterval = TimeSpan.FromHours(1);
        return options;
    });

    /// <summary>Bootstraps the group on nodes 1-3, has node 1 campaign (no timer needed), commits a write, returns node 1's host.</summary>
    /// <summary>
    /// Whether a change of voters keeps the removed ones as learners is its leader's alone. When
    /// that leader loses the group while it is joint, the next leader finishes the change its own
    /// way (keeping them): a call that asked to remove a voter is told the change committed but
    /// did not end as asked, rather than success with a learner it did not want.
    /// </summary>
    [Fact]
    public async Task ChangeMembership_FinishedByAnotherLeaderOtherwiseThanAskedFailsSayingSo()
    {
        await using var cluster = new HostCluster(3, rocksDb: false);
        var leader = await StartAsync(cluster);
        ulong old = leader.NodeId;
        var others = cluster.NodeIds.Where(id => id != old).ToArray();
        ulong removed = others[0], kept = others[1];

        // The followers take the joint entry, but their answers never reach its leader, which
        // steps down (check-quorum); a new leader then leaves the joint configuration.
        foreach (var id in others)
        {
            cluster.Network.Partitions.CutOneWay(id, old);
        }

        var change = leader.ChangeMembershipAsync(Group, [old, kept], retain: false);
        await HostCluster.WaitUntilAsync(async () => (await leader.GetMembershipAsync(Group)).Membership.IsJoint, Patience, () => "the joint entry was never appended");
        await HostCluster.WaitUntilAsync(async () => (await leader.GetMetricsAsync(Group)).Role != RaftRole.Leader, Patience, () => "the cut-off leader never stepped down");
        cluster.Network.Partitions.Heal();

        var error = await Assert.ThrowsAsync<MembershipException>(() => change.WaitAsync(Patience * 2));
        Assert.Equal(MembershipErrorKind.Other, error.Kind);
        Assert.Contains($"kept it as a learner, against the request to remove node {removed}", error.Message, StringComparison.Ordinal);
        var settled = (await cluster.Hosts[kept].GetMembershipAsync(Group)).Membership;
        Assert.Equal([removed], settled.Learners);
    }

    private static async Task<MultiRaftHost<KvNode, KvCommand, KvResponse, KvSnapshot>> ElectNodeOneAsync(HostCluster cluster)
    {
        foreach (var host in cluster.Hosts.Values)
        {
            await host.BootstrapAsync(Group, BootstrapMode.Fresh(1, 2, 3));
        }

        var leader = cluster.Hosts[1];
        Assert.True(await leader.CampaignAsync(Group));
        await cluster.WriteAsync(Group, "k", "v", Patience);
        return leader;
    }

    /// <summary>Bootstraps the group on nodes 1-3 (Fresh) and any other node (Join), commits a write, returns the leader's host.</summary>
    private static async Task<MultiRaftHost<KvNode, KvCommand, KvResponse, KvSnapshot>> StartAsync(HostCluster cluster)
    {
        foreach (var (id, host) in cluster.Hosts)
        {
            await host.BootstrapAsync(Group, id <= 3 ? BootstrapMode.Fresh(1, 2, 3) : BootstrapMode.Join);
        }

        await cluster.WriteAsync(Group, "start", "v", Patience);
        ulong leader = await cluster.WaitForLeaderAsync(Group, Patience);
        return cluster.Hosts[leader];
    }
}
