using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Raft.Messages;
using Xunit;
using static RaftToolkit.Core.Tests.Raft.ClusterScenarios;

namespace RaftToolkit.Core.Tests.Raft;

/// <summary>Learners: replicated to, never counted, never candidates, promotable to voters.</summary>
public sealed class RaftLearnerTests
{
    [Fact]
    public void ALearnerReceivesTheLog()
    {
        var (cluster, leader) = Started(voters: 3, spares: 1);
        leader.ProposeMembershipChange(MembershipChange.AddLearners(4)).ThrowIfRefused();
        var entry = leader.Propose("x"u8.ToArray());

        int steps = cluster.RunUntil(c => c.Node(4)!.Applied is { } a && a.Index >= entry.LogId.Index, 10 * ElectionTicks);

        Assert.True(steps >= 0, cluster.Describe());
        Assert.Equal(RaftRole.Learner, cluster.Node(4)!.Role);
    }

    [Fact]
    public void ALearnersAcknowledgementIsNeverCountedForCommit()
    {
        var (cluster, leader) = Started(voters: 3, spares: 1);
        leader.ProposeMembershipChange(MembershipChange.AddLearners(4)).ThrowIfRefused();
        RunUntilSettledMembership(cluster);
        foreach (var id in new ulong[] { 1, 2, 3 }.Where(id => id != leader.Id))
        {
            cluster.Crash(id);
        }

        var entry = leader.Propose("x"u8.ToArray());
        cluster.RunUntil(_ => leader.TryGetProgress(4, out var m) && m == entry.LogId, 5 * ElectionTicks);

        Assert.True(leader.TryGetProgress(4, out var matched) && matched == entry.LogId, "The learner must hold the entry.");
        Assert.True(leader.Committed!.Value.Index < entry.LogId.Index, "Leader plus learner are not a majority of the voters.");
    }

    [Fact]
    public void TwoLearnersAcknowledgingDoNotMakeUpForSilentVoters()
    {
        // Guards against counting learners in the commit point: with one learner, leader plus
        // learner are two of four members, no majority either way; with two, leader plus both
        // learners are three of five members, which only a count over the voters refuses.
        var leader = TestNode.Create(1, Membership.FromVoters([1UL, 2, 3], [4UL, 5]));
        leader.Raft.Campaign();
        leader.Drain();
        leader.Raft.Step(new VoteResponse(2, 1, leader.Raft.Vote, true, null));
        leader.Drain();
        Assert.Equal(RaftRole.Leader, leader.Raft.Role);
        var blank = leader.Raft.LastLogId!.Value;

        foreach (ulong learner in new ulong[] { 4, 5 })
        {
            leader.Raft.Step(new AppendEntriesResponse(learner, 1, leader.Raft.Vote, AppendEntriesOutcome.Success, blank, 0, null));
            leader.Drain();
            Assert.True(leader.Raft.TryGetProgress(learner, out var matched) && matched == blank, $"Learner {learner}'s acknowledgement must be recorded.");
        }

        Assert.True(leader.Raft.Committed is null, $"Leader and two learners of voters {{1,2,3}} committed {leader.Raft.Committed}.");

        // One voter's acknowledgement makes the majority of the voters.
        leader.Raft.Step(new AppendEntriesResponse(2, 1, leader.Raft.Vote, AppendEntriesOutcome.Success, blank, 0, null));
        leader.Drain();
        Assert.Equal(blank, leader.Raft.Committed);
    }

    [Fact]
    public void ALearnerNeverCampaignsEvenWhenNoLeaderIsLeft()
    {
        var (cluster, leader) = Started(voters: 3, spares: 1);
        leader.ProposeMembershipChange(MembershipChange.AddLearners(4)).ThrowIfRefused();
        RunUntilSettledMembership(cluster);
        var learner = cluster.Node(4)!;
        var vote = learner.Vote;
        foreach (var id in new ulong[] { 1, 2, 3 })
        {
            cluster.Crash(id);
        }

        for (int tick = 0; tick < 50 * ElectionTicks; tick++)
        {
            cluster.Step();
            Assert.Equal(RaftRole.Learner, learner.Role);
        }

        Assert.Equal(vote, learner.Vote);
        Assert.False(learner.Campaign(), "Campaign must refuse on a learner.");
        Assert.Equal(vote, learner.Vote);
    }

