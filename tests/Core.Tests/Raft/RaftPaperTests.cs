using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Raft.Messages;
using Xunit;

namespace RaftToolkit.Core.Tests.Raft;

/// <summary>
/// The properties of the Raft paper (§5.1–§5.4), one test each, in the order of etcd-raft's
/// raft_paper_test.go. Votes follow openraft's advanced mode: a vote names a leader id
/// (term, node) and "a higher term" reads "a greater vote"; where that changes a property
/// (one vote per leader id rather than per term), the test says so.
/// </summary>
public sealed class RaftPaperTests
{
    private static readonly ulong[] Three = [1, 2, 3];

    private static AppendEntriesRequest Append(ulong from, ulong to, Vote vote, LogId? prev, LogId? commit, params Entry[] entries) =>
        new(from, to, vote, prev, entries, commit);

    private static Vote LeaderVote(ulong term, ulong node) => new Vote(term, node).Commit();

    // §5.1 ------------------------------------------------------------------------------------

    [Fact]
    public void FollowerAdoptsTheGreaterVoteOfAnIncomingMessage()
    {
        var node = TestNode.Create(1, Three, vote: LeaderVote(1, 2));
        node.Raft.Step(Append(3, 1, LeaderVote(2, 3), null, null));
        Assert.Equal(RaftRole.Follower, node.Raft.Role);
        Assert.Equal(LeaderVote(2, 3), node.Raft.Vote);
        Assert.Equal(3UL, node.Raft.LeaderHint);
    }

    [Fact]
    public void CandidateStepsDownWhenAMessageCarriesAGreaterVote()
    {
        var node = TestNode.Create(1, Three);
        node.Raft.Campaign();
        Assert.Equal(RaftRole.Candidate, node.Raft.Role);
        node.Raft.Step(Append(2, 1, LeaderVote(2, 2), null, null));
        Assert.Equal(RaftRole.Follower, node.Raft.Role);
        Assert.Equal(LeaderVote(2, 2), node.Raft.Vote);
    }

    [Fact]
    public void LeaderStepsDownWhenAMessageCarriesAGreaterVote()
    {
        var cluster = new TestCluster(3);
        var leader = cluster.Elect(1);
        Assert.Equal(RaftRole.Leader, leader.Raft.Role);
        var term = leader.Raft.Vote.Term;

        leader.Raft.Step(Append(2, 1, LeaderVote(term + 1, 2), null, null));
        Assert.Equal(RaftRole.Follower, leader.Raft.Role);
        Assert.Equal(LeaderVote(term + 1, 2), leader.Raft.Vote);

        var other = new TestCluster(3).Elect(1);
        other.Raft.Step(new VoteRequest(3, 1, new Vote(term + 1, 3), other.Raft.LastLogId));
        Assert.Equal(RaftRole.Follower, other.Raft.Role);
        Assert.Equal(new Vote(term + 1, 3), other.Raft.Vote);
    }

    [Fact]
    public void RequestWithASmallerVoteIsRejectedAndChangesNothing()
    {
        var node = TestNode.Create(1, Three, log: TestNode.LogOf((2, 2)), vote: LeaderVote(2, 2));
        node.Raft.Step(Append(3, 1, LeaderVote(1, 3), new LogId(2, 2, 0), null, Entry.Normal(new LogId(1, 3, 1), new byte[] { 9 })));
        var response = Assert.IsType<AppendEntriesResponse>(Assert.Single(node.Drain()));
        Assert.Equal(AppendEntriesOutcome.HigherVote, response.Outcome);
        Assert.Equal(LeaderVote(2, 2), response.Vote);
        Assert.Equal(new LogId(2, 2, 0), node.Raft.LastLogId);
        Assert.Equal(1, node.Log.Count);
    }

