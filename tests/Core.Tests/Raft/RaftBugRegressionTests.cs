using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Raft.Log;
using RaftToolkit.Core.Raft.Messages;
using RaftToolkit.Core.Storage;
using RaftToolkit.Testing.Simulation;
using Xunit;

namespace RaftToolkit.Core.Tests.Raft;

/// <summary>Regression tests for bugs that real Raft implementations shipped (RAFT-TESTS.md, "Bugs").</summary>
public sealed class RaftBugRegressionTests
{
    private static readonly ulong[] Three = [1, 2, 3];

    private static Vote LeaderVote(ulong term, ulong node) => new Vote(term, node).Commit();

    [Fact]
    public void Bug01_EarlierLeadersEntryOnAQuorumIsNotCommittedUntilAnOwnEntryIs()
    {
        // Figure 8: node 1 leads with an entry (2,2).1 of an earlier leader that node 2 also
        // holds: a quorum of 3 stores it, but counting replicas must not commit it.
        var earlier = TestNode.LogOf((1, 1), (2, 2));
        var cluster = new TestCluster(3, logs: id => id == 3 ? TestNode.LogOf((1, 1)) : earlier, vote: LeaderVote(2, 2));
        var leader = cluster[1];
        leader.Raft.Campaign();
        leader.Drain().ForEach(m => cluster[m.To].Raft.Step(m));
        cluster[2].Drain().ForEach(m => leader.Raft.Step(m));
        Assert.Equal(RaftRole.Leader, leader.Raft.Role);

        leader.Raft.Step(new AppendEntriesResponse(2, 1, leader.Raft.Vote, AppendEntriesOutcome.Success, earlier[1].LogId, 0, null));
        leader.Drain();
        Assert.Null(leader.Raft.Committed);
        Assert.Empty(leader.Applied);

        // When node 2 acknowledges the leader's own blank entry, both commit together.
        var blank = leader.Raft.LastLogId!.Value;
        leader.Raft.Step(new AppendEntriesResponse(2, 1, leader.Raft.Vote, AppendEntriesOutcome.Success, blank, 0, null));
        leader.Drain();
        Assert.Equal(blank, leader.Raft.Committed);
        Assert.Equal([0UL, 1UL, 2UL], leader.Applied.Select(e => e.Index));
    }

    [Fact]
    public void Bug02_VoteResponseLeavesOnlyAfterTheVoteIsDurableAndTheVoteSurvivesARestart()
    {
        var voter = TestNode.Create(1, Three);
        voter.Raft.Step(new VoteRequest(3, 1, new Vote(2, 3), null));

        var ready = voter.Raft.GetReady();
        Assert.Equal(new Vote(2, 3), ready.Vote);
        Assert.Empty(ready.Messages);

        voter.Persist(ready);
        voter.Raft.Advance(ready);
        var response = Assert.IsType<VoteResponse>(Assert.Single(voter.Drain()));
        Assert.True(response.Granted);

        // After a crash the durable vote still refuses a smaller candidate of the same term.
        voter.Restart();
        voter.Raft.Step(new VoteRequest(2, 1, new Vote(2, 2), null));
        Assert.False(Assert.IsType<VoteResponse>(Assert.Single(voter.Drain())).Granted);
    }

    [Fact]
    public void Bug02_LeaderThatStepsDownKeepsItsVote()
    {
        var cluster = new TestCluster(3);
        var leader = cluster.Elect(1);
        var vote = leader.Raft.Vote;
        leader.Raft.Step(new VoteRequest(2, 1, new Vote(vote.Term + 1, 2), leader.Raft.LastLogId));
        leader.Drain();
        Assert.Equal(RaftRole.Follower, leader.Raft.Role);
        Assert.Equal(new Vote(vote.Term + 1, 2), leader.PersistedVote);

        // A competing candidate of the same term with a smaller leader id is refused.
        leader.Raft.Step(new VoteRequest(1, 1, new Vote(vote.Term + 1, 1), leader.Raft.LastLogId) with { From = 3 });
        Assert.False(leader.Drain().OfType<VoteResponse>().Single().Granted);
    }

