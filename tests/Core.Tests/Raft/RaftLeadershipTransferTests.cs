using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Raft.Messages;
using Xunit;
using static RaftToolkit.Core.Tests.Raft.ClusterScenarios;

namespace RaftToolkit.Core.Tests.Raft;

/// <summary>Leadership transfer: catch the target up, TimeoutNow, an immediate campaign that bypasses pre-vote and the leader lease.</summary>
public sealed class RaftLeadershipTransferTests
{
    [Fact]
    public void TransferHandsLeadershipToTheTargetWithinAnElectionTimeout()
    {
        var (cluster, leader) = Started(voters: 3);
        ulong target = new ulong[] { 1, 2, 3 }.First(id => id != leader.Id);
        var oldVote = leader.Vote;

        Assert.Equal(TransferLeadershipResult.Started, leader.TransferLeadership(target));
        Assert.Equal(target, leader.TransferTarget);
        int steps = cluster.RunUntil(c => c.Leader is { } l && l.Id == target, ElectionTicks);

        // Pre-vote and check-quorum are on: without the transfer flag the other follower, which
        // just heard from the old leader, would refuse.
        Assert.True(steps >= 0, $"Node {target} did not take over within an election timeout.\n{cluster.Describe()}");
        Assert.NotEqual(RaftRole.Leader, leader.Role);
        Assert.Equal(oldVote.Term + 1, cluster.Leader!.Vote.Term);
    }

    [Fact]
    public void ProposalsAreRefusedWhileATransferIsInProgress()
    {
        var (cluster, leader) = Started(voters: 3);
        ulong target = new ulong[] { 1, 2, 3 }.First(id => id != leader.Id);
        cluster.Network.Isolate(target, cluster.NodeIds);
        leader.TransferLeadership(target);

        var refused = leader.Propose("x"u8.ToArray());

        Assert.Equal(ProposeStatus.TransferInProgress, refused.Status);
        Assert.Equal(target, refused.LeaderHint);
        Assert.Equal(MembershipChangeStatus.InProgress, leader.ProposeMembershipChange(MembershipChange.AddLearners(9)).Status);
    }

    [Fact]
    public void ATransferThatCannotCompleteTimesOutAndProposalsAreAcceptedAgain()
    {
        var (cluster, leader) = Started(voters: 3);
        ulong target = new ulong[] { 1, 2, 3 }.First(id => id != leader.Id);
        cluster.Network.Isolate(target, cluster.NodeIds);
        leader.TransferLeadership(target);

        cluster.Run(ElectionTicks);

        Assert.False(leader.IsTransferringLeadership);
        Assert.Equal(RaftRole.Leader, leader.Role);
        Assert.True(leader.Propose("x"u8.ToArray()).IsAccepted);
    }

    [Fact]
    public void ALaggingTargetIsCaughtUpBeforeItIsToldToCampaign()
    {
        var (cluster, leader) = Started(voters: 3);
        ulong target = new ulong[] { 1, 2, 3 }.First(id => id != leader.Id);
        cluster.Network.Isolate(target, cluster.NodeIds);
        Core.Model.LogId last = default;
        for (int i = 0; i < 30; i++)
        {
            last = leader.Propose(new byte[] { (byte)i }).LogId;
        }

        RunUntilCommitted(cluster, leader, last);
        cluster.Network.HealAll();

        Assert.Equal(TransferLeadershipResult.Started, leader.TransferLeadership(target));
        int steps = cluster.RunUntil(c => c.Leader is { } l && l.Id == target, ElectionTicks);

        Assert.True(steps >= 0, cluster.Describe());
        Assert.True(cluster.Node(target)!.TryGetLogId(last.Index, out var held) && held == last, "The new leader must hold everything the old one committed.");
    }

    [Fact]
    public void TransferRefusesWhenItCannotApply()
    {
        var (cluster, leader) = Started(voters: 3, spares: 1);
        leader.ProposeMembershipChange(MembershipChange.AddLearners(4)).ThrowIfRefused();
        leader = RunUntilSettledMembership(cluster);
        var follower = cluster.Node(new ulong[] { 1, 2, 3 }.First(id => id != leader.Id))!;
        cluster.Network.Isolate(follower.Id, cluster.NodeIds);

        Assert.Equal(TransferLeadershipResult.NotLeader, follower.TransferLeadership(leader.Id));
        Assert.Equal(TransferLeadershipResult.TargetIsLeader, leader.TransferLeadership(leader.Id));
        Assert.Equal(TransferLeadershipResult.TargetNotVoter, leader.TransferLeadership(4));
        Assert.Equal(TransferLeadershipResult.TargetNotVoter, leader.TransferLeadership(99));
        Assert.Equal(TransferLeadershipResult.Started, leader.TransferLeadership(follower.Id));
        Assert.Equal(TransferLeadershipResult.InProgress, leader.TransferLeadership(follower.Id));
    }

    /// <summary>
    /// Only the leader this node follows can hand it leadership: a TimeoutNow from an earlier
    /// leadership (delayed, or from a deposed leader) must not make a follower campaign and
    /// depose the leader it follows now.
    /// </summary>
    [Fact]
    public void ATimeoutNowFromALeaderThisNodeNoLongerFollowsIsIgnored()
    {
        var current = new Vote(3, 1).Commit();
        var follower = TestNode.Create(2, [1, 2, 3], log: TestNode.LogOf((1, 3), (3, 1)), vote: current);
        follower.Drain();

        follower.Raft.Step(new TimeoutNowRequest(3, 2, new Vote(1, 3).Commit()));

        Assert.Equal(RaftRole.Follower, follower.Raft.Role);
        Assert.Equal(current, follower.Raft.Vote);
        Assert.DoesNotContain(follower.Drain(), m => m is VoteRequest);
    }
}