    /// <summary>
    /// A response made for an earlier leadership (even one of the same node) is stale too: it
    /// describes a log that a leader in between may have changed, so a new leadership learns
    /// nothing from it.
    /// </summary>
    [Fact]
    public void AcknowledgementForAnEarlierLeadershipOfTheSameNodeIsIgnored()
    {
        var cluster = new TestCluster(3);
        var leader = cluster.Elect(1);
        leader.Raft.Propose(new byte[] { 1 });
        cluster[2].Raft.Step(leader.Drain().OfType<AppendEntriesRequest>().Single(m => m.To == 2));
        var lateAck = Assert.IsType<AppendEntriesResponse>(Assert.Single(cluster[2].Drain()));
        Assert.Equal(AppendEntriesOutcome.Success, lateAck.Outcome);

        // Node 1 learns of a greater vote, then wins a new leadership of its own.
        leader.Raft.Step(new AppendEntriesResponse(3, 1, new Vote(leader.Raft.Vote.Term + 1, 3), AppendEntriesOutcome.HigherVote, null, 0, null));
        leader.Raft.Campaign();
        cluster.Stabilize(m => m is VoteRequest or VoteResponse);
        Assert.Equal(RaftRole.Leader, leader.Raft.Role);
        Assert.NotEqual(lateAck.Vote, leader.Raft.Vote);

        leader.Raft.Step(lateAck);

        Assert.True(leader.Raft.TryGetProgress(2, out var matched));
        Assert.Null(matched);
    }

    // §5.2 ------------------------------------------------------------------------------------

    [Fact]
    public void NodesStartAsFollowersAndNonVotersAsLearners()
    {
        Assert.Equal(RaftRole.Follower, TestNode.Create(1, Three).Raft.Role);
        Assert.Equal(RaftRole.Learner, TestNode.Create(4, Three).Raft.Role);
    }

    [Fact]
    public void LeaderSendsAHeartbeatToEveryFollowerEachHeartbeatInterval()
    {
        var cluster = new TestCluster(3);
        var leader = cluster.Elect(1);
        leader.Tick(leader.Config.HeartbeatTicks);
        var beats = leader.Drain().OfType<AppendEntriesRequest>().ToList();
        Assert.Equal([2UL, 3UL], beats.Select(m => m.To).Order());
        Assert.All(beats, m =>
        {
            Assert.True(m.Entries.IsEmpty);
            Assert.Equal(leader.Raft.Vote, m.Vote);
            Assert.Equal(leader.Raft.Committed, m.LeaderCommit);
        });
    }

    [Fact]
    public void FollowerOnElectionTimeoutRaisesItsTermVotesForItselfAndAsksEveryVoter()
    {
        var node = TestNode.Create(1, Three, vote: LeaderVote(1, 2));
        node.Tick(2 * node.Config.ElectionTicks);
        Assert.Equal(RaftRole.Candidate, node.Raft.Role);
        Assert.Equal(new Vote(2, 1), node.Raft.Vote);
        var requests = node.Drain().Cast<VoteRequest>().ToList();
        Assert.Equal([2UL, 3UL], requests.Select(m => m.To).Order());
        Assert.All(requests, m => Assert.Equal(new Vote(2, 1), m.Vote));
        Assert.Equal(new Vote(2, 1), node.PersistedVote);
    }

    [Fact]
    public void CandidateThatDoesNotWinStartsANewElectionAfterItsTimeout()
    {
        var node = TestNode.Create(1, Three, vote: LeaderVote(1, 2));
        node.Tick(2 * node.Config.ElectionTicks);
        node.Drain();
        Assert.Equal(new Vote(2, 1), node.Raft.Vote);

        node.Tick(2 * node.Config.ElectionTicks);
        Assert.Equal(RaftRole.Candidate, node.Raft.Role);
        Assert.Equal(new Vote(3, 1), node.Raft.Vote);
        Assert.Equal(2, node.Drain().OfType<VoteRequest>().Count(m => m.Vote == new Vote(3, 1)));
    }

