using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Raft.Messages;
using Xunit;

namespace RaftToolkit.Core.Tests.Raft;

/// <summary>Snapshots and log compaction: when a snapshot is asked for, how far the log is purged, and how a lagging follower installs one.</summary>
public sealed class SnapshotTests
{
    private const int ElectionTicks = 10;

    private static RaftConfig Config(int snapshotAfter = 0, int keep = 0, int chunkBytes = 1 << 20, int holdElections = 3, int maxEntries = 64) => new()
    {
        ElectionTicks = ElectionTicks,
        HeartbeatTicks = 1,
        CheckQuorum = true,
        PreVote = true,
        RandomSeed = 7,
        SnapshotAfterEntries = snapshotAfter,
        PurgeKeepEntries = keep,
        SnapshotChunkBytes = chunkBytes,
        PurgeHoldElectionTimeouts = holdElections,
        MaxEntriesPerAppend = maxEntries,
    };

    private static void ProposeAndStabilize(TestCluster cluster, TestNode leader, int count, Func<RaftMessage, bool>? deliver = null)
    {
        for (int i = 0; i < count; i++)
        {
            Assert.True(leader.Raft.Propose(new byte[] { (byte)i, 42 }).IsAccepted);
        }

        cluster.Stabilize(deliver);
    }

    [Fact]
    public void SizePolicyAsksForASnapshotOnceTheConfiguredNumberOfEntriesIsApplied()
    {
        var cluster = new TestCluster(3, Config(snapshotAfter: 5));
        var leader = cluster.Elect(1);
        ProposeAndStabilize(cluster, leader, 3);
        Assert.Equal(3UL, leader.LastApplied!.Value.Index);
        Assert.Equal(0, leader.SnapshotRequests);

        ProposeAndStabilize(cluster, leader, 1);

        Assert.Equal(1, leader.SnapshotRequests);
        Assert.Equal(leader.LastApplied, leader.Raft.Snapshot!.LastLogId);
    }

    [Fact]
    public void RequestSnapshotAsksTheHostAtTheNextReadyWithoutAPolicy()
    {
        var cluster = new TestCluster(3, Config(snapshotAfter: 0));
        var leader = cluster.Elect(1);
        ProposeAndStabilize(cluster, leader, 2);
        Assert.Equal(0, leader.SnapshotRequests);

        leader.Raft.RequestSnapshot();
        Assert.True(leader.Raft.HasReady);
        leader.Drain();

        Assert.Equal(1, leader.SnapshotRequests);
        Assert.Equal(leader.LastApplied, leader.Raft.Snapshot!.LastLogId);
    }

    [Fact]
    public void ASnapshotPastWhatWasHandedOutForApplyIsRejectedAndChangesNothing()
    {
        var cluster = new TestCluster(3, Config());
        var leader = cluster.Elect(1);
        ProposeAndStabilize(cluster, leader, 2);
        var beyond = new SnapshotMeta(new LogId(leader.Raft.Vote.LeaderId, 3), StoredMembership.Default, "too-far");

        Assert.Throws<ArgumentException>(() => leader.Raft.SnapshotBuilt(beyond, new byte[] { 1 }));

        Assert.Null(leader.Raft.Snapshot);
        Assert.Null(leader.Raft.LastPurgedLogId);
    }

    [Fact]
    public void NothingIsPurgedBeforeASnapshotCoversIt()
    {
        var cluster = new TestCluster(3, Config(keep: 0));
        var leader = cluster.Elect(1);
        ProposeAndStabilize(cluster, leader, 10);
        cluster.TickAll(3);

        Assert.Empty(leader.Purges);
        Assert.Equal(0UL, leader.Log.FirstIndex);
    }