    [Fact]
    public void Bug03_SingleNodeLeaderCommitsOnlyAfterItsAppendIsDurable()
    {
        var node = TestNode.Create(1, [1]);
        node.Raft.Campaign();
        node.Drain();
        Assert.Equal(RaftRole.Leader, node.Raft.Role);
        var committedBefore = node.Raft.Committed;

        var result = node.Raft.Propose(new byte[] { 1 });
        var ready = node.Raft.GetReady();
        Assert.Equal(result.LogId, ready.Entries.Span[^1].LogId);
        Assert.Equal(committedBefore, node.Raft.Committed);
        Assert.True(ready.CommittedEntries.IsEmpty);

        node.Persist(ready);
        node.Raft.Advance(ready);
        Assert.Equal(result.LogId, node.Raft.Committed);
    }

    [Fact]
    public void Bug03_FollowerAcknowledgesAnAppendOnlyAfterItIsDurable()
    {
        var follower = TestNode.Create(2, Three);
        var entries = TestNode.LogOf((1, 1), (1, 1));
        follower.Raft.Step(new AppendEntriesRequest(1, 2, LeaderVote(1, 1), null, entries, null));
        var ready = follower.Raft.GetReady();
        Assert.Equal(2, ready.Entries.Length);
        Assert.Empty(ready.Messages);

        // Crash before the write: nothing was acknowledged, nothing is lost that was promised.
        follower.Restart();
        Assert.Empty(follower.Drain());
        Assert.Null(follower.Raft.LastLogId);
    }

    [Fact]
    public void Bug05_TruncatingACommittedEntryFailsLoudlyAndStopsTheGroup()
    {
        var entries = TestNode.LogOf((1, 1), (1, 1), (1, 1));
        var follower = TestNode.Create(2, Three, log: entries, vote: LeaderVote(1, 1), committed: entries[2].LogId);

        var conflicting = Entry.Normal(new LogId(2, 3, 1), new byte[] { 9 });
        var error = Assert.Throws<RaftInvariantException>(() =>
            follower.Raft.Step(new AppendEntriesRequest(3, 2, LeaderVote(2, 3), entries[0].LogId, new[] { conflicting }, null)));
        Assert.Contains("committed", error.Message, StringComparison.Ordinal);
        Assert.Same(error, follower.Raft.Failure);
        Assert.Throws<InvalidOperationException>(() => follower.Raft.Tick());
        Assert.Equal(entries[2].LogId, follower.Raft.LastLogId);
    }

    [Fact]
    public void Bug05_AConflictAtTheCommittedIndexItselfFailsLoudly()
    {
        // The boundary case: the committed entry is the first one the request contradicts.
        var entries = TestNode.LogOf((1, 1), (1, 1), (1, 1));
        var follower = TestNode.Create(2, Three, log: entries, vote: LeaderVote(1, 1), committed: entries[2].LogId);

        var conflicting = Entry.Normal(new LogId(2, 3, 2), new byte[] { 9 });
        Assert.Throws<RaftInvariantException>(() =>
            follower.Raft.Step(new AppendEntriesRequest(3, 2, LeaderVote(2, 3), entries[1].LogId, new[] { conflicting }, null)));
        Assert.NotNull(follower.Raft.Failure);
        Assert.Equal(entries[2].LogId, follower.Raft.LastLogId);
    }