    [Theory]
    [InlineData(1, new ulong[0], new ulong[0], RaftRole.Leader)]
    [InlineData(3, new ulong[] { 2, 3 }, new ulong[0], RaftRole.Leader)]
    [InlineData(3, new ulong[] { 2 }, new ulong[0], RaftRole.Leader)]
    [InlineData(5, new ulong[] { 2, 3, 4, 5 }, new ulong[0], RaftRole.Leader)]
    [InlineData(5, new ulong[] { 2, 3 }, new ulong[0], RaftRole.Leader)]
    [InlineData(3, new ulong[0], new ulong[] { 2, 3 }, RaftRole.Candidate)]
    [InlineData(5, new ulong[] { 2 }, new ulong[] { 3, 4 }, RaftRole.Candidate)]
    [InlineData(5, new ulong[] { 2 }, new ulong[0], RaftRole.Candidate)]
    [InlineData(3, new ulong[0], new ulong[0], RaftRole.Candidate)]
    [InlineData(4, new ulong[] { 2, 3 }, new ulong[0], RaftRole.Leader)]
    [InlineData(4, new ulong[] { 2 }, new ulong[] { 3, 4 }, RaftRole.Candidate)] // half of an even group is no majority
    public void OneElectionRoundEndsInAWinALossOrNoResult(int size, ulong[] grants, ulong[] refusals, RaftRole expected)
    {
        var voters = Enumerable.Range(1, size).Select(i => (ulong)i).ToArray();
        var node = TestNode.Create(1, voters);
        node.Raft.Campaign();
        node.Drain();
        var vote = node.Raft.Vote;
        foreach (var from in grants)
        {
            node.Raft.Step(new VoteResponse(from, 1, vote, true, null));
        }

        foreach (var from in refusals)
        {
            node.Raft.Step(new VoteResponse(from, 1, new Vote(0, 0), false, null));
        }

        Assert.Equal(expected, node.Raft.Role);
        Assert.Equal(vote.Term, node.Raft.Vote.Term);
    }

    /// <summary>
    /// A grant counts only for the vote it grants: a delayed grant of the candidate's previous
    /// campaign says nothing about the current one (the voter may have voted for another
    /// candidate since, or taken entries that make this candidate's log too stale).
    /// </summary>
    [Fact]
    public void CandidateCountsOnlyGrantsOfItsCurrentCampaign()
    {
        var node = TestNode.Create(1, Three);
        node.Raft.Campaign();
        node.Drain();
        var first = node.Raft.Vote;

        // The first campaign gets no answer in time; the second one starts.
        node.Raft.Campaign();
        node.Drain();
        var second = node.Raft.Vote;
        Assert.True(second > first);

        node.Raft.Step(new VoteResponse(2, 1, first, true, null));
        node.Drain();
        Assert.Equal(RaftRole.Candidate, node.Raft.Role);
        Assert.Equal(second, node.Raft.Vote);

        node.Raft.Step(new VoteResponse(3, 1, second, true, null));
        node.Drain();
        Assert.Equal(RaftRole.Leader, node.Raft.Role);
    }

    /// <summary>
    /// Paper: at most one vote per term, first come first served. Advanced mode: at most one
    /// vote per leader id, and never for one smaller than the vote already given; a greater
    /// leader id of the same term may still be granted (it cannot produce a second leader of
    /// the same leader id).
    /// </summary>
    [Theory]
    [InlineData(0UL, 0UL, 2UL, 2UL, true)]    // no vote yet
    [InlineData(2UL, 2UL, 2UL, 2UL, true)]    // the same candidate again
    [InlineData(2UL, 3UL, 2UL, 2UL, false)]   // voted for (2,3): (2,2) is smaller
    [InlineData(2UL, 2UL, 2UL, 3UL, true)]    // (2,3) is greater than (2,2)
    [InlineData(3UL, 2UL, 2UL, 3UL, false)]   // an earlier term
    public void VoterGrantsOnlyVotesAtLeastAsGreatAsTheOneItGave(ulong votedTerm, ulong votedFor, ulong term, ulong candidate, bool granted)
    {
        var node = TestNode.Create(1, [1, 2, 3], vote: new Vote(votedTerm, votedFor));
        node.Raft.Step(new VoteRequest(candidate, 1, new Vote(term, candidate), null));
        var response = Assert.IsType<VoteResponse>(Assert.Single(node.Drain()));
        Assert.Equal(granted, response.Granted);
        Assert.Equal(granted ? new Vote(term, candidate) : new Vote(votedTerm, votedFor), node.PersistedVote);
    }