    [Fact]
    public void PurgeKeepsTheConfiguredWindowOfEntriesBehindTheSnapshot()
    {
        var cluster = new TestCluster(3, Config(keep: 3));
        var leader = cluster.Elect(1);
        ProposeAndStabilize(cluster, leader, 10);

        leader.Raft.RequestSnapshot();
        cluster.Stabilize();

        Assert.Equal(10UL, leader.Raft.Snapshot!.LastLogId!.Value.Index);
        Assert.Equal(7UL, leader.Raft.LastPurgedLogId!.Value.Index);
        Assert.Equal(8UL, leader.Log.FirstIndex);
        Assert.Equal(leader.Raft.LastPurgedLogId, leader.Log.LastPurgedLogId);
    }

    [Fact]
    public void PurgeNeverPassesTheSnapshotEvenWhenMoreIsApplied()
    {
        var cluster = new TestCluster(3, Config(keep: 0));
        var leader = cluster.Elect(1);
        ProposeAndStabilize(cluster, leader, 10);
        Assert.True(leader.Raft.TryGetLogId(5, out var five));

        Assert.True(leader.Raft.SnapshotBuilt(new SnapshotMeta(five, StoredMembership.Default, "at-5"), new byte[] { 5 }));
        cluster.Stabilize();

        Assert.Equal(10UL, leader.LastApplied!.Value.Index);
        Assert.Equal(five, leader.Raft.LastPurgedLogId);
        Assert.Equal(6UL, leader.Log.FirstIndex);
    }

    [Fact]
    public void PurgeDoesNotRemoveEntriesALiveLaggingFollowerStillNeeds()
    {
        var cluster = new TestCluster(3, Config(keep: 0));
        var leader = cluster.Elect(1);
        ProposeAndStabilize(cluster, leader, 2);
        cluster.Isolate(3);
        ProposeAndStabilize(cluster, leader, 10);

        leader.Raft.RequestSnapshot();
        cluster.Stabilize();

        // Node 3 was heard from within the hold time and matched only index 2.
        Assert.Equal(12UL, leader.Raft.Snapshot!.LastLogId!.Value.Index);
        Assert.Equal(2UL, leader.Raft.LastPurgedLogId!.Value.Index);

        cluster.Heal();
        cluster.TickAll(ElectionTicks);

        // It caught up from the log (no snapshot needed), and then the purge moved on.
        Assert.Empty(cluster[3].Installed);
        Assert.Equal(leader.Raft.LastLogId, cluster[3].Raft.LastLogId);
        Assert.Equal(12UL, leader.Raft.LastPurgedLogId!.Value.Index);
    }

    /// <summary>
    /// A member the leader has not heard from yet (here a learner just added) may need any entry:
    /// the purge waits for its first answer, or for it to stay silent for the hold time.
    /// </summary>
    [Fact]
    public void PurgeWaitsForAMemberWhosePositionTheLeaderDoesNotKnowYet()
    {
        const int hold = 2;
        var cluster = new TestCluster(3, Config(keep: 0, holdElections: hold));
        var leader = cluster.Elect(1);
        ProposeAndStabilize(cluster, leader, 10);
        cluster.Cut(1, 4);
        Assert.True(leader.Raft.ProposeMembershipChange(MembershipChange.AddLearners(4)).IsAccepted);
        cluster.Stabilize();
        Assert.True(leader.Raft.TryGetProgress(4, out var learnerMatched));
        Assert.Null(learnerMatched);

        leader.Raft.RequestSnapshot();
        cluster.Stabilize();
        Assert.NotNull(leader.Raft.Snapshot);
        Assert.Null(leader.Raft.LastPurgedLogId);

        // Silent for the hold time: it no longer holds the purge (it will get the snapshot).
        cluster.TickAll((hold * ElectionTicks) + 1);
        Assert.Equal(leader.Raft.Snapshot!.LastLogId, leader.Raft.LastPurgedLogId);
    }