    [Fact]
    public void Bug06_EntriesReplacedWhileTheirAppendIsInFlightStayUnstableAndAreRewritten()
    {
        var follower = TestNode.Create(2, Three);
        var first = TestNode.LogOf((1, 1), (1, 1), (1, 1));
        follower.Raft.Step(new AppendEntriesRequest(1, 2, LeaderVote(1, 1), null, first, null));
        var inFlight = follower.Raft.GetReady();
        Assert.Equal(3, inFlight.Entries.Length);

        // A new leader replaces indexes 1.. while the first write is still in flight.
        var replacing = new[] { Entry.Normal(new LogId(2, 3, 1), new byte[] { 7 }), Entry.Normal(new LogId(2, 3, 2), new byte[] { 8 }) };
        follower.Raft.Step(new AppendEntriesRequest(3, 2, LeaderVote(2, 3), first[0].LogId, replacing, null));

        follower.Persist(inFlight);
        follower.Raft.Advance(inFlight);
        Assert.True(follower.Raft.TryGetLogId(1, out var atOne));
        Assert.Equal(replacing[0].LogId, atOne);

        var repair = follower.Raft.GetReady();
        Assert.True(repair.HasTruncation);
        Assert.Equal(1UL, repair.TruncateFromIndex);
        Assert.Equal(first[0].LogId, repair.TruncateAfter);
        Assert.Equal(replacing.Select(e => e.LogId), repair.Entries.ToArray().Select(e => e.LogId));
        follower.Persist(repair);
        follower.Raft.Advance(repair);

        Assert.Equal([first[0].LogId, replacing[0].LogId, replacing[1].LogId], follower.Log.Entries.ToArray().Select(e => e.LogId));

        // The acknowledgement to the old leader (for entries that never became durable) is dropped:
        // neither the repair's Ready nor any later one carries it.
        var sent = repair.Messages.Concat(follower.Drain()).OfType<AppendEntriesResponse>().ToList();
        Assert.DoesNotContain(sent, r => r.To == 1 && r.Outcome == AppendEntriesOutcome.Success);
        Assert.Contains(sent, r => r.To == 3 && r.Matched == replacing[1].LogId);
    }

    [Fact]
    public void Bug06_EntryThatReturnsAfterATruncationWhileItsWriteIsInFlightIsWrittenAgain()
    {
        var follower = TestNode.Create(2, Three);
        var first = TestNode.LogOf((1, 1), (1, 1));
        follower.Raft.Step(new AppendEntriesRequest(1, 2, LeaderVote(1, 1), null, first, null));
        var inFlight = follower.Raft.GetReady();

        // Leader (2,3) replaces index 1; leader (3,3), which had received (1,1).1, brings it back.
        follower.Raft.Step(new AppendEntriesRequest(3, 2, LeaderVote(2, 3), first[0].LogId, new[] { Entry.Blank(new LogId(2, 3, 1)) }, null));
        follower.Raft.Step(new AppendEntriesRequest(3, 2, LeaderVote(3, 3), first[0].LogId, new[] { first[1] }, null));

        // The in-flight write completes; the truncation pending behind it deletes index 1 again,
        // so the returned entry must be written once more rather than taken as already durable.
        follower.Persist(inFlight);
        follower.Raft.Advance(inFlight);
        follower.Drain();
        Assert.Equal(first.Select(e => e.LogId), follower.Log.Entries.ToArray().Select(e => e.LogId));
        Assert.Equal(first[1].LogId, follower.Raft.LastLogId);
    }