    [Fact]
    public void ALearnersVoteIsNeverCountedByACandidate()
    {
        // Node 1 of voters {1,2,3} with learners {4,5}: two learner grants are no quorum.
        var log = new Core.Raft.Log.InMemoryRaftLog();
        var node = new RaftNode(1, TestNode.PaperConfig(), log, Membership.FromVoters([1UL, 2, 3], [4UL, 5]), RaftNodeState.Initial);
        node.Campaign();
        var ready = node.GetReady();
        var asked = ready.Messages.OfType<VoteRequest>().Select(m => m.To).Order().ToArray();
        node.Advance(ready);
        var held = node.GetReady();
        asked = asked.Concat(held.Messages.OfType<VoteRequest>().Select(m => m.To)).Order().ToArray();
        node.Advance(held);

        Assert.Equal([2UL, 3], asked);
        node.Step(new VoteResponse(4, 1, node.Vote, true, null));
        node.Step(new VoteResponse(5, 1, node.Vote, true, null));
        Assert.Equal(RaftRole.Candidate, node.Role);

        node.Step(new VoteResponse(2, 1, node.Vote, true, null));
        Assert.Equal(RaftRole.Leader, node.Role);
    }

    [Fact]
    public void ACaughtUpLearnerIsPromotedToAVoterAndThenCounts()
    {
        var (cluster, leader) = Started(voters: 3, spares: 1);
        leader.ProposeMembershipChange(MembershipChange.AddLearners(4)).ThrowIfRefused();
        for (int i = 0; i < 20; i++)
        {
            leader.Propose(new byte[] { (byte)i });
        }

        // The host's signal to promote: the learner holds the leader's whole log.
        int steps = cluster.RunUntil(_ => leader.TryGetProgress(4, out var m) && m == leader.LastLogId && !leader.IsMembershipChangeInProgress, 20 * ElectionTicks);
        Assert.True(steps >= 0, cluster.Describe());

        leader.ProposeMembershipChange(MembershipChange.AddVoters(4)).ThrowIfRefused();
        leader = RunUntilSettledMembership(cluster);
        Assert.Equal(RaftRole.Follower, cluster.Node(4)!.Role);
        Assert.Equal([1UL, 2, 3, 4], leader.Membership.Voters.ToArray());

        // Of voters {1,2,3,4}, two original followers down: leader and 4 are no majority;
        // one original follower down: leader, the other and 4 are.
        var followers = new ulong[] { 1, 2, 3 }.Where(id => id != leader.Id).ToArray();
        cluster.Crash(followers[0]);
        var entry = leader.Propose("counted"u8.ToArray());
        RunUntilCommitted(cluster, leader, entry.LogId);
        cluster.Crash(4);
        var stuck = leader.Propose("not counted"u8.ToArray());
        cluster.Run(3 * ElectionTicks);
        Assert.True(cluster.Leader is null || cluster.Leader.Committed!.Value.Index < stuck.LogId.Index);
    }

    [Fact]
    public void ProgressIsReportedOnlyByTheLeaderAndOnlyForPeers()
    {
        var (cluster, leader) = Started(voters: 3, spares: 1);
        var follower = cluster.Node(new ulong[] { 1, 2, 3 }.First(id => id != leader.Id))!;

        Assert.False(leader.TryGetProgress(4, out _));
        Assert.False(leader.TryGetProgress(leader.Id, out _));
        Assert.False(follower.TryGetProgress(leader.Id, out _));
        Assert.True(leader.TryGetProgress(follower.Id, out var matched));
        Assert.Equal(leader.LastLogId, matched);
    }
}