    [Fact]
    public void ASilentFollowerStopsHoldingThePurgeAfterTheConfiguredElectionTimeoutsAndGetsASnapshot()
    {
        const int hold = 2;
        var cluster = new TestCluster(3, Config(keep: 0, holdElections: hold));
        var leader = cluster.Elect(1);
        ProposeAndStabilize(cluster, leader, 2);
        cluster.Isolate(3);
        ProposeAndStabilize(cluster, leader, 10);
        leader.Raft.RequestSnapshot();
        cluster.Stabilize();

        cluster.TickAll((hold * ElectionTicks) - 3);
        Assert.Equal(2UL, leader.Raft.LastPurgedLogId!.Value.Index);

        cluster.TickAll(4);
        var snapshotLast = leader.Raft.Snapshot!.LastLogId!.Value;
        Assert.Equal(snapshotLast, leader.Raft.LastPurgedLogId);

        cluster.Heal();
        cluster.TickAll(ElectionTicks);

        var follower = cluster[3];
        Assert.Equal([leader.Raft.Snapshot], follower.Installed);
        Assert.Equal(leader.Raft.LastLogId, follower.Raft.LastLogId);
        Assert.Equal(leader.Raft.Committed, follower.Raft.Committed);
    }

    [Fact]
    public void ALaggingFollowerReceivesTheSnapshotInChunksAndItsLogRestartsAfterIt()
    {
        var cluster = new TestCluster(3, Config(keep: 0, chunkBytes: 5, holdElections: 1));
        var leader = cluster.Elect(1);
        cluster.Isolate(3);
        ProposeAndStabilize(cluster, leader, 10);
        leader.Raft.RequestSnapshot();
        cluster.TickAll(ElectionTicks + 1);
        var snapshot = leader.Raft.Snapshot!;
        Assert.Equal(snapshot.LastLogId, leader.Raft.LastPurgedLogId);
        ProposeAndStabilize(cluster, leader, 2);

        cluster.Heal();
        var chunks = new List<InstallSnapshotRequest>();
        cluster.TickAll(ElectionTicks, m =>
        {
            if (m is InstallSnapshotRequest chunk)
            {
                chunks.Add(chunk);
            }

            return true;
        });

        // 16 bytes in chunks of at most 5: offsets 0, 5, 10, 15, the last one done.
        Assert.Equal([0UL, 5UL, 10UL, 15UL], chunks.Select(c => c.Offset));
        Assert.Equal([false, false, false, true], chunks.Select(c => c.Done));
        var follower = cluster[3];
        Assert.Equal([snapshot], follower.Installed);
        Assert.Equal(leader.PersistedSnapshotData, follower.PersistedSnapshotData);
        Assert.Equal(snapshot.LastLogId, follower.Log.LastPurgedLogId);
        Assert.Equal(snapshot.LastLogId!.Value.Index + 1, follower.Log.FirstIndex);
        Assert.Equal(leader.Raft.LastLogId, follower.Raft.LastLogId);
        Assert.Equal(leader.LastApplied, follower.LastApplied);
        Assert.Equal(
            leader.Applied.Where(e => e.Index > snapshot.LastLogId.Value.Index).Select(e => e.LogId),
            follower.Applied.Where(e => e.Index > snapshot.LastLogId.Value.Index).Select(e => e.LogId));
    }

    [Fact]
    public void TheLeaderResendsFromWhereTheFollowerSaysItStandsEvenIfThatIsBehind()
    {
        var cluster = new TestCluster(3, Config(keep: 0, chunkBytes: 5, holdElections: 1));
        var leader = cluster.Elect(1);
        cluster.Isolate(3);
        ProposeAndStabilize(cluster, leader, 6);
        leader.Raft.RequestSnapshot();
        cluster.TickAll(ElectionTicks + 1);
        var id = leader.Raft.Snapshot!.SnapshotId;
        var vote = leader.Raft.Vote;
        leader.Drain();

        leader.Raft.Step(new InstallSnapshotResponse(3, 1, vote, id, 10, false));
        var forward = leader.Drain().OfType<InstallSnapshotRequest>().Single();

        // The follower restarted and then took a delayed first chunk: it holds 5 bytes, not 10.
        leader.Raft.Step(new InstallSnapshotResponse(3, 1, vote, id, 5, false));
        var back = leader.Drain().OfType<InstallSnapshotRequest>().Single();

        Assert.Equal(10UL, forward.Offset);
        Assert.Equal(5UL, back.Offset);
    }