    [Theory]
    [InlineData(1UL)] // the same node, leading again under a greater vote
    [InlineData(3UL)] // another node
    public void Bug06_AnAcknowledgementHeldForAnEarlierLeadershipIsNeverReleased(ulong newLeader)
    {
        // Guards against releasing, once the write completes, an acknowledgement held for a
        // leadership this node has since left: it names entries the new leader replaced before
        // they became durable, and must go neither to the new leadership nor under its vote.
        var follower = TestNode.Create(2, Three);
        var first = TestNode.LogOf((1, 1), (1, 1));
        follower.Raft.Step(new AppendEntriesRequest(1, 2, LeaderVote(1, 1), null, first, null));
        var inFlight = follower.Raft.GetReady();
        Assert.Empty(inFlight.Messages);

        var replacing = Entry.Normal(new LogId(2, newLeader, 1), new byte[] { 7 });
        follower.Raft.Step(new AppendEntriesRequest(newLeader, 2, LeaderVote(2, newLeader), first[0].LogId, new[] { replacing }, null));
        follower.Persist(inFlight);
        follower.Raft.Advance(inFlight);
        var acks = follower.Drain().OfType<AppendEntriesResponse>().Where(r => r.Outcome == AppendEntriesOutcome.Success).ToList();

        var vote = LeaderVote(2, newLeader);
        Assert.True(
            acks.Count == 1 && acks[0].To == newLeader && acks[0].Vote == vote && acks[0].Matched == replacing.LogId,
            $"Expected one acknowledgement of {replacing.LogId} to node {newLeader} under {vote}; sent: {string.Join("; ", acks)}");
    }

    [Fact]
    public void Bug09_DelayedConflictResponseDoesNotMoveAFollowerBackwards()
    {
        var cluster = new TestCluster(3);
        var leader = cluster.Elect(1);
        for (int i = 0; i < 5; i++)
        {
            leader.Raft.Propose(new byte[] { (byte)i });
            cluster.Stabilize();
        }

        var matched = cluster[2].Raft.LastLogId!.Value;
        Assert.Equal(leader.Raft.LastLogId, matched);

        // A conflict for a probe sent long ago (previous index 1) arrives late.
        leader.Raft.Step(new AppendEntriesResponse(2, 1, leader.Raft.Vote, AppendEntriesOutcome.Conflict, null, 1, new LogId(0, 0, 0)));
        leader.Raft.Propose(new byte[] { 99 });
        var toTwo = leader.Drain().OfType<AppendEntriesRequest>().Where(m => m.To == 2).ToList();
        Assert.NotEmpty(toTwo);
        Assert.All(toTwo, m => Assert.True(m.PrevLogId!.Value.Index >= matched.Index, $"Resent from {m.PrevLogId} although {matched} is matched."));
    }

    [Fact]
    public void Bug09_DelayedConflictResponseDoesNotInterruptThePipeline()
    {
        var cluster = new TestCluster(3);
        var leader = cluster.Elect(1);
        for (int i = 0; i < 5; i++)
        {
            leader.Raft.Propose(new byte[] { (byte)i });
            cluster.Stabilize();
        }

        // A conflict for a probe sent long ago arrives late; node 2 is known to hold the whole log.
        leader.Raft.Step(new AppendEntriesResponse(2, 1, leader.Raft.Vote, AppendEntriesOutcome.Conflict, null, 1, new LogId(0, 0, 0)));
        var proposed = leader.Raft.Propose(new byte[] { 99 }).LogId;

        // Replication goes on at once, without probing node 2's position again.
        var toTwo = leader.Drain().OfType<AppendEntriesRequest>().Where(m => m.To == 2).ToList();
        Assert.Contains(toTwo, m => m.Entries.ToArray().Any(e => e.LogId == proposed));
    }

    [Fact]
    public void Bug09_ADuplicatedConflictResponseWhileProbingSendsNoSecondProbe()
    {
        var full = TestNode.LogOf((1, 1), (1, 1), (1, 1), (1, 1), (1, 1));
        var cluster = new TestCluster(3, logs: id => id == 2 ? TestNode.LogOf((1, 1)) : full, vote: LeaderVote(1, 1));
        var leader = cluster[1];
        leader.Raft.Campaign();
        cluster.Stabilize(m => m is VoteRequest or VoteResponse);
        Assert.Equal(RaftRole.Leader, leader.Raft.Role);

        // The heartbeat probes node 2 after index 4, which it does not hold.
        leader.Tick(1);
        cluster[2].Raft.Step(leader.Drain().OfType<AppendEntriesRequest>().Single(m => m.To == 2));
        var conflict = Assert.IsType<AppendEntriesResponse>(Assert.Single(cluster[2].Drain()));
        Assert.Equal(AppendEntriesOutcome.Conflict, conflict.Outcome);

        // The hint moves the probe back to what node 2 holds, in one step.
        leader.Raft.Step(conflict);
        var probe = leader.Drain().OfType<AppendEntriesRequest>().Single(m => m.To == 2);
        Assert.Equal(new LogId(1, 1, 0), probe.PrevLogId);

        // The network delivers the same conflict again: it answers a probe that is over.
        leader.Raft.Step(conflict);
        Assert.DoesNotContain(leader.Drain(), m => m is AppendEntriesRequest { To: 2 });
    }