    [Fact]
    public void CandidateStepsDownOnAppendFromALeaderWithAVoteAtLeastItsOwn()
    {
        var sameTermGreaterNode = TestNode.Create(1, Three);
        sameTermGreaterNode.Raft.Campaign();
        sameTermGreaterNode.Raft.Step(Append(2, 1, LeaderVote(1, 2), null, null));
        Assert.Equal(RaftRole.Follower, sameTermGreaterNode.Raft.Role);
        Assert.Equal(2UL, sameTermGreaterNode.Raft.LeaderHint);

        var higherTerm = TestNode.Create(3, Three);
        higherTerm.Raft.Campaign();
        higherTerm.Raft.Step(Append(2, 3, LeaderVote(2, 2), null, null));
        Assert.Equal(RaftRole.Follower, higherTerm.Raft.Role);
        Assert.Equal(LeaderVote(2, 2), higherTerm.Raft.Vote);
    }

    [Fact]
    public void FollowerElectionTimeoutIsRandomizedOverOneTimeoutRange()
        => AssertTimeoutsCoverRange(node => { });

    [Fact]
    public void CandidateElectionTimeoutIsRandomizedOverOneTimeoutRange()
        => AssertTimeoutsCoverRange(node => { node.Raft.Campaign(); node.Drain(); });

    [Fact]
    public void FollowersElectionTimeoutsRarelyCollide()
        => Assert.True(CollisionRate(prepare: node => { }) <= 0.3);

    [Fact]
    public void CandidatesElectionTimeoutsRarelyCollide()
        => Assert.True(CollisionRate(prepare: node => { node.Raft.Campaign(); node.Drain(); }) <= 0.3);

    private static void AssertTimeoutsCoverRange(Action<TestNode> prepare)
    {
        var seen = new HashSet<int>();
        for (ulong seed = 0; seed < 200; seed++)
        {
            var node = TestNode.Create(1, Three, TestNode.PaperConfig(seed));
            prepare(node);
            int timeout = node.TicksUntilCampaign();
            Assert.InRange(timeout, node.Config.ElectionTicks, (2 * node.Config.ElectionTicks) - 1);
            seen.Add(timeout);
        }

        Assert.Equal(10, seen.Count);
    }

    /// <summary>Fraction of rounds in which two of five nodes time out on the same tick first.</summary>
    private static double CollisionRate(Action<TestNode> prepare)
    {
        int collisions = 0;
        const int rounds = 500;
        for (int round = 0; round < rounds; round++)
        {
            var timeouts = new List<int>();
            for (ulong id = 1; id <= 5; id++)
            {
                var node = TestNode.Create(id, [1, 2, 3, 4, 5], TestNode.PaperConfig((ulong)round));
                prepare(node);
                timeouts.Add(node.TicksUntilCampaign());
            }

            int first = timeouts.Min();
            if (timeouts.Count(t => t == first) > 1)
            {
                collisions++;
            }
        }

        return (double)collisions / rounds;
    }

    // §5.3 ------------------------------------------------------------------------------------