    [Fact]
    public void AFollowerRestartsFromItsInstalledSnapshot()
    {
        var cluster = new TestCluster(3, Config(keep: 0, holdElections: 1));
        var leader = cluster.Elect(1);
        cluster.Isolate(3);
        ProposeAndStabilize(cluster, leader, 6);
        leader.Raft.RequestSnapshot();
        cluster.TickAll(ElectionTicks + 1);
        cluster.Heal();
        cluster.TickAll(ElectionTicks);
        var follower = cluster[3];
        var installed = Assert.Single(follower.Installed);

        follower.Restart();

        Assert.Equal(installed, follower.Raft.Snapshot);
        Assert.Equal(installed.LastLogId, follower.Raft.LastPurgedLogId);
        Assert.Equal(leader.Raft.LastLogId, follower.Raft.LastLogId);
        ProposeAndStabilize(cluster, leader, 1);
        Assert.Equal(leader.Raft.LastLogId, follower.Raft.LastLogId);
        Assert.Equal(leader.Raft.Committed, follower.Raft.Committed);
    }

    [Fact]
    public void Bug07_SnapshotEndingInsideTheLogKeepsTheEntriesAfterItAndPurgesNoFurther()
    {
        var log = TestNode.LogOf(Enumerable.Repeat((1UL, 1UL), 10).ToArray());
        var follower = TestNode.Create(2, [1, 2, 3], Config(), log, vote: new Vote(new LeaderId(1, 1), true), committed: log[3].LogId);
        var meta = new SnapshotMeta(log[6].LogId, StoredMembership.Default, "at-6");

        follower.Raft.Step(new InstallSnapshotRequest(1, 2, new Vote(new LeaderId(1, 1), true), meta, 0, new byte[] { 1, 2, 3 }, true));
        var sent = follower.Drain();

        Assert.Equal([meta], follower.Installed);
        Assert.Equal([log[6].LogId], follower.Purges);
        Assert.Equal(log[9].LogId, follower.Log.LastLogId);
        Assert.Equal(log[9].LogId, follower.Raft.LastLogId);
        Assert.Equal(log[6].LogId, follower.Raft.Committed);
        Assert.True(sent.OfType<InstallSnapshotResponse>().Single().Installed);
    }

    /// <summary>
    /// One round can install a snapshot and apply committed entries that follow it: the applied
    /// id is then the last of those entries, never the snapshot's (which would move it back).
    /// </summary>
    [Fact]
    public void EntriesAppliedAfterASnapshotInTheSameRoundAreCountedAsApplied()
    {
        var leaderVote = new Vote(new LeaderId(1, 1), true);
        var follower = TestNode.Create(2, [1, 2, 3], Config());
        var last = new LogId(1, 1, 5);
        var meta = new SnapshotMeta(last, StoredMembership.Default, "at-5");
        var after = new[] { Entry.Normal(new LogId(1, 1, 6), new byte[] { 6 }), Entry.Normal(new LogId(1, 1, 7), new byte[] { 7 }) };

        follower.Raft.Step(new InstallSnapshotRequest(1, 2, leaderVote, meta, 0, new byte[] { 1 }, true));
        follower.Raft.Step(new AppendEntriesRequest(1, 2, leaderVote, last, after, after[1].LogId));
        var ready = follower.Raft.GetReady();
        Assert.Equal(meta, ready.SnapshotToInstall);
        Assert.Equal(after.Select(e => e.LogId), ready.CommittedEntries.ToArray().Select(e => e.LogId));
        follower.Persist(ready);
        follower.Raft.Advance(ready);

        Assert.Equal(after[1].LogId, follower.Raft.Applied);
    }

