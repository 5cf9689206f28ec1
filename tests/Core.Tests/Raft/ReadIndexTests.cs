using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Raft.Messages;
using Xunit;

namespace RaftToolkit.Core.Tests.Raft;

/// <summary>ReadIndex reads: quorum confirmation, forwarding from followers, and no stale read from a deposed leader.</summary>
public sealed class ReadIndexTests
{
    private static TestCluster ClusterWithCommittedEntry(out TestNode leader)
    {
        var cluster = new TestCluster(3);
        leader = cluster.Elect(1);
        leader.Raft.Propose(new byte[] { 1 });
        cluster.Stabilize();
        return cluster;
    }

    [Fact]
    public void LeaderConfirmsAReadOnlyAfterAQuorumAcknowledgesItsLeadership()
    {
        var cluster = ClusterWithCommittedEntry(out var leader);
        var committed = leader.Raft.Committed!.Value;

        Assert.Equal(ReadIndexStatus.Pending, leader.Raft.ReadIndex(42));
        var requests = leader.Drain().OfType<LeadershipConfirmRequest>().ToList();

        Assert.Equal([2UL, 3UL], requests.Select(r => r.To).Order());
        Assert.Empty(leader.ReadStates);

        // One follower's answer makes a quorum of two with the leader.
        var follower = cluster[2];
        follower.Raft.Step(requests.Single(r => r.To == 2));
        leader.Raft.Step(follower.Drain().OfType<LeadershipConfirmResponse>().Single());
        leader.Drain();

        Assert.Equal([new ReadState(42, ReadIndexStatus.Confirmed, committed.Index)], leader.ReadStates);
    }

    [Fact]
    public void ASingleVoterConfirmsItsReadsAtOnce()
    {
        var node = TestNode.Create(1, [1]);
        node.Raft.Campaign();
        node.Drain();

        Assert.Equal(ReadIndexStatus.Pending, node.Raft.ReadIndex(1));
        node.Drain();

        Assert.Equal([new ReadState(1, ReadIndexStatus.Confirmed, node.Raft.Committed!.Value.Index)], node.ReadStates);
    }

    [Fact]
    public void ANewLeaderHoldsReadsUntilAnEntryOfItsTermIsCommitted()
    {
        var cluster = new TestCluster(3);
        var leader = cluster[1];
        leader.Raft.Campaign();
        cluster.Stabilize(m => m is VoteRequest or VoteResponse);
        Assert.Equal(RaftRole.Leader, leader.Raft.Role);
        Assert.Null(leader.Raft.Committed);

        leader.Raft.ReadIndex(5);
        var held = leader.Drain();
        Assert.DoesNotContain(held, m => m is LeadershipConfirmRequest);
        Assert.Empty(leader.ReadStates);

        // The next heartbeat replicates the blank entry, which commits; then the read's round goes out.
        cluster.TickAll(1);

        var blank = leader.Raft.Committed!.Value;
        Assert.Equal(leader.Raft.Vote.LeaderId, blank.LeaderId);
        Assert.Equal([new ReadState(5, ReadIndexStatus.Confirmed, blank.Index)], leader.ReadStates);
    }

    /// <summary>
    /// A new leader may know a commit index of an earlier leadership that is behind what that
    /// leadership committed (here it restarted knowing only index 0 committed, while index 1 may
    /// be committed too): a read confirmed at it could miss an acknowledged write. Reads wait
    /// until an entry of the leader's own term commits.
    /// </summary>
    [Fact]
    public void ANewLeaderThatKnowsOnlyAnEarlierCommitIndexHoldsReadsUntilItsOwnEntryCommits()
    {
        var log = TestNode.LogOf((1, 2), (1, 2));
        var earlier = new Vote(1, 2).Commit();
        var cluster = new TestCluster(3, logs: _ => log, vote: earlier);
        cluster.Nodes[1] = TestNode.Create(1, [1, 2, 3], log: log, vote: earlier, committed: log[0].LogId);
        var leader = cluster[1];
        leader.Raft.Campaign();
        cluster.Stabilize(m => m is VoteRequest or VoteResponse);
        Assert.Equal(RaftRole.Leader, leader.Raft.Role);
        Assert.Equal(log[0].LogId, leader.Raft.Committed);

        leader.Raft.ReadIndex(5);
        Assert.DoesNotContain(leader.Drain(), m => m is LeadershipConfirmRequest);
        Assert.Empty(leader.ReadStates);

        cluster.TickAll(1);

        var blank = leader.Raft.Committed!.Value;
        Assert.Equal(leader.Raft.Vote.LeaderId, blank.LeaderId);
        Assert.Equal([new ReadState(5, ReadIndexStatus.Confirmed, blank.Index)], leader.ReadStates);
    }

