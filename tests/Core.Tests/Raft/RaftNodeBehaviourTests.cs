using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Raft.Log;
using RaftToolkit.Core.Raft.Messages;
using RaftToolkit.Testing.Simulation;
using Xunit;

namespace RaftToolkit.Core.Tests.Raft;

/// <summary>Behaviour beyond the paper: pre-vote, check-quorum, learners, proposals, flow control, footprint, liveness.</summary>
public sealed class RaftNodeBehaviourTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly ulong[] Three = [1, 2, 3];

    private static RaftConfig Config(bool preVote = true, bool checkQuorum = true, int inflight = 256, int batch = 64) => new()
    {
        ElectionTicks = 10,
        HeartbeatTicks = 1,
        PreVote = preVote,
        CheckQuorum = checkQuorum,
        MaxInflightAppends = inflight,
        MaxEntriesPerAppend = batch,
        RandomSeed = 3,
    };

    /// <summary>
    /// A new leader probes each follower at its log's end. The commit broadcast to a follower
    /// whose probe is still out goes as an empty append from the start of the log; if its
    /// success answer arrives first (the probe overtaken, or lost), it proves nothing about the
    /// probe's point, and the leader keeps probing there instead of re-sending the follower,
    /// which holds every entry, the whole log from index 0.
    /// </summary>
    [Fact]
    public void AnUpToDateFollowersAnswerToAnEmptyAppendDoesNotRewindItsReplicationToTheLogsStart()
    {
        var log = TestNode.LogOf(Enumerable.Repeat((1UL, 1UL), 20).ToArray());
        var cluster = new TestCluster(3, logs: _ => log, vote: new Vote(1, 1).Commit());
        var leader = cluster[1];
        leader.Raft.Campaign();
        foreach (var message in leader.Drain())
        {
            cluster[message.To].Raft.Step(message);
        }

        foreach (var message in cluster[2].Drain().Concat(cluster[3].Drain()))
        {
            leader.Raft.Step(message);
        }

        Assert.Equal(RaftRole.Leader, leader.Raft.Role);
        var probes = leader.Drain();
        foreach (var message in probes.Where(m => m.To == 2))
        {
            cluster[2].Raft.Step(message);
        }

        foreach (var message in cluster[2].Drain())
        {
            leader.Raft.Step(message);
        }

        // The blank entry is committed; its broadcast to node 3 reaches it before the probe.
        foreach (var message in leader.Drain().Where(m => m.To == 3))
        {
            cluster[3].Raft.Step(message);
        }

        foreach (var message in cluster[3].Drain())
        {
            leader.Raft.Step(message);
        }

        var resent = leader.Drain().OfType<AppendEntriesRequest>().Where(m => m.To == 3 && !m.Entries.IsEmpty && m.Entries.Span[0].Index < 20).ToList();
        Assert.True(resent.Count == 0, $"the leader re-sent node 3 entries from {resent.FirstOrDefault()?.Entries.Span[0].Index} though it holds all 20");
    }

    [Fact]
    public void ProposalToAFollowerIsRefusedWithTheLeaderAsHint()
    {
        var cluster = new TestCluster(3, Config());
        cluster.Elect(1);
        var refusal = cluster[2].Raft.Propose(new byte[] { 1 });
        Assert.Equal(ProposeStatus.NotLeader, refusal.Status);
        Assert.Equal(1UL, refusal.LeaderHint);
    }

    [Fact]
    public void PartitionedNodeThatRejoinsDoesNotDisruptTheLeaderWithPreVote()
    {
        var cluster = new TestCluster(3, Config());
        var leader = cluster.Elect(1);
        var vote = leader.Raft.Vote;
        cluster.Isolate(3);
        for (int i = 0; i < 100; i++)
        {
            foreach (var node in cluster.Nodes.Values)
            {
                node.Tick(1);
            }

            cluster.Stabilize();
        }

        // The isolated node never raised its term: its pre-votes were never granted.
        Assert.Equal(vote.Term, cluster[3].Raft.Vote.Term);
        cluster.Heal();
        for (int i = 0; i < 30; i++)
        {
            foreach (var node in cluster.Nodes.Values)
            {
                node.Tick(1);
            }

            cluster.Stabilize();
        }

        Assert.Equal(RaftRole.Leader, leader.Raft.Role);
        Assert.Equal(vote, leader.Raft.Vote);
    }

    [Fact]
    public void PreVoteIsRefusedWhileALeaderIsAlive()
    {
        var cluster = new TestCluster(3, Config());
        cluster.Elect(1);
        var follower = cluster[2];
        follower.Raft.Step(new PreVoteRequest(3, 2, new Vote(follower.Raft.Vote.Term + 1, 3), follower.Raft.LastLogId));
        Assert.False(Assert.IsType<PreVoteResponse>(Assert.Single(follower.Drain())).Granted);
        Assert.Equal(1UL, follower.Raft.LeaderHint);
    }

    /// <summary>
    /// A pre-vote is refused to a log less up-to-date, as a vote would be: otherwise a stale node
    /// passes its pre-vote round, raises its term as a candidate that cannot win, and disrupts
    /// the group for nothing (which is what pre-vote exists to prevent).
    /// </summary>
    [Theory]
    [InlineData(2UL, 1UL, true)]   // same last log id
    [InlineData(3UL, 0UL, true)]   // later leader id, shorter
    [InlineData(2UL, 0UL, false)]  // same leader, shorter
    [InlineData(1UL, 5UL, false)]  // earlier leader id, longer
    public void PreVoteIsRefusedToACandidateWhoseLogIsLessUpToDate(ulong lastTerm, ulong lastIndex, bool granted)
    {
        // The voter knows no live leader: its vote for node 2 never became a leadership.
        var node = TestNode.Create(1, Three, Config(), TestNode.LogOf((1, 1), (2, 2)), vote: new Vote(2, 2));
        node.Raft.Step(new PreVoteRequest(3, 1, new Vote(5, 3), new LogId(lastTerm, lastTerm, lastIndex)));
        var response = Assert.IsType<PreVoteResponse>(Assert.Single(node.Drain()));
        Assert.Equal(granted, response.Granted);
    }

    [Fact]
    public void GrantingAPreVoteChangesNothingOnTheVoter()
    {
        var node = TestNode.Create(1, Three, Config(), TestNode.LogOf((1, 1)), vote: new Vote(1, 1));
        node.Drain();
        node.Raft.Step(new PreVoteRequest(3, 1, new Vote(5, 3), new LogId(1, 1, 0)));

        var ready = node.Raft.GetReady();
        Assert.True(Assert.IsType<PreVoteResponse>(Assert.Single(ready.Messages)).Granted);
        Assert.Null(ready.Vote);
        Assert.False(ready.MustPersist);
        node.Raft.Advance(ready);
        Assert.Equal(new Vote(1, 1), node.Raft.Vote);
        Assert.Equal(RaftRole.Follower, node.Raft.Role);
    }

    /// <summary>
    /// Check-quorum's other half (thesis §4.2.3): a follower that heard from its leader within
    /// an election timeout refuses even a real vote request with a greater vote and an
    /// up-to-date log, so a node that only lost touch with the leader cannot depose it. The
    /// lease lasts the whole minimum election timeout.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(9)]
    public void UnderCheckQuorumAFollowerRefusesVotesWhileItsLeaderIsAlive(int ticksSinceHeard)
    {
        var cluster = new TestCluster(3, Config(preVote: false));
        var leader = cluster.Elect(1);
        var follower = cluster[2];
        var vote = follower.Raft.Vote;
        Assert.True(ticksSinceHeard < follower.Config.ElectionTicks);
        follower.Tick(ticksSinceHeard);
        follower.Drain();

        follower.Raft.Step(new VoteRequest(3, 2, new Vote(vote.Term + 1, 3), follower.Raft.LastLogId));

        Assert.False(Assert.IsType<VoteResponse>(Assert.Single(follower.Drain())).Granted);
        Assert.Equal(vote, follower.Raft.Vote);
        Assert.Equal(leader.Id, follower.Raft.LeaderHint);
    }

    [Fact]
    public void LeaderWithoutAQuorumStepsDownAfterAnElectionTimeout()
    {
        var cluster = new TestCluster(3, Config());
        var leader = cluster.Elect(1);
        cluster.Isolate(1);
        for (int i = 0; i < 2 * leader.Config.ElectionTicks; i++)
        {
            leader.Tick(1);
            cluster.Stabilize();
        }

        Assert.NotEqual(RaftRole.Leader, leader.Raft.Role);
    }

    [Fact]
    public void LeaderWithAQuorumKeepsLeadingUnderCheckQuorum()
    {
        var cluster = new TestCluster(3, Config());
        var leader = cluster.Elect(1);
        cluster.Isolate(3);
        for (int i = 0; i < 5 * leader.Config.ElectionTicks; i++)
        {
            foreach (var node in cluster.Nodes.Values)
            {
                node.Tick(1);
            }

            cluster.Stabilize();
        }

        Assert.Equal(RaftRole.Leader, leader.Raft.Role);
    }

    [Fact]
    public void LearnerReceivesTheLogButNeverCampaignsOrCounts()
    {
        var membership = Membership.FromVoters([1, 2, 3], [4]);
        var nodes = new Dictionary<ulong, RaftNode>();
        var logs = new Dictionary<ulong, InMemoryRaftLog>();
        foreach (ulong id in new ulong[] { 1, 2, 3, 4 })
        {
            logs[id] = new InMemoryRaftLog();
            nodes[id] = new RaftNode(id, Config(), logs[id], membership, RaftNodeState.Initial);
        }

        Assert.Equal(RaftRole.Learner, nodes[4].Role);
        Assert.False(nodes[4].Campaign());
        for (int i = 0; i < 100; i++)
        {
            nodes[4].Tick();
        }

        Assert.Equal(RaftRole.Learner, nodes[4].Role);
        Assert.Equal(0UL, nodes[4].Vote.Term);

        // With voters 2 and 3 cut off, the leader and the learner alone never commit.
        nodes[1].Campaign();
        Pump(nodes, logs, drop: _ => false);
        Assert.Equal(RaftRole.Leader, nodes[1].Role);
        var result = nodes[1].Propose(new byte[] { 1 });
        Pump(nodes, logs, drop: m => m.To is 2 or 3 || m.From is 2 or 3);
        Assert.Equal(result.LogId, logs[4].LastLogId);
        Assert.NotEqual(result.LogId, nodes[1].Committed);

        Pump(nodes, logs, drop: _ => false, heartbeat: true);
        Assert.Equal(result.LogId, nodes[1].Committed);
    }

    [Fact]
    public void ReplicationToOneFollowerIsBoundedByTheInFlightWindowAndBatchSize()
    {
        var cluster = new TestCluster(3, Config(inflight: 2, batch: 3));
        var leader = cluster.Elect(1);
        for (int i = 0; i < 20; i++)
        {
            leader.Raft.Propose(new byte[] { (byte)i });
        }

        var toTwo = leader.Drain().OfType<AppendEntriesRequest>().Where(m => m.To == 2).ToList();
        Assert.Equal(2, toTwo.Count);
        Assert.All(toTwo, m => Assert.Equal(3, m.Entries.Length));
    }

    [Fact]
    public void BatchesAreBoundedByBytesButAlwaysCarryOneEntry()
    {
        var config = new RaftConfig { ElectionTicks = 10, MaxBytesPerAppend = 200, MaxEntriesPerAppend = 64, RandomSeed = 1, PreVote = false };
        var cluster = new TestCluster(3, config);
        var leader = cluster.Elect(1);
        leader.Raft.Propose(new byte[500]);
        for (int i = 0; i < 6; i++)
        {
            leader.Raft.Propose(new byte[50]);
        }

        var batches = leader.Drain().OfType<AppendEntriesRequest>().Where(m => m.To == 2).ToList();
        Assert.Equal(1, batches[0].Entries.Length);
        Assert.All(batches.Skip(1), m => Assert.True(m.Entries.ToArray().Sum(e => RaftToolkit.Core.Codec.ModelFormats.EntrySize(e)) <= 200));
        Assert.Equal(7, batches.Sum(m => m.Entries.Length));
    }

    [Fact]
    public void FollowerThatLostItsTailIsRepairedByOneStepBackOff()
    {
        var cluster = new TestCluster(3, Config());
        var leader = cluster.Elect(1);
        for (int i = 0; i < 10; i++)
        {
            leader.Raft.Propose(new byte[] { (byte)i });
        }

        cluster.Isolate(3);
        cluster.Stabilize();
        cluster.Heal();
        leader.Raft.Propose(new byte[] { 100 });
        var appends = leader.Drain().OfType<AppendEntriesRequest>().Where(m => m.To == 3).ToList();
        var response = cluster[3].Raft;
        appends.ForEach(response.Step);
        var conflict = cluster[3].Drain().OfType<AppendEntriesResponse>().Single();
        Assert.Equal(AppendEntriesOutcome.Conflict, conflict.Outcome);

        leader.Raft.Step(conflict);
        var retry = leader.Drain().OfType<AppendEntriesRequest>().Single(m => m.To == 3);
        Assert.Equal(cluster[3].Raft.LastLogId, retry.PrevLogId);
    }

    [Fact]
    public void IdleFollowerCostsAFewHundredBytesAndTicksWithoutAllocating()
    {
        var config = new RaftConfig { ElectionTicks = 100 };
        var membership = Membership.FromVoters(Three);
        var log = new InMemoryRaftLog();
        const int groups = 2000;
        var nodes = new RaftNode[groups];
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < groups; i++)
        {
            nodes[i] = new RaftNode(1, config, log, membership, RaftNodeState.Initial);
        }

        long perNode = (GC.GetAllocatedBytesForCurrentThread() - before) / groups;
        output.WriteLine($"An idle 3-voter follower group: {perNode} bytes (node and peer list; config, membership and log source shared).");
        Assert.True(perNode <= 512, $"An idle 3-voter group costs {perNode} bytes.");

        before = GC.GetAllocatedBytesForCurrentThread();
        for (int tick = 0; tick < 50; tick++)
        {
            foreach (var node in nodes)
            {
                node.Tick();
            }
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        GC.KeepAlive(nodes);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    public void AfterAPartitionHealsALeaderIsElectedAndAProposalCommitsWithinABound(int size)
    {
        const int bound = 40 * 10;
        var cluster = new SimulatedCluster(size, Config(), seed: 17) { MaxPersistDelay = 2 };
        cluster.Network.MaxDelay = 2;
        Assert.True(cluster.RunUntil(c => c.Leader is not null, bound) >= 0, "No first leader.");
        var ids = cluster.NodeIds.ToArray();
        var oldLeader = cluster.Leader!.Id;
        cluster.Network.Partition([[oldLeader], ids.Where(id => id != oldLeader).ToArray()]);
        cluster.Run(100);
        cluster.Network.HealAll();

        int ticks = cluster.RunUntil(c => c.Leader is { } l && l.Committed?.LeaderId == l.Vote.LeaderId, bound);
        Assert.True(ticks >= 0, $"No leader committed within {bound} ticks of healing.\n{cluster.Describe()}");
        var leader = cluster.Leader!;
        var result = leader.Propose(new byte[] { 1 });
        Assert.True(result.IsAccepted);
        int commitTicks = cluster.RunUntil(c => c.Applied(leader.Id).Any(e => e.LogId == result.LogId), bound);
        Assert.True(commitTicks >= 0, $"The proposal did not commit within {bound} ticks.\n{cluster.Describe()}");
    }

    private static void Pump(Dictionary<ulong, RaftNode> nodes, Dictionary<ulong, InMemoryRaftLog> logs, Func<RaftMessage, bool> drop, bool heartbeat = false)
    {
        for (int round = 0; round < 50; round++)
        {
            if (heartbeat && round % 5 == 0)
            {
                foreach (var node in nodes.Values)
                {
                    if (node.Role == RaftRole.Leader)
                    {
                        node.Tick();
                    }
                }
            }

            var messages = new List<RaftMessage>();
            foreach (var (id, node) in nodes)
            {
                while (node.HasReady)
                {
                    var ready = node.GetReady();
                    messages.AddRange(ready.Messages);
                    if (ready.HasTruncation)
                    {
                        logs[id].TruncateFrom(ready.TruncateFromIndex);
                    }

                    logs[id].Append(ready.Entries.Span);
                    node.Advance(ready);
                }
            }

            foreach (var message in messages)
            {
                if (!drop(message))
                {
                    nodes[message.To].Step(message);
                }
            }
        }
    }
}