    [Theory]
    [InlineData(5)] // behind the commit index
    [InlineData(8)] // at it: nothing the follower does not already know committed
    public void Bug07_SnapshotNotPastTheCommitIndexIsNotInstalledAndMovesNothingBack(int snapshotIndex)
    {
        var log = TestNode.LogOf(Enumerable.Repeat((1UL, 1UL), 10).ToArray());
        var follower = TestNode.Create(2, [1, 2, 3], Config(), log, vote: new Vote(new LeaderId(1, 1), true), committed: log[8].LogId);
        follower.Drain();
        var appliedBefore = follower.LastApplied;
        var meta = new SnapshotMeta(log[snapshotIndex].LogId, StoredMembership.Default, $"at-{snapshotIndex}");

        follower.Raft.Step(new InstallSnapshotRequest(1, 2, new Vote(new LeaderId(1, 1), true), meta, 0, new byte[] { 1 }, true));
        var sent = follower.Drain();

        Assert.Empty(follower.Installed);
        Assert.Empty(follower.Purges);
        Assert.Equal(log[8].LogId, follower.Raft.Committed);
        Assert.Equal(appliedBefore, follower.LastApplied);
        Assert.Equal(log[9].LogId, follower.Raft.LastLogId);
        Assert.True(sent.OfType<InstallSnapshotResponse>().Single().Installed);
    }

    [Fact]
    public void Bug07_SnapshotThatConflictsWithTheLogReplacesTheWholeLog()
    {
        var log = TestNode.LogOf(Enumerable.Repeat((1UL, 1UL), 10).ToArray());
        var follower = TestNode.Create(2, [1, 2, 3], Config(), log, vote: new Vote(new LeaderId(1, 1), true), committed: log[3].LogId);
        var last = new LogId(2, 3, 6);
        var meta = new SnapshotMeta(last, StoredMembership.Default, "other-leader");

        follower.Raft.Step(new InstallSnapshotRequest(3, 2, new Vote(new LeaderId(2, 3), true), meta, 0, new byte[] { 9 }, true));
        follower.Drain();

        Assert.Equal([meta], follower.Installed);
        Assert.Equal(0, follower.Log.Count);
        Assert.Equal(last, follower.Log.LastLogId);
        Assert.Equal(last, follower.Log.LastPurgedLogId);
        Assert.Equal(last, follower.Raft.LastLogId);
        Assert.False(follower.Raft.TryGetLogId(7, out _));
    }

    /// <summary>
    /// A snapshot whose last id the log holds under another term: that entry and the ones after
    /// it were never committed, and the Ready asks for them to be deleted before the install, so
    /// that a crash right after the install leaves no log entry contradicting the state machine.
    /// A snapshot that continues the log, or ends past it, needs no such deletion.
    /// </summary>
    [Theory]
    [InlineData("conflicts at its last index", 6UL, 2UL, true)]
    [InlineData("continues the log", 6UL, 1UL, false)]
    [InlineData("ends past the log", 20UL, 2UL, false)]
    public void ASnapshotContradictingTheLogTailHasItDeletedBeforeTheInstall(string what, ulong lastIndex, ulong term, bool deletes)
    {
        var log = TestNode.LogOf(Enumerable.Repeat((1UL, 1UL), 10).ToArray());
        var follower = TestNode.Create(2, [1, 2, 3], Config(), log, vote: new Vote(new LeaderId(1, 1), true), committed: log[3].LogId);
        var meta = new SnapshotMeta(term == 1 ? log[(int)lastIndex].LogId : new LogId(term, 3, lastIndex), StoredMembership.Default, what);

        follower.Raft.Step(new InstallSnapshotRequest(3, 2, new Vote(new LeaderId(term, term == 1 ? 1UL : 3UL), true), meta, 0, new byte[] { 9 }, true));
        follower.Drain();

        Assert.Equal([meta], follower.Installed);
        Assert.Equal(deletes ? [new LogTruncation(lastIndex, log[(int)lastIndex - 1].LogId)] : [], follower.TruncationsBeforeInstall);
    }

