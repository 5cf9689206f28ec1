using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Raft.Log;
using RaftToolkit.Core.Raft.Messages;
using Xunit;

namespace RaftToolkit.Core.Tests.Raft;

/// <summary>Election fixes found by the membership churn simulation, each pinned down on one node.</summary>
public sealed class RaftElectionLivenessTests
{
    private static readonly RaftConfig LeaseConfig = new() { ElectionTicks = 10, HeartbeatTicks = 1, PreVote = true, CheckQuorum = true, RandomSeed = 3 };

    [Fact]
    public void TheGroupsOfOneNodeDrawDifferentElectionTimeoutsFromTheirSalt()
    {
        // A host runs thousands of groups on one node id and one config: the group id, passed as
        // the salt, is what keeps them from timing out (and campaigning) in lockstep.
        var config = new RaftConfig { ElectionTicks = 10, HeartbeatTicks = 1 };
        var timeouts = Enumerable.Range(0, 1000)
            .Select(group => new RaftNode(1, config, new InMemoryRaftLog(), Membership.FromVoters(1, 2, 3), RaftNodeState.Initial, electionSalt: (ulong)group).ElectionTimeout)
            .ToList();

        Assert.All(timeouts, t => Assert.InRange(t, 10, 19));
        var counts = timeouts.GroupBy(t => t).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(10, counts.Count);
        Assert.All(counts.Values, count => Assert.InRange(count, 50, 150));

        // Same salt, same draw: the simulation stays replayable.
        var again = new RaftNode(1, config, new InMemoryRaftLog(), Membership.FromVoters(1, 2, 3), RaftNodeState.Initial, electionSalt: 7);
        Assert.Equal(timeouts[7], again.ElectionTimeout);
    }

    [Fact]
    public void ASingleVoterLeadsOnlyOnceItsOwnVoteIsDurable()
    {
        // Churn seed 674: elected by its own vote, it told a learner before the vote was
        // durable, crashed, and won the same leader id again.
        var node = new RaftNode(1, TestNode.PaperConfig(), new InMemoryRaftLog(), Membership.FromVoters([1UL], [2UL]), RaftNodeState.Initial);
        node.Campaign();

        var ready = node.GetReady();
        Assert.Equal(RaftRole.Candidate, node.Role);
        Assert.NotNull(ready.Vote);
        Assert.Empty(ready.Messages.OfType<AppendEntriesRequest>());

        node.Advance(ready);
        Assert.Equal(RaftRole.Leader, node.Role);
        Assert.Contains(node.GetReady().Messages, m => m is AppendEntriesRequest { To: 2 });
    }

    [Fact]
    public void APreCandidateGrantsPreVotesAlthoughItsTimerWasJustReset()
    {
        // Churn seed 7345: two pre-candidates each refused the other "because a leader was
        // heard recently" - only their own campaigns had reset their timers.
        var node = new RaftNode(1, LeaseConfig, new InMemoryRaftLog(), Membership.FromVoters(1, 2, 3), new RaftNodeState(new Vote(1, 3).Commit(), null, null));
        while (node.Role != RaftRole.PreCandidate)
        {
            node.Tick();
        }

        Sent(node);
        node.Step(new PreVoteRequest(2, 1, new Vote(2, 2), null));

        var answer = Assert.Single(Sent(node).OfType<PreVoteResponse>());
        Assert.True(answer.Granted);
    }

    [Fact]
    public void AFollowerStillRefusesPreVotesWhileItsLeaderIsAlive()
    {
        var node = new RaftNode(1, LeaseConfig, new InMemoryRaftLog(), Membership.FromVoters(1, 2, 3), new RaftNodeState(new Vote(1, 3).Commit(), null, null));
        node.Step(new AppendEntriesRequest(3, 1, new Vote(1, 3).Commit(), null, ReadOnlyMemory<Entry>.Empty, null));
        Sent(node);

        node.Step(new PreVoteRequest(2, 1, new Vote(2, 2), null));

        Assert.False(Assert.Single(Sent(node).OfType<PreVoteResponse>()).Granted);
    }

    [Fact]
    public void APreCandidateRefusedForAFailedCandidatesGreaterVoteOutbidsItNextTime()
    {
        // Churn seed 1349: voters holding a lost candidate's vote (2, 5) refused every pre-vote
        // for (2, 1) forever.
        var node = new RaftNode(1, LeaseConfig, new InMemoryRaftLog(), Membership.FromVoters(1, 2, 3, 4, 5), RaftNodeState.Initial with { Vote = new Vote(1, 1) });
        while (node.Role != RaftRole.PreCandidate)
        {
            node.Tick();
        }

        var first = Sent(node).OfType<PreVoteRequest>().First().ProposedVote;
        node.Step(new PreVoteResponse(2, 1, first, false, new Vote(first.Term, 5)));
        for (int tick = 0; tick < 100; tick++)
        {
            node.Tick();
            if (Sent(node).OfType<PreVoteRequest>().FirstOrDefault() is { } next)
            {
                Assert.True(next.ProposedVote > new Vote(first.Term, 5), $"The next pre-vote {next.ProposedVote} must outbid (term {first.Term}, node 5).");
                return;
            }
        }

        Assert.Fail("The pre-candidate never campaigned again.");
    }

    private static List<RaftMessage> Sent(RaftNode node)
    {
        var sent = new List<RaftMessage>();
        while (node.HasReady)
        {
            var ready = node.GetReady();
            sent.AddRange(ready.Messages);
            node.Advance(ready);
        }

        return sent;
    }
}