    [Fact]
    public void LeaderAppendsAProposalAndReplicatesItAfterItsPreviousLogId()
    {
        var cluster = new TestCluster(3);
        var leader = cluster.Elect(1);
        var before = leader.Raft.LastLogId;
        var result = leader.Raft.Propose(new byte[] { 42 });
        Assert.True(result.IsAccepted);
        Assert.Equal(before.NextIndex(), result.LogId.Index);
        Assert.Equal(leader.Raft.Vote.LeaderId, result.LogId.LeaderId);

        var appends = leader.Drain().OfType<AppendEntriesRequest>().ToList();
        Assert.Equal([2UL, 3UL], appends.Select(m => m.To).Order());
        Assert.All(appends, m =>
        {
            Assert.Equal(before, m.PrevLogId);
            Assert.Equal(result.LogId, Assert.Single(m.Entries.ToArray()).LogId);
        });
        Assert.Equal(result.LogId, leader.Log.LastLogId);
    }

    [Fact]
    public void EntryReplicatedToAMajorityCommitsAndTheCommitReachesFollowers()
    {
        var cluster = new TestCluster(3);
        var leader = cluster.Elect(1);
        var result = leader.Raft.Propose(new byte[] { 7 });
        cluster.Stabilize();
        Assert.Equal(result.LogId, leader.Raft.Committed);
        Assert.Equal(result.LogId, leader.Applied[^1].LogId);

        leader.Tick(leader.Config.HeartbeatTicks);
        cluster.Stabilize();
        foreach (var follower in new[] { cluster[2], cluster[3] })
        {
            Assert.Equal(result.LogId, follower.Raft.Committed);
            Assert.Equal(result.LogId, follower.Applied[^1].LogId);
        }
    }

    [Theory]
    [InlineData(1, new ulong[0], true)]
    [InlineData(3, new ulong[0], false)]
    [InlineData(3, new ulong[] { 2 }, true)]
    [InlineData(3, new ulong[] { 2, 3 }, true)]
    [InlineData(5, new ulong[0], false)]
    [InlineData(5, new ulong[] { 2 }, false)]
    [InlineData(5, new ulong[] { 2, 3 }, true)]
    [InlineData(5, new ulong[] { 2, 3, 4, 5 }, true)]
    [InlineData(4, new ulong[] { 2 }, false)] // half of an even group is no majority
    [InlineData(4, new ulong[] { 2, 3 }, true)]
    public void LeaderCommitsOnlyOnceAQuorumAcknowledged(int size, ulong[] acks, bool commits)
    {
        var voters = Enumerable.Range(1, size).Select(i => (ulong)i).ToArray();
        var cluster = new TestCluster(size);
        var leader = cluster.Elect(1);
        foreach (var id in voters.Skip(1).Where(id => !acks.Contains(id)))
        {
            cluster.Cut(1, id);
        }

        var result = leader.Raft.Propose(new byte[] { 1 });
        cluster.Stabilize();
        Assert.Equal(commits, leader.Raft.Committed == result.LogId);
    }

    [Fact]
    public void CommittingAnOwnEntryCommitsEveryEarlierEntryAndAppliesThemInOrder()
    {
        // Node 1 holds entries of earlier leaders that were never known committed.
        var earlier = TestNode.LogOf((1, 2), (1, 2), (2, 3));
        var cluster = new TestCluster(3, logs: id => id == 1 ? earlier : TestNode.LogOf((1, 2)));
        var leader = cluster.Elect(1);
        Assert.Equal(RaftRole.Leader, leader.Raft.Role);
        Assert.Equal(3UL, leader.Raft.Committed!.Value.Index);
        Assert.Equal([0UL, 1UL, 2UL, 3UL], leader.Applied.Select(e => e.Index));
        Assert.Equal(earlier.Select(e => e.LogId), leader.Applied.Take(3).Select(e => e.LogId));
    }