    /// <summary>
    /// A snapshot half received when its leader lost the leadership is never completed: chunks
    /// come only from the leader that started it. A follower that a new leader catches up with
    /// appends lets the partial snapshot go rather than keep its buffer until some later transfer.
    /// </summary>
    [Fact]
    public void APartialSnapshotFromAnOldLeaderIsDroppedOnceANewLeaderIsFollowed()
    {
        var follower = TestNode.Create(3, [1, 2, 3], Config(), TestNode.LogOf((1, 1), (1, 1), (1, 1)));
        follower.Drain();
        var meta = new SnapshotMeta(new LogId(2, 1, 100), StoredMembership.Default, "from the old leader");
        follower.Raft.Step(new InstallSnapshotRequest(1, 3, new Vote(2, 1).Commit(), meta, 0, new byte[1 << 20], false));
        follower.Drain();
        Assert.Equal(1 << 20, follower.Raft.SnapshotBytesReceiving);

        var newLeader = new Vote(3, 2).Commit();
        follower.Raft.Step(new AppendEntriesRequest(2, 3, newLeader, new LogId(1, 1, 2), new[] { Entry.Normal(new LogId(3, 2, 3), new byte[] { 1 }) }, new LogId(3, 2, 3)));
        follower.Drain();

        Assert.Equal(0, follower.Raft.SnapshotBytesReceiving);
        Assert.Equal(new LogId(3, 2, 3), follower.Raft.Committed);
    }

    /// <summary>
    /// Guards against an off-by-one in the leader's fallback to a snapshot: node 3 holds up to
    /// index 2 and needs index 3. A purge up to 2 leaves index 3 and the purged id 2 (the previous
    /// id of the append): entries. A purge up to 3 removed what it needs: the snapshot.
    /// </summary>
    [Theory]
    [InlineData(1UL, false)] // purged behind what it holds
    [InlineData(2UL, false)] // purged up to what it holds: it needs the first unpurged entry
    [InlineData(3UL, true)]  // purged the entry it needs
    public void ALaggingFollowerGetsTheSnapshotExactlyWhenTheEntryItNeedsIsPurged(ulong purgedUpTo, bool snapshot)
    {
        var cluster = new TestCluster(3, Config(keep: 0, holdElections: 1));
        var leader = cluster.Elect(1);
        ProposeAndStabilize(cluster, leader, 2);
        var follower = cluster[3];
        Assert.Equal(2UL, follower.Raft.LastLogId!.Value.Index);
        cluster.Isolate(3);
        ProposeAndStabilize(cluster, leader, 4);

        // Silent for the hold time, node 3 no longer holds the purge.
        cluster.TickAll(ElectionTicks + 1);
        Assert.True(leader.Raft.TryGetLogId(purgedUpTo, out var purgedId));
        Assert.True(leader.Raft.SnapshotBuilt(new SnapshotMeta(purgedId, StoredMembership.Default, $"at-{purgedUpTo}"), new byte[] { 1, 2, 3 }));
        leader.Drain();
        Assert.Equal(purgedId, leader.Raft.LastPurgedLogId);

        leader.Tick(1);
        var toFollower = leader.Drain().Where(m => m.To == 3).ToList();

        var chunks = toFollower.OfType<InstallSnapshotRequest>().ToList();
        var appends = toFollower.OfType<AppendEntriesRequest>().Where(m => !m.Entries.IsEmpty).ToList();
        string sent = $"Node 3 needs index 3, the log is purged up to {purgedId}; sent: {string.Join("; ", toFollower)}";
        if (snapshot)
        {
            Assert.True(chunks.Count == 1 && chunks[0].Meta.LastLogId == purgedId && appends.Count == 0, $"Expected the snapshot. {sent}");
        }
        else
        {
            Assert.True(
                chunks.Count == 0 && appends.Count == 1 && appends[0].PrevLogId == new LogId(leader.Raft.Vote.LeaderId, 2) && appends[0].Entries.Span[0].Index == 3,
                $"Expected entries from index 3. {sent}");
        }

        cluster.Heal();
        cluster.TickAll(ElectionTicks);
        Assert.Equal(snapshot ? 1 : 0, follower.Installed.Count);
        Assert.Equal(leader.Raft.LastLogId, follower.Raft.LastLogId);
        Assert.Equal(leader.Raft.Committed, follower.Raft.Committed);
    }

