using System.Collections.Concurrent;
using RaftToolkit.Core.Host;
using RaftToolkit.Core.Lifecycle;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Raft.Messages;
using RaftToolkit.Core.Storage;
using RaftToolkit.Core.Transport;
using RaftToolkit.Testing.Diagnostics;
using RaftToolkit.Testing.KeyValue;
using RaftToolkit.Testing.Storage;
using Xunit;

namespace RaftToolkit.Core.Tests.Host;

public sealed class MultiRaftHostTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    /// <summary>Bootstraps <paramref name="groupId"/> with <paramref name="host"/>'s node as its only voter and waits until it leads.</summary>
    private static async Task BootstrapSingleVoterAsync(MultiRaftHost<KvNode, KvCommand, KvResponse, KvSnapshot> host, ulong groupId)
    {
        await host.BootstrapAsync(groupId, BootstrapMode.Fresh(host.NodeId));
        await HostCluster.WaitUntilAsync(async () => (await host.GetMetricsAsync(groupId)).Role == RaftRole.Leader, Patience, () => $"group {groupId} never elected its single voter");
    }

    [Fact]
    public async Task Host_ProposalOnAFollowerFailsWithNotLeaderExceptionNamingTheLeader()
    {
        await using var cluster = new HostCluster(3, rocksDb: false);
        await cluster.BootstrapFreshAsync([7]);
        ulong leader = await cluster.WaitForLeaderAsync(7, Patience);
        ulong follower = cluster.NodeIds.First(id => id != leader);
        var followerHost = cluster.Hosts[follower];
        await HostCluster.WaitUntilAsync(async () => (await followerHost.GetMetricsAsync(7)).Leader == leader, Patience, () => "the follower never learned the leader");

        var error = await Assert.ThrowsAsync<NotLeaderException>(() => followerHost.ProposeAsync(7, KvCommand.Set("k", "v")));

        Assert.Equal(7UL, error.GroupId);
        Assert.Equal(follower, error.NodeId);
        Assert.Equal(leader, error.LeaderHint);
    }

    [Fact]
    public async Task Host_ProposalToAGroupNotHostedFailsWithGroupNotHosted()
    {
        await using var cluster = new HostCluster(1, rocksDb: false);

        var error = await Assert.ThrowsAsync<GroupNotHostedException>(() => cluster.Hosts[1].ProposeAsync(42, KvCommand.Set("k", "v")));

        Assert.Equal(42UL, error.GroupId);
    }

    [Fact]
    public async Task Host_ProposalCompletesWithTheStateMachineResponseOnceAppliedOnEveryReplica()
    {
        await using var cluster = new HostCluster(3, rocksDb: false);
        await cluster.BootstrapFreshAsync([1]);
        ulong leader = await cluster.WaitForLeaderAsync(1, Patience);

        await cluster.Hosts[leader].ProposeAsync(1, KvCommand.Set("k", "v1"));
        var response = await cluster.Hosts[leader].ProposeAsync(1, KvCommand.Get("k"));

        Assert.Equal("v1", response.Value);
        await HostCluster.WaitUntilAsync(
            () => cluster.NodeIds.All(id => cluster.StateMachines[(id, 1)].TryGetValue("k", out var v) && v == "v1"),
            Patience,
            () => "not applied on every replica");
    }

    [Fact]
    public async Task Host_PersistsTheReadiesOfManyGroupsWithOneStoreWritePerRound()
    {
        var stores = new Dictionary<ulong, RecordingStore>();
        var network = new InMemoryNetwork();
        var hosts = new List<MultiRaftHost<KvNode, KvCommand, KvResponse, KvSnapshot>>();
        for (ulong id = 1; id <= 3; id++)
        {
            stores[id] = new RecordingStore();
            hosts.Add(MultiRaftHost.Create(new KvTypeConfig(), HostCluster.FastOptions(id, workers: 1), stores[id], network.CreateTransport(id), _ => new InMemoryStateMachine()));
        }

        try
        {
            var groups = Enumerable.Range(1, 50).Select(g => (ulong)g).ToArray();
            await Task.WhenAll(hosts.SelectMany(h => groups.Select(g => h.BootstrapAsync(g, BootstrapMode.Fresh(1, 2, 3)))));
            await HostCluster.WaitUntilAsync(() => hosts.Sum(h => h.Statistics.Elections) >= groups.Length, Patience, () => "elections did not happen");

            foreach (var host in hosts)
            {
                Assert.True(host.Statistics.StoreWrites <= host.Statistics.Rounds, $"node {host.NodeId}: {host.Statistics.StoreWrites} writes in {host.Statistics.Rounds} rounds");
            }

            Assert.Contains(stores.Values.SelectMany(s => s.GroupsPerWrite), groupsInOneWrite => groupsInOneWrite > 1);
        }
        finally
        {
            foreach (var host in hosts)
            {
                await host.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// A follower that was cut off receives the entries it missed together with a commit that
    /// covers them. It applies them only once the write that holds them is done: a state
    /// machine ahead of its own log would, after a crash, hold entries the log never got.
    /// </summary>
    [Fact]
    public async Task Host_AFollowerAppliesCommittedEntriesOnlyOnceTheWriteThatHoldsThemIsDone()
    {
        await using var cluster = new HostCluster(3, rocksDb: false, storeFactory: _ => new RecordingStore());
        await cluster.BootstrapFreshAsync([1]);
        ulong leader = await cluster.WaitForLeaderAsync(1, Patience);
        ulong lagging = cluster.NodeIds.First(id => id != leader);
        cluster.Network.Partitions.Isolate(lagging);
        await cluster.WriteAsync(1, "k", "v", Patience);

        var store = (RecordingStore)cluster.Stores[lagging];
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.HoldAppends = release;
        try
        {
            cluster.Network.Partitions.Reconnect(lagging);
            var held = await store.AppendHeld.Task.WaitAsync(Patience);

            Assert.False(
                cluster.StateMachines[(lagging, 1)].TryGetValue("k", out _),
                $"node {lagging} applied k while the write of entries {string.Join(", ", held)} was still in progress");
        }
        finally
        {
            // The host's round waits for the held write: the cluster cannot stop before it is done.
            release.TrySetResult();
        }

        await HostCluster.WaitUntilAsync(
            () => cluster.StateMachines[(lagging, 1)].TryGetValue("k", out _),
            Patience,
            () => $"node {lagging} never applied k once its write was done");
    }

    [Fact]
    public async Task Host_SendsAtMostOneBatchPerPeerPerRound()
    {
        await using var cluster = new HostCluster(3, rocksDb: false, id => HostCluster.FastOptions(id, workers: 1));
        var groups = Enumerable.Range(1, 50).Select(g => (ulong)g).ToArray();
        await cluster.BootstrapFreshAsync(groups);
        await Task.WhenAll(groups.Select(g => cluster.WriteAsync(g, "k", "v", Patience)));

        foreach (var host in cluster.Hosts.Values)
        {
            var stats = host.Statistics;
            Assert.True(stats.BatchesSent <= stats.Rounds * 2, $"node {host.NodeId}: {stats.BatchesSent} batches in {stats.Rounds} rounds to 2 peers");
        }

        Assert.True(cluster.Hosts.Values.Sum(h => h.Statistics.MessagesSent) > cluster.Hosts.Values.Sum(h => h.Statistics.BatchesSent), "batches carry the messages of several groups");
    }

    /// <summary>
    /// A peer's batch may carry messages for groups that this host runs on different workers (the
    /// peer runs fewer workers, or splits its groups otherwise): each message reaches the worker
    /// that runs its group. Here one batch asks both groups, one per worker, for a vote.
    /// </summary>
    [Fact]
    public Task Host_APeersBatchMixingGroupsOfTwoWorkersReachesEachGroup() =>
        AskEveryGroupForAVoteInOneBatchAsync(workers: 2, groups: [1, 2]);

    /// <summary>
    /// A peer's batch whose groups all run on one worker is handed to that worker as it came,
    /// unsplit; that worker need not be the first. Here every group runs on worker 2 of 3.
    /// </summary>
    [Fact]
    public Task Host_APeersBatchOfOneWorkersGroupsReachesEachGroupOnThatWorker() =>
        AskEveryGroupForAVoteInOneBatchAsync(workers: 3, groups: [2, 5, 8]);

    /// <summary>
    /// Starts node 2 with <paramref name="workers"/> workers and <paramref name="groups"/> (voters
    /// 1 and 2), sends one batch from node 1 asking every group for its vote, and waits until
    /// every group granted it.
    /// </summary>
    private static async Task AskEveryGroupForAVoteInOneBatchAsync(int workers, ulong[] groups)
    {
        var network = new InMemoryNetwork();
        var host = MultiRaftHost.Create(new KvTypeConfig(), HostCluster.FastOptions(2, workers), new InMemoryMultiGroupLogStore(), network.CreateTransport(2), _ => new InMemoryStateMachine());
        await using var _ = host;
        using var peer = network.CreateTransport(1);
        var votes = new VoteResponseRecorder();
        peer.Bind(votes);
        foreach (var group in groups)
        {
            await host.BootstrapAsync(group, BootstrapMode.Fresh(1, 2));
        }

        // A transfer's vote request: granted despite any lease, from a log ahead of the host's.
        var vote = new Vote(100, 1);
        var lastLogId = new LogId(99, 1, 1000);
        peer.Send(2, [.. groups.Select(g => new GroupMessage(g, new RaftToolkit.Core.Raft.Messages.VoteRequest(1, 2, vote, lastLogId, LeadershipTransfer: true)))]);

        await HostCluster.WaitUntilAsync(
            () => groups.All(votes.Granted),
            Patience,
            () => $"groups {string.Join(", ", groups.Where(g => !votes.Granted(g)))} of node 2 (worker = group % {workers}) never granted the vote asked in one batch for groups {string.Join(", ", groups)}");
    }

    [Fact]
    public async Task Host_FollowerFarBehindCatchesUpFromEntriesLoadedFromTheStore()
    {
        await using var cluster = new HostCluster(3, rocksDb: false, id => NoRetainedEntries(HostCluster.FastOptions(id)));
        await cluster.BootstrapFreshAsync([5]);
        ulong leader = await cluster.WaitForLeaderAsync(5, Patience);
        ulong lagging = cluster.NodeIds.First(id => id != leader);
        cluster.Network.Partitions.Isolate(lagging);

        for (int i = 0; i < 200; i++)
        {
            await cluster.WriteAsync(5, $"k{i}", $"v{i}", Patience);
        }

        cluster.Network.Partitions.Reconnect(lagging);
        await HostCluster.WaitUntilAsync(
            () => cluster.StateMachines[(lagging, 5)].Count == 200,
            Patience,
            () => $"the lagging follower applied {cluster.StateMachines[(lagging, 5)].Count} of 200 keys");

        long loads = cluster.Hosts.Values.Sum(h => h.Statistics.BackfillLoads);
        Assert.True(loads > 0, "the leader kept no applied entries in memory, so catching up must read the store");
    }

    [Fact]
    public async Task Host_ProposalsWhoseEntriesANewLeaderReplacedFailAsSupersededEvenWhenNothingCommitsAtTheirIndex()
    {
        await using var cluster = new HostCluster(3, rocksDb: false);
        await cluster.BootstrapFreshAsync([1]);
        ulong oldLeader = await cluster.WaitForLeaderAsync(1, Patience);
        cluster.Network.Partitions.Isolate(oldLeader);

        // Accepted by a leader that can no longer reach a quorum: they can never commit.
        var orphans = Enumerable.Range(0, 5).Select(i => cluster.Hosts[oldLeader].ProposeAsync(1, KvCommand.Set($"orphan{i}", "x"))).ToArray();
        ulong newLeader = await cluster.WaitForLeaderOtherThanAsync(1, oldLeader, Patience, "the majority side elected no leader");

        // The new leader's blank entry and this one cover two of the five orphaned indexes; the
        // other three are replaced (truncated) but nothing commits at them while the group idles.
        await cluster.Hosts[newLeader].ProposeAsync(1, KvCommand.Set("k", "v"));
        Assert.All(orphans, orphan => Assert.False(orphan.IsCompleted));

        cluster.Network.Partitions.Reconnect(oldLeader);

        foreach (var orphan in orphans)
        {
            var dropped = await Assert.ThrowsAsync<ProposalDroppedException>(() => orphan.WaitAsync(Patience));
            Assert.Equal(ProposalDropReason.Superseded, dropped.Reason);
        }

        Assert.False(cluster.StateMachines[(oldLeader, 1)].TryGetValue("orphan4", out _));
    }

    [Fact]
    public async Task Host_CorruptEntryReadStopsOnlyThatGroupAndTheHostGoesOn()
    {
        await using var cluster = new HostCluster(3, rocksDb: false, id => NoRetainedEntries(HostCluster.FastOptions(id)), _ => new CorruptingReadsStore());
        await cluster.BootstrapFreshAsync([1, 2]);
        ulong leader = await cluster.WaitForLeaderAsync(1, Patience);
        ulong lagging = cluster.NodeIds.First(id => id != leader);
        cluster.Network.Partitions.Isolate(lagging);
        for (int i = 0; i < 50; i++)
        {
            await cluster.WriteAsync(1, $"k{i}", "v", Patience);
            await cluster.WriteAsync(2, $"k{i}", "v", Patience);
        }

        foreach (var store in cluster.Stores.Values)
        {
            ((CorruptingReadsStore)store).CorruptGroup = 1;
        }

        cluster.Network.Partitions.Reconnect(lagging);
        await HostCluster.WaitUntilAsync(
            () => cluster.StateMachines[(lagging, 2)].Count == 50,
            Patience,
            () => $"group 2 applied {cluster.StateMachines[(lagging, 2)].Count} of 50 on the lagging node");
        await HostCluster.WaitUntilAsync(() => !cluster.Hosts[leader].IsHosted(1), Patience, () => "the leader of group 1 kept running over a corrupt record");

        Assert.False(cluster.Hosts[leader].Completion.IsCompleted, "one group's corrupt record does not stop the host");
        await Assert.ThrowsAsync<GroupNotHostedException>(() => cluster.Hosts[leader].ProposeAsync(1, KvCommand.Set("k", "v")));
    }

    /// <summary>
    /// A bad record is one group's problem, a failed store everyone's: a catch-up read that finds
    /// the store failed stops the host with that error, as a failed write does.
    /// </summary>
    [Fact]
    public async Task Host_ACatchUpReadOfAFailedStoreStopsTheHost()
    {
        await using var cluster = new HostCluster(3, rocksDb: false, id => NoRetainedEntries(HostCluster.FastOptions(id)), _ => new CorruptingReadsStore());
        await cluster.BootstrapFreshAsync([1]);
        ulong leader = await cluster.WaitForLeaderAsync(1, Patience);
        ulong lagging = cluster.NodeIds.First(id => id != leader);
        cluster.Network.Partitions.Isolate(lagging);
        for (int i = 0; i < 50; i++)
        {
            await cluster.WriteAsync(1, $"k{i}", "v", Patience);
        }

        var failure = new StoreFailedException(new IOException("disk gone"));
        var store = (CorruptingReadsStore)cluster.Stores[leader];
        store.FailReadsWith = failure;
        store.CorruptGroup = 1;
        cluster.Network.Partitions.Reconnect(lagging);

        var stopped = await Assert.ThrowsAsync<StoreFailedException>(() => cluster.Hosts[leader].Completion.WaitAsync(Patience));
        Assert.Same(failure, stopped);
    }

    /// <summary>
    /// A removed group's id is taken again only once its deleted state is gone: a bootstrap
    /// meanwhile would find the old state, and the deletion would then take it from under the
    /// new group.
    /// </summary>
    [Fact]
    public async Task Host_ARemovedGroupsIdCanBeBootstrappedAgainOnlyOnceItsStateIsDeleted()
    {
        var store = new RecordingStore();
        var network = new InMemoryNetwork();
        var host = MultiRaftHost.Create(new KvTypeConfig(), HostCluster.FastOptions(1), store, network.CreateTransport(1), _ => new InMemoryStateMachine());
        await using var _ = host;
        await BootstrapSingleVoterAsync(host, 3);
        await host.ProposeAsync(3, KvCommand.Set("k", "v")).WaitAsync(Patience);

        store.HoldRemovals = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var removal = host.RemoveGroupAsync(3, deleteState: true);
        await store.RemovalStarted.Task.WaitAsync(Patience);
        var early = await Assert.ThrowsAsync<BootstrapException>(() => host.BootstrapAsync(3, BootstrapMode.Fresh(1)));
        Assert.Equal(BootstrapErrorKind.AlreadyHosted, early.Kind);

        store.HoldRemovals.SetResult();
        await removal.WaitAsync(Patience);
        Assert.False(host.IsHosted(3));
        await BootstrapSingleVoterAsync(host, 3);
        await host.ProposeAsync(3, KvCommand.Set("k", "again")).WaitAsync(Patience);
    }

    /// <summary>
    /// A state machine that throws stops its group, not the host; the proposals it was applying
    /// had already left the group's queue of pending proposals, and must fail all the same.
    /// </summary>
    [Fact]
    public async Task Host_AStateMachineThatThrowsStopsItsGroupAndFailsTheProposalsItWasApplying()
    {
        var network = new InMemoryNetwork();
        var machines = new Dictionary<ulong, BreakableStateMachine>();
        var host = MultiRaftHost.Create(
            new KvTypeConfig(), HostCluster.FastOptions(1), new InMemoryMultiGroupLogStore(), network.CreateTransport(1),
            groupId => machines[groupId] = new BreakableStateMachine());
        await using var _ = host;
        foreach (ulong group in (ulong[])[1, 2])
        {
            await BootstrapSingleVoterAsync(host, group);
            await host.ProposeAsync(group, KvCommand.Set("k", "before")).WaitAsync(Patience);
        }

        var broken = new InvalidOperationException("the state machine broke");
        machines[1].BreakWith = broken;
        var dropped = await Assert.ThrowsAsync<ProposalDroppedException>(() => host.ProposeAsync(1, KvCommand.Set("k", "after")).WaitAsync(Patience));

        Assert.Equal(ProposalDropReason.GroupStopped, dropped.Reason);
        Assert.Same(broken, dropped.InnerException);
        await HostCluster.WaitUntilAsync(() => !host.IsHosted(1), Patience, () => "the stopped group is still listed as hosted");
        await host.ProposeAsync(2, KvCommand.Set("k", "after")).WaitAsync(Patience);
    }

    /// <summary>
    /// A forced snapshot build that returns none breaks the state machine's contract: the node
    /// waits for that snapshot before it asks for another, so the log would never be purged
    /// again. The group stops, saying why, rather than grow its log without bound.
    /// </summary>
    [Fact]
    public async Task Host_AStateMachineThatBuildsNoSnapshotWhenForcedStopsItsGroup()
    {
        var network = new InMemoryNetwork();
        var machine = new BreakableStateMachine { BuildsNoSnapshot = true };
        var options = HostCluster.FastOptions(1);
        options.Raft = new RaftConfig { ElectionTicks = 10, HeartbeatTicks = 2, RandomSeed = 7, SnapshotAfterEntries = 4 };
        var host = MultiRaftHost.Create(new KvTypeConfig(), options, new InMemoryMultiGroupLogStore(), network.CreateTransport(1), _ => machine);
        await using var _ = host;
        await BootstrapSingleVoterAsync(host, 1);

        for (int i = 0; i < 8 && host.IsHosted(1); i++)
        {
            try
            {
                await host.ProposeAsync(1, KvCommand.Set("k", $"{i}")).WaitAsync(Patience);
            }
            catch (Exception stopped) when (stopped is ProposalDroppedException { Reason: ProposalDropReason.GroupStopped } or GroupNotHostedException)
            {
                break;
            }
        }

        await HostCluster.WaitUntilAsync(() => !host.IsHosted(1), Patience, () => "the group went on without the snapshot it asked for");
    }

    /// <summary>
    /// A log sink that throws (full, failing) changes nothing the host does: a group whose state
    /// machine broke stops, and logging that costs neither the other groups, nor the host.
    /// </summary>
    [Fact]
    public async Task Host_ALoggerThatThrowsChangesNothingTheHostDoes()
    {
        var network = new InMemoryNetwork();
        var machines = new Dictionary<ulong, BreakableStateMachine>();
        var options = HostCluster.FastOptions(1, workers: 1);
        options.LoggerFactory = new ThrowingLoggerFactory();
        var host = MultiRaftHost.Create(new KvTypeConfig(), options, new InMemoryMultiGroupLogStore(), network.CreateTransport(1), groupId => machines[groupId] = new BreakableStateMachine());
        await using var _ = host;
        foreach (ulong group in (ulong[])[1, 2])
        {
            await BootstrapSingleVoterAsync(host, group);
            await host.ProposeAsync(group, KvCommand.Set("k", "before")).WaitAsync(Patience);
        }

        machines[2].BreakWith = new InvalidOperationException("the state machine broke");
        var dropped = await Assert.ThrowsAsync<ProposalDroppedException>(() => host.ProposeAsync(2, KvCommand.Set("k", "after")).WaitAsync(Patience));

        Assert.Equal(ProposalDropReason.GroupStopped, dropped.Reason);
        await host.ProposeAsync(1, KvCommand.Set("k", "after")).WaitAsync(Patience);
        Assert.False(host.Completion.IsCompleted);
    }

    /// <summary>
    /// The groups of one round apply together: the worker starts every state machine's apply
    /// before it waits for any, so state machines that await their own I/O overlap it instead of
    /// queueing behind each other (a round then lasts as long as the slowest apply, not the sum).
    /// Here each of 8 groups' applies waits until all 8 have begun; one after another, the first
    /// would wait in vain.
    /// </summary>
    [Fact]
    public async Task Host_TheGroupsOfOneRoundApplyAtTheSameTime()
    {
        const int Groups = 8;
        var (host, machines) = await SingleWorkerHostWithHookedStateMachines(Groups);
        await using var _ = host;
        var rendezvous = new ApplyRendezvous(Groups, TimeSpan.FromSeconds(10));

        var proposals = await ProposeToApplyInOneRound(host, machines, Enumerable.Range(1, Groups).ToDictionary(g => (ulong)g, _ => (Func<Task>)rendezvous.ArriveAsync));
        await Task.WhenAll(proposals.Values).WaitAsync(Patience);

        Assert.True(rendezvous.AllMet, $"only {rendezvous.ArrivedWhenGivenUp} of {Groups} groups' applies had begun when the first gave up waiting for the others");
        Assert.True(host.Statistics.AppliesParked == 0, $"{host.Statistics.AppliesParked} applies were parked: they began a round apart, not together");
    }

    /// <summary>
    /// A state machine that throws stops its group, as when groups applied one after another,
    /// while the group that applies beside it in the same round completes its proposal.
    /// </summary>
    [Fact]
    public async Task Host_AnApplyThatThrowsStopsItsGroupWhileTheGroupApplyingBesideItGoesOn()
    {
        var (host, machines) = await SingleWorkerHostWithHookedStateMachines(2);
        await using var _ = host;
        var rendezvous = new ApplyRendezvous(2, TimeSpan.FromSeconds(10));

        var proposals = await ProposeToApplyInOneRound(host, machines, new()
        {
            [1] = async () =>
            {
                await rendezvous.ArriveAsync();
                throw new InvalidOperationException("the state machine broke");
            },
            [2] = rendezvous.ArriveAsync,
        });

        var dropped = await Assert.ThrowsAsync<ProposalDroppedException>(() => proposals[1].WaitAsync(Patience));
        Assert.Equal(ProposalDropReason.GroupStopped, dropped.Reason);
        Assert.IsType<InvalidOperationException>(dropped.InnerException);
        await proposals[2].WaitAsync(Patience);
        Assert.True(rendezvous.AllMet, "the two applies did not run at the same time");
        machines[2].BeforeApply = null;
        await host.ProposeAsync(2, KvCommand.Set("k", "after")).WaitAsync(Patience);
        Assert.False(host.Completion.IsCompleted);
        Assert.False(host.IsHosted(1));
    }

    /// <summary>
    /// A state machine that awaits in apply for longer than a tick holds its own group, not its
    /// worker: the worker parks that apply and goes on, so a group beside it on the same worker
    /// commits meanwhile. The held group's later proposals wait, then apply after the held one, in
    /// log order, one call at a time.
    /// </summary>
    [Fact]
    public async Task Host_AnApplyLongerThanATickHoldsOnlyItsGroupAndItsLaterEntriesApplyAfterItInOrder()
    {
        var (host, machines) = await SingleWorkerHostWithHookedStateMachines(2);
        await using var _ = host;
        using var release = new ApplyRelease();
        machines[1].BeforeApply = () => release.Task;

        var heldProposal = host.ProposeAsync(1, KvCommand.Set("k", "held"));
        await HostCluster.WaitUntilAsync(() => host.Statistics.AppliesParked == 1, Patience, () => "the held apply was never parked");
        machines[1].BeforeApply = null;
        var later = Enumerable.Range(0, 3).Select(i => host.ProposeAsync(1, KvCommand.Set("k", $"later{i}"))).ToList();
        await host.ProposeAsync(2, KvCommand.Set("k", "beside")).WaitAsync(Patience);
        await host.ProposeAsync(2, KvCommand.Set("k", "beside again")).WaitAsync(Patience);
        Assert.False(heldProposal.IsCompleted || later.Any(p => p.IsCompleted), "a proposal of the held group completed before its apply ended");

        release.Open();
        await heldProposal.WaitAsync(Patience);
        await Task.WhenAll(later).WaitAsync(Patience);

        var indexes = machines[1].Calls.AppliedIndexes;
        Assert.Equal(indexes.Order(), indexes);
        Assert.Equal(indexes.Length, indexes.Distinct().Count());
        Assert.Equal(1, machines[1].Calls.MostAtOnce);
        Assert.Equal("later2", (await host.ProposeAsync(1, KvCommand.Get("k")).WaitAsync(Patience)).Value);
    }

    /// <summary>
    /// Removing a group whose apply is parked completes only once the apply ended, and stopping
    /// the host waits for one too: no state machine is called after either has completed.
    /// </summary>
    [Fact]
    public async Task Host_RemovingAGroupOrStoppingTheHostWaitsForItsParkedApply()
    {
        var (host, machines) = await SingleWorkerHostWithHookedStateMachines(2);
        await using var _ = host;
        using var releaseOne = new ApplyRelease();
        using var releaseTwo = new ApplyRelease();
        machines[1].BeforeApply = () => releaseOne.Task;
        machines[2].BeforeApply = () => releaseTwo.Task;
        var one = host.ProposeAsync(1, KvCommand.Set("k", "v"));
        var two = host.ProposeAsync(2, KvCommand.Set("k", "v"));
        await HostCluster.WaitUntilAsync(() => host.Statistics.AppliesParked == 2, Patience, () => $"{host.Statistics.AppliesParked} of 2 applies parked");

        var removal = host.RemoveGroupAsync(1);

        // The worker takes control items in order: once group 2's metrics are back, it has taken the removal.
        await host.GetMetricsAsync(2).WaitAsync(Patience);
        await AssertPendingAsync(removal, "the removal completed while the group's state machine was still applying");
        releaseOne.Open();
        await removal.WaitAsync(Patience);
        var stop = host.DisposeAsync().AsTask();
        await AssertPendingAsync(stop, "the host stopped while a state machine was still applying");
        releaseTwo.Open();
        await stop.WaitAsync(Patience);
        Assert.Null((await one.WaitAsync(Patience)).Value);
        await two.ContinueWith(static _ => { }, TaskScheduler.Default).WaitAsync(Patience);
    }

    /// <summary>A parked apply that throws stops its group, and only it: its proposal fails, and the worker's other group goes on.</summary>
    [Fact]
    public async Task Host_AParkedApplyThatThrowsStopsOnlyItsGroup()
    {
        var (host, machines) = await SingleWorkerHostWithHookedStateMachines(2);
        await using var _ = host;
        using var release = new ApplyRelease();
        machines[1].BeforeApply = async () =>
        {
            await release.Task;
            throw new InvalidOperationException("the state machine broke");
        };
        var broken = host.ProposeAsync(1, KvCommand.Set("k", "v"));
        await HostCluster.WaitUntilAsync(() => host.Statistics.AppliesParked == 1, Patience, () => "the apply was never parked");

        release.Open();

        var dropped = await Assert.ThrowsAsync<ProposalDroppedException>(() => broken.WaitAsync(Patience));
        Assert.Equal(ProposalDropReason.GroupStopped, dropped.Reason);
        await HostCluster.WaitUntilAsync(() => !host.IsHosted(1), Patience, () => "the broken group is still hosted");
        await host.ProposeAsync(2, KvCommand.Set("k", "v")).WaitAsync(Patience);
        Assert.False(host.Completion.IsCompleted);
    }

    /// <summary>
    /// A group that fails while its apply is parked (here: a message from a stranger that would
    /// overwrite a committed entry) keeps its id taken until the apply ends: a bootstrap of it
    /// before then is refused as already hosted, so no second state machine applies the group's
    /// entries beside the first. The parked apply still answers its proposal, whose entry is
    /// committed; once it ended, the group can be reopened.
    /// </summary>
    [Fact]
    public async Task Host_AGroupThatFailsWhileItsApplyIsParkedIsFreedOnlyOnceTheApplyEnded()
    {
        var network = new InMemoryNetwork();
        var machines = new ConcurrentQueue<HookedStateMachine>();
        var host = MultiRaftHost.Create(new KvTypeConfig(), HostCluster.FastOptions(1, workers: 1), new InMemoryMultiGroupLogStore(), network.CreateTransport(1), _ =>
        {
            var machine = new HookedStateMachine();
            machines.Enqueue(machine);
            return machine;
        });
        await using var _ = host;
        using var release = new ApplyRelease();
        await BootstrapSingleVoterAsync(host, 1);
        await HostCluster.WaitUntilAsync(async () => (await host.GetMetricsAsync(1)).Applied is { Index: >= 1 }, Patience, () => "the leader's first entry was never applied");
        var first = machines.Single();
        first.BeforeApply = () => release.Task;
        var proposal = host.ProposeAsync(1, KvCommand.Set("k", "v"));
        await HostCluster.WaitUntilAsync(() => host.Statistics.AppliesParked == 1, Patience, () => "the apply was never parked");

        var stranger = network.CreateTransport(2);
        stranger.Bind(new IgnoringReceiver());
        var overwrite = new AppendEntriesRequest(2, 1, new Vote(new LeaderId(100, 2), true), new LogId(0, 0, 0), new[] { Entry.Normal(new LogId(100, 2, 1), new byte[] { 1 }) }, null);
        stranger.Send(1, [new GroupMessage(1, overwrite)]);
        await HostCluster.WaitUntilAsync(async () => await Record.ExceptionAsync(() => host.GetMetricsAsync(1)) is GroupNotHostedException, Patience, () => "the group did not fail");

        Assert.True(host.IsHosted(1), "the failed group's id was freed while its state machine was still applying");
        var refused = await Assert.ThrowsAsync<BootstrapException>(() => host.BootstrapAsync(1, BootstrapMode.Reopen));
        Assert.Equal(BootstrapErrorKind.AlreadyHosted, refused.Kind);
        Assert.Single(machines);
        Assert.False(proposal.IsCompleted);

        release.Open();
        await proposal.WaitAsync(Patience);
        await HostCluster.WaitUntilAsync(() => !host.IsHosted(1), Patience, () => "the failed group's id was never freed");
        await host.BootstrapAsync(1, BootstrapMode.Reopen).WaitAsync(Patience);
        Assert.Equal(2, machines.Count);
        Assert.False(host.Completion.IsCompleted);
    }

    private sealed class IgnoringReceiver : IMessageReceiver
    {
        public void Receive(ulong fromNode, List<GroupMessage> batch)
        {
        }
    }

    /// <summary>
    /// The host counts as commits the entries its state machines applied: in a round where one
    /// group's apply throws, the entries of the groups applying beside it count, the broken
    /// group's do not.
    /// </summary>
    [Fact]
    public async Task Host_CommitsCountTheEntriesAppliedBesideAnApplyThatThrowsAndNoneOfIts()
    {
        var (host, machines) = await SingleWorkerHostWithHookedStateMachines(3);
        await using var _ = host;

        var proposals = await ProposeToApplyInOneRound(host, machines, new()
        {
            [1] = () => Task.FromException(new InvalidOperationException("the state machine broke")),
            [2] = () => Task.CompletedTask,
            [3] = () => Task.CompletedTask,
        });
        await Assert.ThrowsAsync<ProposalDroppedException>(() => proposals[1].WaitAsync(Patience));
        await Task.WhenAll(proposals[2], proposals[3]).WaitAsync(Patience);
        // Stopped, the host has ended every round: its count is final.
        await host.DisposeAsync();

        long applied = machines.Values.Sum(machine => (long)machine.Calls.AppliedIndexes.Length);
        Assert.True(host.Statistics.Commits == applied, $"the host counted {host.Statistics.Commits} commits, its state machines applied {applied} entries");
    }

    /// <summary>
    /// Fails if <paramref name="task"/> completes within a short wait. What it waits for cannot
    /// happen before the test releases it, so the wait only gives a wrong completion the time to
    /// show; it costs a passing test its length, and a failing one returns at once.
    /// </summary>
    private static async Task AssertPendingAsync(Task task, string failure)
    {
        try
        {
            await task.WaitAsync(TimeSpan.FromMilliseconds(200));
        }
        catch (TimeoutException)
        {
            return;
        }
        catch (Exception e)
        {
            Assert.Fail($"{failure}: {e.GetType().Name}: {e.Message}");
        }

        Assert.Fail(failure);
    }

    /// <summary>A one-worker host leading groups 0 to <paramref name="groups"/> alone, each with a <see cref="HookedStateMachine"/>.</summary>
    private static async Task<(MultiRaftHost<KvNode, KvCommand, KvResponse, KvSnapshot> Host, Dictionary<ulong, HookedStateMachine> Machines)> SingleWorkerHostWithHookedStateMachines(int groups)
    {
        var network = new InMemoryNetwork();
        var machines = new Dictionary<ulong, HookedStateMachine>();
        var host = MultiRaftHost.Create(new KvTypeConfig(), HostCluster.FastOptions(1, workers: 1), new InMemoryMultiGroupLogStore(), network.CreateTransport(1), groupId => machines[groupId] = new HookedStateMachine());
        for (ulong group = 0; group <= (ulong)groups; group++)
        {
            await BootstrapSingleVoterAsync(host, group);
        }

        return (host, machines);
    }

    /// <summary>
    /// Proposes one entry to each group of <paramref name="hooks"/>, whose applies then run the
    /// hook first, so that all of them apply in one round: the worker is held in a round (group
    /// 0's apply, blocking its thread) while the proposals queue, so they all reach it in the next
    /// round, and their entries commit, and apply, in one round after that.
    /// </summary>
    private static async Task<Dictionary<ulong, Task<KvResponse>>> ProposeToApplyInOneRound(
        MultiRaftHost<KvNode, KvCommand, KvResponse, KvSnapshot> host, Dictionary<ulong, HookedStateMachine> machines, Dictionary<ulong, Func<Task>> hooks)
    {
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        machines[0].BeforeApply = () =>
        {
            // Blocks the worker's thread, so that the round cannot go on without this apply.
            held.TrySetResult();
            release.Task.Wait();
            return Task.CompletedTask;
        };
        var holding = host.ProposeAsync(0, KvCommand.Set("k", "hold"));
        var proposals = new Dictionary<ulong, Task<KvResponse>>();
        try
        {
            await held.Task.WaitAsync(Patience);
            machines[0].BeforeApply = null;
            foreach (var (group, hook) in hooks)
            {
                machines[group].BeforeApply = hook;
                proposals[group] = host.ProposeAsync(group, KvCommand.Set("k", "together"));
            }
        }
        finally
        {
            // Even when the test fails here: a worker left blocked would hold the host's disposal for ever.
            release.TrySetResult();
        }

        await holding.WaitAsync(Patience);
        return proposals;
    }

    /// <summary>
    /// Holds the applies that await it until opened, and opens when disposed: declared after the
    /// host, it is disposed first, so a test that fails while an apply is parked lets the host's
    /// disposal (which waits for parked applies) finish instead of waiting for ever.
    /// </summary>
    private sealed class ApplyRelease : IDisposable
    {
        private readonly TaskCompletionSource _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Task => _opened.Task;

        public void Open() => _opened.TrySetResult();

        public void Dispose() => Open();
    }

    /// <summary>Lets parties in once all of them arrived; one that waits longer than the patience gives up, and lets everyone through.</summary>
    private sealed class ApplyRendezvous(int parties, TimeSpan patience)
    {
        private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _arrived;
        private int _arrivedWhenGivenUp = -1;

        public bool AllMet => _arrivedWhenGivenUp < 0;

        public int ArrivedWhenGivenUp => _arrivedWhenGivenUp;

        public async Task ArriveAsync()
        {
            if (Interlocked.Increment(ref _arrived) == parties)
            {
                _all.TrySetResult();
            }

            try
            {
                await _all.Task.WaitAsync(patience);
            }
            catch (TimeoutException)
            {
                Interlocked.CompareExchange(ref _arrivedWhenGivenUp, Volatile.Read(ref _arrived), -1);
                _all.TrySetResult();
            }
        }
    }

    /// <summary>
    /// The in-memory key-value state machine, whose apply first awaits a hook when one is set; it
    /// records how the host calls it (<see cref="Calls"/>).
    /// </summary>
    private sealed class HookedStateMachine() : DelegatingStateMachine<KvResponse, KvSnapshot>(new InMemoryStateMachine())
    {
        public Func<Task>? BeforeApply { get; set; }

        public ApplyCallRecorder Calls { get; } = new();

        public override async ValueTask ApplyAsync(ReadOnlyMemory<ApplyItem<KvResponse>> items, CancellationToken cancellationToken = default)
        {
            using var _ = Calls.Enter();
            if (BeforeApply is { } hook)
            {
                await hook();
            }

            Calls.Applying(items.Span);
            await Inner.ApplyAsync(items, cancellationToken);
        }
    }

    /// <summary>The in-memory key-value state machine, whose apply throws once told to.</summary>
    private sealed class BreakableStateMachine() : DelegatingStateMachine<KvResponse, KvSnapshot>(new InMemoryStateMachine())
    {
        public Exception? BreakWith { get; set; }

        /// <summary>When set, a forced snapshot build returns none (against the contract).</summary>
        public bool BuildsNoSnapshot { get; set; }

        public override ValueTask ApplyAsync(ReadOnlyMemory<ApplyItem<KvResponse>> items, CancellationToken cancellationToken = default) =>
            BreakWith is { } error ? ValueTask.FromException(error) : Inner.ApplyAsync(items, cancellationToken);

        public override ValueTask<Snapshot<KvSnapshot>?> BuildSnapshotAsync(bool force, CancellationToken cancellationToken = default) =>
            BuildsNoSnapshot ? ValueTask.FromResult<Snapshot<KvSnapshot>?>(null) : Inner.BuildSnapshotAsync(force, cancellationToken);
    }

    [Fact]
    public async Task Host_StoreFailureStopsTheHostAndFailsItsProposals()
    {
        var store = new RecordingStore();
        var network = new InMemoryNetwork();
        var host = MultiRaftHost.Create(new KvTypeConfig(), HostCluster.FastOptions(1), store, network.CreateTransport(1), _ => new InMemoryStateMachine());
        await using var _ = host;
        await BootstrapSingleVoterAsync(host, 1);
        var failure = new StoreFailedException(new IOException("disk gone"));
        store.FailWith = failure;

        var proposal = host.ProposeAsync(1, KvCommand.Set("k", "v"));

        var dropped = await Assert.ThrowsAsync<ProposalDroppedException>(() => proposal);
        Assert.Equal(ProposalDropReason.HostStopped, dropped.Reason);
        var stopped = await Assert.ThrowsAsync<StoreFailedException>(() => host.Completion.WaitAsync(Patience));
        Assert.Same(failure, stopped);
        var afterwards = await Assert.ThrowsAsync<ProposalDroppedException>(() => host.ProposeAsync(1, KvCommand.Set("k", "v")));
        Assert.Equal(ProposalDropReason.HostStopped, afterwards.Reason);
    }

    /// <summary>
    /// A store refuses a whole batch when one operation breaks a group's log (here: the group
    /// was removed from the store behind the host's back). That stops the group, not the host:
    /// the round is written without it, and the other groups go on.
    /// </summary>
    [Fact]
    public async Task Host_AWriteTheStoreRefusesForOneGroupStopsThatGroupAndTheOthersGoOn()
    {
        var store = new RecordingStore();
        var network = new InMemoryNetwork();
        var host = MultiRaftHost.Create(new KvTypeConfig(), HostCluster.FastOptions(1, workers: 1), store, network.CreateTransport(1), _ => new InMemoryStateMachine());
        await using var _ = host;
        foreach (ulong group in (ulong[])[1, 2])
        {
            await BootstrapSingleVoterAsync(host, group);
            await host.ProposeAsync(group, KvCommand.Set("k", "before")).WaitAsync(Patience);
        }

        await store.RemoveGroupAsync(1);
        var dropped = await Assert.ThrowsAsync<ProposalDroppedException>(() => host.ProposeAsync(1, KvCommand.Set("k", "after")).WaitAsync(Patience));

        Assert.Equal(ProposalDropReason.GroupStopped, dropped.Reason);
        Assert.IsAssignableFrom<RaftStorageException>(dropped.InnerException);
        await HostCluster.WaitUntilAsync(() => !host.IsHosted(1), Patience, () => "the stopped group is still listed as hosted");
        await host.ProposeAsync(2, KvCommand.Set("k", "after")).WaitAsync(Patience);
        Assert.False(host.Completion.IsCompleted);
    }

    /// <summary>
    /// The round whose batch the store refuses for one group carries other groups' entries too:
    /// those are written again without the refused group, so they become durable and their
    /// proposals complete. Dropping the whole batch would acknowledge entries no store holds.
    /// </summary>
    [Fact]
    public async Task Host_AWriteRefusedForOneGroupStillMakesTheOtherGroupsEntriesOfThatRoundDurable()
    {
        var store = new RecordingStore();
        var network = new InMemoryNetwork();
        var host = MultiRaftHost.Create(new KvTypeConfig(), HostCluster.FastOptions(1, workers: 1), store, network.CreateTransport(1), _ => new InMemoryStateMachine());
        await using var _ = host;
        foreach (ulong group in (ulong[])[1, 2, 3])
        {
            await BootstrapSingleVoterAsync(host, group);
            await host.ProposeAsync(group, KvCommand.Set("k", "before")).WaitAsync(Patience);
        }

        // Group 3's write holds the only worker, so the next two proposals meet in one round.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.HoldAppends = release;
        Task<KvResponse> holding;
        Task<KvResponse> refused;
        Task<KvResponse> bystander;
        try
        {
            holding = host.ProposeAsync(3, KvCommand.Set("k", "holding"));
            await store.AppendHeld.Task.WaitAsync(Patience);
            refused = host.ProposeAsync(1, KvCommand.Set("k", "after"));
            bystander = host.ProposeAsync(2, KvCommand.Set("k", "after"));
            await store.RemoveGroupAsync(1);
        }
        finally
        {
            store.HoldAppends = null;
            release.TrySetResult();
        }

        await holding.WaitAsync(Patience);
        var dropped = await Assert.ThrowsAsync<ProposalDroppedException>(() => refused.WaitAsync(Patience));
        Assert.Equal(ProposalDropReason.GroupStopped, dropped.Reason);
        await bystander.WaitAsync(Patience);

        var acknowledged = (await host.GetMetricsAsync(2)).LastLogId;
        var stored = (await store.ForGroup(2).GetLogStateAsync()).LastLogId;
        Assert.True(stored == acknowledged, $"group 2 acknowledged its proposal up to {acknowledged}, but the store holds its log only up to {stored}");
        Assert.False(host.Completion.IsCompleted);
    }

    /// <summary>
    /// A removal asked with a token already cancelled changes nothing; one that began runs to its
    /// end whatever the token does. Either way the group's id is never left taken by a group
    /// that no longer runs.
    /// </summary>
    [Fact]
    public async Task Host_ACancelledRemovalChangesNothingAndNeverLeavesTheIdTaken()
    {
        await using var cluster = new HostCluster(1, rocksDb: false);
        var host = cluster.Hosts[1];
        await BootstrapSingleVoterAsync(host, 7);
        await cluster.WriteAsync(7, "k", "v", Patience);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => host.RemoveGroupAsync(7, cancellationToken: cancelled.Token));
        Assert.True(host.IsHosted(7));
        await cluster.WriteAsync(7, "k", "still here", Patience);

        await host.RemoveGroupAsync(7);
        Assert.False(host.IsHosted(7));
        await host.BootstrapAsync(7, BootstrapMode.Reopen);
        Assert.True(host.IsHosted(7));
    }

    [Fact]
    public async Task Host_RemovedGroupFailsLaterProposalsAndCanDeleteItsState()
    {
        await using var cluster = new HostCluster(1, rocksDb: false);
        var host = cluster.Hosts[1];
        await host.BootstrapAsync(3, BootstrapMode.Fresh(1));
        await cluster.WriteAsync(3, "k", "v", Patience);

        await host.RemoveGroupAsync(3, deleteState: true);

        Assert.False(host.IsHosted(3));
        await Assert.ThrowsAsync<GroupNotHostedException>(() => host.ProposeAsync(3, KvCommand.Set("k", "v")));
        Assert.DoesNotContain(3UL, await cluster.Stores[1].ListGroupsAsync());
    }

    [Fact]
    public async Task Host_MetricsReportRoleTermLeaderAndLogPositions()
    {
        await using var cluster = new HostCluster(1, rocksDb: false);
        var host = cluster.Hosts[1];
        await host.BootstrapAsync(9, BootstrapMode.Fresh(1));
        await cluster.WriteAsync(9, "k", "v", Patience);
        await HostCluster.WaitUntilAsync(async () => (await host.GetMetricsAsync(9)).Applied?.Index == 2, Patience, () => "not applied");

        var metrics = await host.GetMetricsAsync(9);

        Assert.Equal(RaftRole.Leader, metrics.Role);
        Assert.Equal(1UL, metrics.Leader);
        Assert.True(metrics.Term >= 1);
        Assert.Equal(2UL, metrics.LastLogId?.Index);
        Assert.Equal(2UL, metrics.Committed?.Index);
        Assert.Null(metrics.Purged);
    }

    private static MultiRaftHostOptions NoRetainedEntries(MultiRaftHostOptions options)
    {
        options.RetainedAppliedEntries = 0;
        options.BackfillEntries = 32;
        return options;
    }

    [Theory]
    [InlineData(0UL, 1, 10, "NodeId")]
    [InlineData(1UL, 0, 10, "WorkerCount")]
    [InlineData(1UL, 1, 0, "TickInterval")]
    public void Host_InvalidOptionsAreRejectedNamingTheOption(ulong nodeId, int workers, int tickMs, string option)
    {
        var network = new InMemoryNetwork();
        using var transport = network.CreateTransport(nodeId);
        var options = new MultiRaftHostOptions { NodeId = nodeId, WorkerCount = workers, TickInterval = TimeSpan.FromMilliseconds(tickMs) };

        var error = Assert.Throws<ArgumentException>(() => MultiRaftHost.Create(new KvTypeConfig(), options, new InMemoryMultiGroupLogStore(), transport, _ => new InMemoryStateMachine()));

        Assert.Equal(option, error.ParamName);
    }

    /// <summary>A ping lands between two ticks, so a live peer is always a tick behind: a silence of one tick would find every peer silent.</summary>
    [Fact]
    public void Host_APeerSilenceOfOneTickIsRejected()
    {
        var network = new InMemoryNetwork();
        using var transport = network.CreateTransport(1);
        var options = HostCluster.FastOptions(1);
        options.PeerSilenceTicks = 1;

        var error = Assert.Throws<ArgumentException>(() => MultiRaftHost.Create(new KvTypeConfig(), options, new InMemoryMultiGroupLogStore(), transport, _ => new InMemoryStateMachine()));

        Assert.Equal(nameof(MultiRaftHostOptions.PeerSilenceTicks), error.ParamName);
    }

    /// <summary>
    /// A transport that throws (a peer unreachable), in a round or in the timer's pings, costs
    /// the batch, not the host nor the process: the two reachable voters go on committing. And
    /// a transport that throws once disposed does not make a clean stop look like a failure.
    /// </summary>
    [Fact]
    public async Task Host_ATransportThatThrowsCostsTheBatchNotTheHost()
    {
        var network = new InMemoryNetwork();
        var transports = new Dictionary<ulong, ThrowingTransport>();
        var hosts = new Dictionary<ulong, MultiRaftHost<KvNode, KvCommand, KvResponse, KvSnapshot>>();
        try
        {
            foreach (ulong id in (ulong[])[1, 2, 3])
            {
                var options = HostCluster.FastOptions(id);
                options.Raft = new RaftConfig { ElectionTicks = 10, HeartbeatTicks = 2, QuiesceAfterTicks = 5, RandomSeed = 0x5EED + id };
                transports[id] = new ThrowingTransport(network.CreateTransport(id));
                hosts[id] = MultiRaftHost.Create(new KvTypeConfig(), options, new InMemoryMultiGroupLogStore(), transports[id], _ => new InMemoryStateMachine());
                await hosts[id].BootstrapAsync(5, BootstrapMode.Fresh(1, 2, 3));
            }

            await HostCluster.WaitUntilAsync(async () => (await hosts[1].GetMetricsAsync(5)).Leader is not null, Patience, () => "no leader");
            transports[1].Unreachable = 3;
            transports[2].Unreachable = 3;
            await hosts[3].DisposeAsync();

            // Sends to node 3 have been refused (the leader's appends, a host's pings to a peer it
            // heard from) before the write below.
            await HostCluster.WaitUntilAsync(() => transports[1].Refused + transports[2].Refused > 0, Patience, () => "no send to node 3 was refused");
            await HostCluster.WaitUntilAsync(async () => await TryWriteAsync(hosts[1]) || await TryWriteAsync(hosts[2]), Patience, () => "the reachable voters stopped committing");
            Assert.False(hosts[1].Completion.IsCompleted, "host 1 stopped on its transport's error");
            Assert.False(hosts[2].Completion.IsCompleted, "host 2 stopped on its transport's error");

            await hosts[1].DisposeAsync();
            await hosts[1].Completion.WaitAsync(Patience);
        }
        finally
        {
            foreach (var host in hosts.Values)
            {
                await host.DisposeAsync();
            }
        }

        static async Task<bool> TryWriteAsync(MultiRaftHost<KvNode, KvCommand, KvResponse, KvSnapshot> host)
        {
            try
            {
                await host.ProposeAsync(5, KvCommand.Set("k", "v")).WaitAsync(TimeSpan.FromSeconds(2));
                return true;
            }
            catch (Exception e) when (e is NotLeaderException or TimeoutException or ProposalDroppedException)
            {
                return false;
            }
        }
    }

    /// <summary>A transport whose sends to one node throw, and every send once disposed (as .NET types do).</summary>
    private sealed class ThrowingTransport(ITransport inner) : ITransport
    {
        private volatile bool _disposed;

        private long _refused;

        public ulong? Unreachable { get; set; }

        /// <summary>Sends that threw because their node was unreachable.</summary>
        public long Refused => Interlocked.Read(ref _refused);

        public ulong LocalNode => inner.LocalNode;

        public void Bind(IMessageReceiver receiver) => inner.Bind(receiver);

        public void Send(ulong toNode, List<GroupMessage> batch)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (toNode == Unreachable)
            {
                Interlocked.Increment(ref _refused);
                throw new IOException($"node {toNode} unreachable");
            }

            inner.Send(toNode, batch);
        }

        public void Dispose()
        {
            _disposed = true;
            inner.Dispose();
        }
    }

    [Fact]
    public void Host_TransportOfAnotherNodeIsRejected()
    {
        var network = new InMemoryNetwork();
        using var transport = network.CreateTransport(2);

        var error = Assert.Throws<ArgumentException>(() => MultiRaftHost.Create(new KvTypeConfig(), new MultiRaftHostOptions { NodeId = 1 }, new InMemoryMultiGroupLogStore(), transport, _ => new InMemoryStateMachine()));

        Assert.Contains("belongs to node 2", error.Message, StringComparison.Ordinal);
    }
}