    [Fact]
    public void FollowerCommitsUpToTheLeaderCommitWithinWhatTheRequestProved()
    {
        var node = TestNode.Create(2, Three);
        var entries = TestNode.LogOf((1, 1), (1, 1), (1, 1));
        node.Raft.Step(Append(1, 2, LeaderVote(1, 1), null, entries[1].LogId, entries));
        node.Drain();
        Assert.Equal(entries[1].LogId, node.Raft.Committed);
        Assert.Equal(entries.Take(2).Select(e => e.LogId), node.Applied.Select(e => e.LogId));

        // A commit beyond what this request matched is capped at its last entry.
        var more = TestNode.Create(3, Three);
        more.Raft.Step(Append(1, 3, LeaderVote(1, 1), null, new LogId(1, 1, 9), entries[0]));
        more.Drain();
        Assert.Equal(entries[0].LogId, more.Raft.Committed);
    }

    [Theory]
    [InlineData(1UL, 0UL, AppendEntriesOutcome.Success)]  // prev (1,1).0 matches
    [InlineData(2UL, 1UL, AppendEntriesOutcome.Success)]  // prev (2,2).1 matches
    [InlineData(1UL, 1UL, AppendEntriesOutcome.Conflict)] // index 1 has another leader id
    [InlineData(2UL, 3UL, AppendEntriesOutcome.Conflict)] // index 3 is past the end
    public void FollowerRejectsAnAppendWhosePreviousLogIdItDoesNotHold(ulong prevLeaderTerm, ulong prevIndex, AppendEntriesOutcome expected)
    {
        var node = TestNode.Create(2, Three, log: TestNode.LogOf((1, 1), (2, 2), (2, 2)), vote: LeaderVote(2, 2));
        var prev = new LogId(prevLeaderTerm, prevLeaderTerm, prevIndex);
        node.Raft.Step(Append(3, 2, LeaderVote(3, 3), prev, null));
        var response = Assert.IsType<AppendEntriesResponse>(Assert.Single(node.Drain()));
        Assert.Equal(expected, response.Outcome);
        if (expected == AppendEntriesOutcome.Conflict)
        {
            Assert.Equal(prevIndex, response.RejectedPrevIndex);
        }
        else
        {
            Assert.Equal(prev, response.Matched);
        }
    }

    public static TheoryData<int, (ulong, ulong)[], (ulong, ulong)[]> AppendCases => new()
    {
        // prev index, new entries (term, leader node) from prev+1, expected log afterwards
        { 1, [(3, 3)], [(1, 1), (2, 2), (3, 3)] },                   // conflict at index 2: replaced
        { 0, [(3, 3), (4, 4)], [(1, 1), (3, 3), (4, 4)] },           // conflict at index 1
        { 1, [(2, 2)], [(1, 1), (2, 2), (2, 2)] },                   // already held: nothing changes
        { 2, [(3, 3), (3, 3)], [(1, 1), (2, 2), (2, 2), (3, 3), (3, 3)] }, // appended at the end
    };

    [Theory]
    [MemberData(nameof(AppendCases))]
    public void FollowerDeletesAConflictingSuffixAppendsAndPersistsNewEntries(int prevIndex, (ulong, ulong)[] incoming, (ulong, ulong)[] expected)
    {
        var existing = TestNode.LogOf((1, 1), (2, 2), (2, 2));
        var node = TestNode.Create(2, Three, log: existing, vote: LeaderVote(2, 2));
        var prev = existing[prevIndex].LogId;
        var entries = incoming.Select((t, i) => Entry.Normal(new LogId(t.Item1, t.Item2, (ulong)(prevIndex + 1 + i)), new byte[] { (byte)(prevIndex + 1 + i), (byte)t.Item1 })).ToArray();
        node.Raft.Step(Append(4, 2, LeaderVote(4, 4), prev, null, entries));
        var response = Assert.IsType<AppendEntriesResponse>(Assert.Single(node.Drain()));
        Assert.Equal(AppendEntriesOutcome.Success, response.Outcome);

        var want = expected.Select((t, i) => new LogId(t.Item1, t.Item2, (ulong)i)).ToArray();
        Assert.Equal(want, node.Log.Entries.ToArray().Select(e => e.LogId));
        Assert.Equal(want[^1], node.Raft.LastLogId);
    }