    [Fact]
    public void AFollowerForwardsTheReadToTheLeaderAndGetsItsIndex()
    {
        var cluster = ClusterWithCommittedEntry(out var leader);
        var follower = cluster[3];

        Assert.Equal(ReadIndexStatus.Pending, follower.Raft.ReadIndex(9));
        cluster.Stabilize();

        Assert.Equal([new ReadState(9, ReadIndexStatus.Confirmed, leader.Raft.Committed!.Value.Index)], follower.ReadStates);
        Assert.Empty(leader.ReadStates);
    }

    [Fact]
    public void ANodeThatKnowsNoLeaderRefusesTheRead()
    {
        var node = TestNode.Create(2, [1, 2, 3]);

        Assert.Equal(ReadIndexStatus.NotLeader, node.Raft.ReadIndex(1));
        Assert.False(node.Raft.HasReady);
    }

    [Fact]
    public void PendingReadsFailWithLeadershipLostWhenTheLeaderStepsDown()
    {
        var cluster = ClusterWithCommittedEntry(out var leader);
        var follower = cluster[2];
        follower.Raft.ReadIndex(7);
        follower.Drain().ForEach(m => leader.Raft.Step(m));
        leader.Raft.ReadIndex(8);
        var round = leader.Drain().OfType<LeadershipConfirmRequest>().First().Round;

        var greater = new Vote(new LeaderId(leader.Raft.Vote.Term + 1, 3), false);
        leader.Raft.Step(new LeadershipConfirmResponse(3, 1, greater, round));
        leader.Drain().ForEach(m => cluster[m.To].Raft.Step(m));
        follower.Drain();

        Assert.Equal(RaftRole.Follower, leader.Raft.Role);
        Assert.Equal([new ReadState(8, ReadIndexStatus.LeadershipLost, 0)], leader.ReadStates);
        Assert.Equal([new ReadState(7, ReadIndexStatus.LeadershipLost, 0)], follower.ReadStates);
    }

    [Fact]
    public void AReadNobodyConfirmsTimesOutAfterTwoElectionTimeouts()
    {
        var cluster = ClusterWithCommittedEntry(out var leader);
        cluster.Isolate(1);
        leader.Raft.ReadIndex(3);
        leader.Drain();

        leader.Tick(2 * leader.Config.ElectionTicks);
        leader.Drain();
        Assert.Empty(leader.ReadStates);
        leader.Tick(1);
        leader.Drain();

        Assert.Equal([new ReadState(3, ReadIndexStatus.TimedOut, 0)], leader.ReadStates);
    }

    [Fact]
    public void AVoterThatFollowsANewerLeaderAnswersAnOlderLeadersConfirmationWithItsOwnVote()
    {
        // Guards against a confirmation that echoes the request's vote rather than the voter's
        // own: node 3 follows the newer leader 2, so its answer must depose node 1 (check-quorum
        // is off, so node 1 still believes it leads), never count toward node 1's read.
        var cluster = ClusterWithCommittedEntry(out var oldLeader);
        cluster.Isolate(1);
        var newLeader = cluster.Elect(2);
        Assert.Equal(RaftRole.Leader, oldLeader.Raft.Role);
        var voter = cluster[3];
        Assert.Equal(newLeader.Raft.Vote, voter.Raft.Vote);

        Assert.Equal(ReadIndexStatus.Pending, oldLeader.Raft.ReadIndex(7));
        voter.Raft.Step(oldLeader.Drain().OfType<LeadershipConfirmRequest>().Single(m => m.To == 3));
        var answer = voter.Drain().OfType<LeadershipConfirmResponse>().Single();
        Assert.True(answer.Vote == newLeader.Raft.Vote, $"Node 3 follows {newLeader.Raft.Vote} but answered node 1 under {answer.Vote}.");

        oldLeader.Raft.Step(answer);
        oldLeader.Drain();
        Assert.DoesNotContain(oldLeader.ReadStates, s => s.IsConfirmed);
        Assert.Equal([new ReadState(7, ReadIndexStatus.LeadershipLost, 0)], oldLeader.ReadStates);
        Assert.NotEqual(RaftRole.Leader, oldLeader.Raft.Role);
    }