    [Theory]
    [InlineData(2UL, 1UL)] // a leader of an earlier term
    [InlineData(3UL, 1UL)] // a leader of the same term with a smaller leader id
    public void ASnapshotFromAnOlderLeaderIsRefusedAndChangesNothing(ulong staleTerm, ulong staleNode)
    {
        // Guards against a follower accepting a stale leader's snapshot: it would replace a log
        // the current leader is building on and move the follower's vote backwards.
        var log = TestNode.LogOf((1, 1), (1, 1), (1, 1));
        var current = new Vote(3, 3).Commit();
        var follower = TestNode.Create(2, [1, 2, 3], Config(), log, vote: current, committed: log[0].LogId);
        var stale = new Vote(staleTerm, staleNode).Commit();
        var meta = new SnapshotMeta(new LogId(new LeaderId(staleTerm, staleNode), 5), StoredMembership.Default, "stale");

        follower.Raft.Step(new InstallSnapshotRequest(staleNode, 2, stale, meta, 0, new byte[] { 1, 2, 3 }, true));
        var answer = follower.Drain().OfType<InstallSnapshotResponse>().Single();

        Assert.False(answer.Installed, "A stale leader's snapshot was reported installed.");
        Assert.Equal(current, answer.Vote);
        Assert.Empty(follower.Installed);
        Assert.Null(follower.Raft.Snapshot);
        Assert.Equal(current, follower.Raft.Vote);
        Assert.Equal(current, follower.PersistedVote);
        Assert.Equal(log[^1].LogId, follower.Raft.LastLogId);
        Assert.Equal(log[0].LogId, follower.Raft.Committed);
    }

    [Fact]
    public void Bug08_PurgeRacingReplicationToALaggingFollowerSwitchesItToASnapshot()
    {
        var cluster = new TestCluster(3, Config(keep: 0, holdElections: 1, maxEntries: 2));
        var leader = cluster.Elect(1);
        ProposeAndStabilize(cluster, leader, 2);

        // Appends to node 3 leave the leader but are still on the wire when the purge happens.
        var onTheWire = new List<RaftMessage>();
        ProposeAndStabilize(cluster, leader, 6, m =>
        {
            if (m.To == 3)
            {
                onTheWire.Add(m);
                return false;
            }

            return m.From != 3;
        });
        cluster.TickAll(ElectionTicks + 1, m => m.To != 3 && m.From != 3);
        leader.Raft.RequestSnapshot();
        cluster.Stabilize(m => m.To != 3 && m.From != 3);
        var purged = leader.Raft.LastPurgedLogId!.Value;
        Assert.Equal(leader.Raft.Snapshot!.LastLogId, purged);

        // The first delayed append arrives; its acknowledgement names an entry below the purge point.
        var follower = cluster[3];
        var first = onTheWire.OfType<AppendEntriesRequest>().First(m => !m.Entries.IsEmpty);
        follower.Raft.Step(first);
        var ack = follower.Drain().OfType<AppendEntriesResponse>().Single();
        Assert.True(ack.Matched!.Value.Index < purged.Index);
        leader.Raft.Step(ack);
        var next = leader.Drain().Where(m => m.To == 3).ToList();

        Assert.Null(leader.Raft.Failure);
        Assert.Contains(next, m => m is InstallSnapshotRequest);
        Assert.DoesNotContain(next, m => m is AppendEntriesRequest { Entries.IsEmpty: false });
        foreach (var message in next)
        {
            follower.Raft.Step(message);
        }

        cluster.TickAll(3);
        Assert.Equal([leader.Raft.Snapshot], follower.Installed);
        Assert.Equal(leader.Raft.LastLogId, follower.Raft.LastLogId);
        Assert.Equal(leader.Raft.Committed, follower.Raft.Committed);
    }
}