    [Fact]
    public void FollowerKeepsTheEntriesAfterADelayedAppendWhoseEntriesItAlreadyHolds()
    {
        // Guards against deleting a matching suffix: only a conflicting entry starts a deletion
        // (§5.3). An append for an earlier prefix arrives late, or twice, after later ones; its
        // entries all match, so the entries after them must stay.
        var existing = TestNode.LogOf((1, 1), (2, 2), (2, 2), (2, 2));
        var node = TestNode.Create(2, Three, log: existing, vote: LeaderVote(2, 2));

        for (int delivery = 1; delivery <= 2; delivery++)
        {
            node.Raft.Step(Append(2, 2, LeaderVote(2, 2), existing[0].LogId, null, existing[1]));
            var ready = node.Raft.GetReady();
            Assert.False(ready.HasTruncation, $"Delivery {delivery}: a matching append truncated from index {ready.TruncateFromIndex}.");
            Assert.True(ready.Entries.IsEmpty, $"Delivery {delivery}: entries the log already held were written again.");
            var sent = ready.Messages.ToList();
            node.Persist(ready);
            node.Raft.Advance(ready);
            sent.AddRange(node.Drain());
            var response = Assert.IsType<AppendEntriesResponse>(Assert.Single(sent));
            Assert.Equal(AppendEntriesOutcome.Success, response.Outcome);
            Assert.Equal(existing[1].LogId, response.Matched);

            Assert.Equal(existing.Select(e => e.LogId), node.Log.Entries.ToArray().Select(e => e.LogId));
            Assert.Equal(existing[^1].LogId, node.Raft.LastLogId);
        }
    }

    public static TheoryData<string, (ulong, ulong)[]> Figure7Followers => new()
    {
        // The leader's log (Figure 7, top) is L below; each follower diverges as in cases a-f.
        { "a: missing entries", [(1, 1), (1, 1), (1, 1), (4, 4), (4, 4), (5, 5), (5, 5), (6, 6), (6, 6)] },
        { "b: far behind", [(1, 1), (1, 1), (1, 1), (4, 4)] },
        { "c: extra entry of the leader's term", [(1, 1), (1, 1), (1, 1), (4, 4), (4, 4), (5, 5), (5, 5), (6, 6), (6, 6), (6, 6), (6, 6)] },
        { "d: extra entries of a later term", [(1, 1), (1, 1), (1, 1), (4, 4), (4, 4), (5, 5), (5, 5), (6, 6), (6, 6), (6, 6), (7, 7), (7, 7)] },
        { "e: uncommitted entries of an older term", [(1, 1), (1, 1), (1, 1), (4, 4), (4, 4), (4, 4), (4, 4)] },
        { "f: a divergent run of terms 2 and 3", [(1, 1), (1, 1), (1, 1), (2, 2), (2, 2), (2, 2), (3, 3), (3, 3), (3, 3), (3, 3), (3, 3)] },
    };

    [Theory]
    [MemberData(nameof(Figure7Followers))]
    public void LeaderBringsADivergentFollowerLogToItsOwn(string name, (ulong, ulong)[] followerLog)
    {
        _ = name;
        var leaderLog = TestNode.LogOf((1, 1), (1, 1), (1, 1), (4, 4), (4, 4), (5, 5), (5, 5), (6, 6), (6, 6), (6, 6));

        // Node 1 leads with vote (8, 1); node 3 holds the leader's log too so that a quorum exists.
        var cluster = new TestCluster(3, logs: id => id == 2 ? TestNode.LogOf(followerLog) : leaderLog, vote: LeaderVote(7, 7));

        var leader = cluster.Elect(1);
        Assert.Equal(RaftRole.Leader, leader.Raft.Role);
        leader.Raft.Propose(new byte[] { 1 });
        cluster.Stabilize();
        leader.Tick(1);
        cluster.Stabilize();

        var expected = leader.Log.Entries.ToArray();
        Assert.Equal(expected, cluster[2].Log.Entries.ToArray());
        Assert.Equal(leader.Raft.Committed, cluster[2].Raft.Committed);
    }