    [Theory]
    [InlineData(2UL, 1UL)] // a leader of an earlier term
    [InlineData(3UL, 1UL)] // a leader of the same term with a smaller leader id
    public void AVoterKeepsFollowingItsLeaderWhenAnOlderLeaderAsksItToConfirm(ulong staleTerm, ulong staleNode)
    {
        // Guards against a confirmation request that makes the voter follow its sender whatever
        // its vote: the voter's vote would go backwards, and its answer would confirm the stale
        // leader's read.
        var current = new Vote(3, 2).Commit();
        var voter = TestNode.Create(3, [1, 2, 3], vote: current);
        var stale = new Vote(staleTerm, staleNode).Commit();

        voter.Raft.Step(new LeadershipConfirmRequest(staleNode, 3, stale, 1));
        var answer = voter.Drain().OfType<LeadershipConfirmResponse>().Single();

        Assert.True(voter.Raft.Vote == current, $"The voter of {current} moved to {voter.Raft.Vote} on a confirmation request of {stale}.");
        Assert.True(voter.PersistedVote == current, $"The voter persisted {voter.PersistedVote} instead of keeping {current}.");
        Assert.Equal(2UL, voter.Raft.LeaderHint);
        Assert.True(answer.Vote == current, $"The voter of {current} answered {stale} under {answer.Vote}.");
    }

    [Fact]
    public void Bug11_ADeposedLeaderNeverServesAStaleRead()
    {
        // Check-quorum is off, so the old leader keeps believing it leads while cut off.
        var cluster = ClusterWithCommittedEntry(out var oldLeader);
        oldLeader.Raft.ReadIndex(1);
        cluster.Stabilize();
        Assert.True(oldLeader.ReadStates.Single().IsConfirmed);

        // A second read, confirmed; its confirmations are kept to be delivered again later (duplicated, delayed).
        oldLeader.Raft.ReadIndex(2);
        var secondRound = oldLeader.Drain().OfType<LeadershipConfirmRequest>().ToList();
        var staleAnswers = new List<RaftMessage>();
        foreach (var request in secondRound)
        {
            cluster[request.To].Raft.Step(request);
            staleAnswers.AddRange(cluster[request.To].Drain().OfType<LeadershipConfirmResponse>());
        }

        staleAnswers.ForEach(oldLeader.Raft.Step);
        oldLeader.Drain();
        Assert.Equal([1UL, 2UL], oldLeader.ReadStates.Where(s => s.IsConfirmed).Select(s => s.RequestId));
        oldLeader.ReadStates.Clear();
        cluster.Isolate(1);
        var newLeader = cluster.Elect(2);
        newLeader.Raft.Propose(new byte[] { 2 });
        cluster.Stabilize();
        Assert.Equal(RaftRole.Leader, oldLeader.Raft.Role);
        Assert.True(newLeader.Raft.Committed!.Value.Index > oldLeader.Raft.Committed!.Value.Index);

        // A read at the deposed leader: answers from before can never confirm it.
        Assert.Equal(ReadIndexStatus.Pending, oldLeader.Raft.ReadIndex(3));
        oldLeader.Drain();
        staleAnswers.ForEach(oldLeader.Raft.Step);
        oldLeader.Drain();
        Assert.DoesNotContain(oldLeader.ReadStates, s => s.RequestId == 3);

        // Once its confirmation requests get through, the greater vote deposes it and the read fails.
        cluster.Heal();
        oldLeader.Tick(1);
        cluster.Stabilize();

        Assert.NotEqual(RaftRole.Leader, oldLeader.Raft.Role);
        Assert.Equal([new ReadState(3, ReadIndexStatus.LeadershipLost, 0)], oldLeader.ReadStates.Where(s => s.RequestId == 3));
        Assert.DoesNotContain(oldLeader.ReadStates, s => s.IsConfirmed);
    }
}