    [Fact]
    public void Bug10_StorageReadErrorStopsTheGroupInsteadOfSendingAMalformedAppend()
    {
        var entries = TestNode.LogOf((1, 1), (1, 1), (1, 1), (1, 1));
        var source = new FailingLogSource(new InMemoryRaftLog(entries), failAtIndex: 1);
        var node = new RaftNode(1, TestNode.PaperConfig(), source, Membership.FromVoters(Three), new RaftNodeState(LeaderVote(1, 1), null, null));
        node.Campaign();
        Drain(node);
        node.Step(new VoteResponse(2, 1, node.Vote, true, null));
        Assert.Equal(RaftRole.Leader, node.Role);

        // Follower 2 says it holds only index 0: the leader must read index 1 to repair it.
        Drain(node);
        var conflict = new AppendEntriesResponse(2, 1, node.Vote, AppendEntriesOutcome.Conflict, null, 3, new LogId(1, 1, 0));
        var error = Assert.Throws<CorruptedReadException>(() => node.Step(conflict));
        Assert.Same(error, node.Failure);
        Assert.False(node.HasReady);
        Assert.Throws<InvalidOperationException>(() => node.GetReady());
        Assert.Throws<InvalidOperationException>(() => node.Propose(new byte[] { 1 }));
    }

    [Fact]
    public void Bug12_FailedWriteIsNeverAcknowledgedAndTheStoreStaysStopped()
    {
        var storage = new SimulatedStorage();
        var follower = new RaftNode(2, TestNode.PaperConfig(), storage.Log, Membership.FromVoters(Three), RaftNodeState.Initial);
        follower.Step(new AppendEntriesRequest(1, 2, LeaderVote(1, 1), null, TestNode.LogOf((1, 1)), null));

        storage.FailNextWrite = true;
        var ready = follower.GetReady();
        Assert.Throws<StoreFailedException>(() => storage.Persist(ready));
        storage.FailNextWrite = false;

        // The Ready is never advanced, so the acknowledgement never leaves; retrying the write
        // does not pretend it worked.
        Assert.Throws<StoreFailedException>(() => storage.Persist(ready));
        follower.Step(new AppendEntriesRequest(1, 2, LeaderVote(1, 1), null, TestNode.LogOf((1, 1)), null));
        Assert.False(follower.HasReady);
        Assert.Throws<InvalidOperationException>(() => follower.GetReady());
        Assert.Null(storage.Log.LastLogId);
    }

    private static List<RaftMessage> Drain(RaftNode node)
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

    private sealed class CorruptedReadException(ulong index) : RaftStorageException($"Simulated corrupted read at index {index}.");

    private sealed class FailingLogSource(InMemoryRaftLog inner, ulong failAtIndex) : IRaftLogSource
    {
        public LogId? LastLogId => inner.LastLogId;

        public bool TryGetLogId(ulong index, out LogId logId) => inner.TryGetLogId(index, out logId);

        public bool TryGetEntry(ulong index, out Entry entry) =>
            index == failAtIndex ? throw new CorruptedReadException(index) : inner.TryGetEntry(index, out entry);
    }
}