    // §5.4 ------------------------------------------------------------------------------------

    [Fact]
    public void VoteRequestsCarryTheCandidatesLastLogId()
    {
        var node = TestNode.Create(1, Three, log: TestNode.LogOf((1, 1), (2, 2)), vote: LeaderVote(2, 2));
        node.Raft.Campaign();
        var requests = node.Drain().Cast<VoteRequest>().ToList();
        Assert.Equal(2, requests.Count);
        Assert.All(requests, r => Assert.Equal(new LogId(2, 2, 1), r.LastLogId));
        Assert.All(requests, r => Assert.Equal(new Vote(3, 1), r.Vote));
    }

    [Theory]
    [InlineData(2UL, 1UL, true)]   // same last log id
    [InlineData(2UL, 2UL, true)]   // longer log of the same leader
    [InlineData(3UL, 0UL, true)]   // later leader id, shorter
    [InlineData(2UL, 0UL, false)]  // same leader, shorter
    [InlineData(1UL, 5UL, false)]  // earlier leader id, longer
    public void VoterRefusesACandidateWhoseLogIsLessUpToDate(ulong lastTerm, ulong lastIndex, bool granted)
    {
        var node = TestNode.Create(1, Three, log: TestNode.LogOf((1, 1), (2, 2)), vote: LeaderVote(2, 2));
        node.Raft.Step(new VoteRequest(3, 1, new Vote(5, 3), new LogId(lastTerm, lastTerm, lastIndex)));
        var response = Assert.IsType<VoteResponse>(Assert.Single(node.Drain()));
        Assert.Equal(granted, response.Granted);
    }

    [Fact]
    public void LeaderCommitsByCountingReplicasOnlyForEntriesOfItsOwnLeadership()
    {
        // Node 1 becomes leader holding an entry of an earlier leader that a quorum stores.
        var earlier = TestNode.LogOf((1, 1), (2, 2));
        var cluster = new TestCluster(3, logs: id => earlier, vote: LeaderVote(2, 2));
        var leader = cluster[1];
        leader.Raft.Campaign();

        // Deliver the votes but cut replication: the blank entry of the new leadership stays local.
        cluster.Cut(1, 2);
        cluster.Cut(1, 3);
        leader.Drain().ForEach(m => cluster[m.To].Raft.Step(m));
        cluster[2].Drain().ForEach(m => leader.Raft.Step(m));
        cluster[3].Drain().ForEach(m => leader.Raft.Step(m));
        Assert.Equal(RaftRole.Leader, leader.Raft.Role);

        // Followers acknowledge index 1 (they hold it), but it is of an earlier leadership.
        foreach (ulong follower in new ulong[] { 2, 3 })
        {
            leader.Raft.Step(new AppendEntriesResponse(follower, 1, leader.Raft.Vote, AppendEntriesOutcome.Success, earlier[1].LogId, 0, null));
        }

        leader.Drain();
        Assert.Null(leader.Raft.Committed);

        // Once the blank entry of its own leadership reaches a quorum, both commit (the lost
        // requests are noticed as a stalled pipeline within an election timeout).
        cluster.Heal();
        for (int i = 0; i < leader.Config.ElectionTicks; i++)
        {
            leader.Tick(1);
            cluster.Stabilize();
        }

        Assert.Equal(new LogId(new LeaderId(3, 1), 2), leader.Raft.Committed);
    }
}
