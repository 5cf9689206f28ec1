using System.Collections.Concurrent;
using RaftToolkit.Core.Host;
using RaftToolkit.Core.Lifecycle;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Storage;
using RaftToolkit.Core.Transport;
using RaftToolkit.Testing.Diagnostics;
using RaftToolkit.Testing.Faults;
using RaftToolkit.Testing.KeyValue;
using RaftToolkit.Testing.Storage;
using Xunit;

namespace RaftToolkit.Core.Tests.Host;

/// <summary>
/// The peer failure detector against gray failures: a host whose workers are stuck (a store write
/// or a state machine that does not return) while its timer still runs must look dead to its
/// peers, so the quiescent groups it leads fail over; an idle host must not.
/// </summary>
public sealed class HostLivenessTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>The host that gets stuck; it leads every group when it does.</summary>
    private const ulong Stuck = 1;

    private const int ElectionTicks = 10;

    /// <summary>
    /// The most ticks a failover may take once the stuck round began: the stuck bound (the peer
    /// silence, by default the election timeout), then the peer silence, then a randomized
    /// election timeout of at most twice the base, and one election timeout of slack for the
    /// rounds between. Without the detector's help the quiescent groups never fail over.
    /// </summary>
    private const int FailoverTicks = 6 * ElectionTicks;

    private static readonly ulong[] Groups = [1, 2, 3, 4, 5, 6, 7, 8];

    private static MultiRaftHostOptions Quiescing(ulong id, CapturingLoggerFactory logs) => new()
    {
        NodeId = id,
        WorkerCount = 2,
        TickInterval = TimeSpan.FromMilliseconds(10),
        Raft = new RaftConfig { ElectionTicks = ElectionTicks, HeartbeatTicks = 2, QuiesceAfterTicks = 5, RandomSeed = 0x5EED + id },
        LoggerFactory = logs,
    };

    /// <summary>
    /// Node 1's disk stalls: every worker ends up waiting on a store write that never returns,
    /// while its timer goes on. Its peers must still wake the quiescent groups it leads, elect
    /// new leaders and commit; once the disk comes back, node 1 follows the new leaders.
    /// </summary>
    [Fact]
    public async Task HostLiveness_WhenAHostsStoreWritesHangItsPeersTakeOverTheQuiescentGroupsItLedAndItRejoinsAsAFollower()
    {
        var faults = new WriteFaults();
        var logs = new ConcurrentDictionary<ulong, CapturingLoggerFactory>();
        await using var cluster = new HostCluster(
            3,
            rocksDb: false,
            id => Quiescing(id, logs.GetOrAdd(id, _ => new CapturingLoggerFactory())),
            storeFactory: id => id == Stuck ? new FaultInjectingMultiGroupLogStore(new InMemoryMultiGroupLogStore(), faults) : new InMemoryMultiGroupLogStore());
        await LeadEveryGroupFromAsync(cluster, Stuck);
        await using var ledger = new LeaderLedger(cluster, Groups);

        // One proposal per worker (groups are sharded by id) takes each worker's round into a
        // write that never returns; the other groups only wait behind it, quiescent: nothing but
        // the detector can tell their followers that their leader is gone.
        faults.HangWrites();
        Task[] hung;
        Dictionary<ulong, ulong> newLeaders;
        try
        {
            long stallTick = cluster.Hosts[2].TickSequence;
            var host = cluster.Hosts[Stuck];
            hung = [host.ProposeAsync(Groups[0], KvCommand.Set("k", "hung")), host.ProposeAsync(Groups[1], KvCommand.Set("k", "hung"))];
            await HostCluster.WaitUntilAsync(() => faults.HungWrites >= 2, Patience, () => $"only {faults.HungWrites} of node {Stuck}'s two workers reached the hung store");

            newLeaders = await WaitForFailoverAsync(cluster, Groups, stallTick, $"node {Stuck}'s store writes hung");
            Assert.All(hung, proposal => Assert.False(proposal.IsCompleted, "a proposal on the stuck host completed while its store hung"));
            await CommitAtAsync(cluster, newLeaders);
            Assert.Single(logs[Stuck].Lines, line => line.Contains("no longer pinging peers", StringComparison.Ordinal));
            Assert.True(cluster.Hosts[Stuck].Statistics.PingsWithheldTicks > 0, $"node {Stuck}'s statistics count no tick of withheld pings");
            Assert.All(cluster.NodeIds.Where(id => id != Stuck), id => Assert.True(cluster.Hosts[id].Statistics.PeersFoundSilent > 0, $"node {id}'s statistics count no silent peer"));
        }
        finally
        {
            // Also when an assertion failed: a host stops only once its workers' rounds end.
            faults.ReleaseWrites();
        }

        await Task.WhenAll(hung.Select(proposal => proposal.ContinueWith(static _ => { }, TaskScheduler.Default))).WaitAsync(Patience);
        await WaitUntilRejoinedAsync(cluster, Groups);

        // The check runs on the timer: it sees the workers free at the next tick.
        await HostCluster.WaitUntilWithinTicksAsync(
            cluster.Hosts[Stuck],
            2,
            () => Task.FromResult(logs[Stuck].Lines.Any(line => line.Contains("pinging peers again", StringComparison.Ordinal))),
            () => $"node {Stuck} never said it pings again once its workers were free");
        Assert.Single(logs[Stuck].Lines, line => line.Contains("no longer pinging peers", StringComparison.Ordinal));
        Assert.Empty(ledger.Violations);
        Assert.All(newLeaders, pair => Assert.True(ledger.Saw(pair.Key, pair.Value), $"the leadership streams never reported node {pair.Value} leading group {pair.Key}"));
        await cluster.WaitUntilNoGroupIsTickedAsync(Patience);
    }

    /// <summary>
    /// A state machine of node 1 blocks its thread in apply (synchronous I/O that hangs): its
    /// worker is stuck as if on a hung disk, and the quiescent groups it leads on that worker fail
    /// over the same way. (One that awaits instead holds only its own group, see
    /// <see cref="HostLiveness_AStateMachineAwaitingInApplyHoldsOnlyItsGroupAndTheWorkerServesTheOthers"/>.)
    /// </summary>
    [Fact]
    public async Task HostLiveness_WhenAStateMachineBlocksInApplyThePeersTakeOverTheQuiescentGroupsItsWorkerLed()
    {
        var gate = new ApplyGate();
        var logs = new ConcurrentDictionary<ulong, CapturingLoggerFactory>();
        await using var cluster = new HostCluster(3, rocksDb: false, id => Quiescing(id, logs.GetOrAdd(id, _ => new CapturingLoggerFactory())));
        cluster.WrapMachine = (node, _, machine) => node == Stuck ? new GatedApplyStateMachine(machine, gate, blocksThread: true) : machine;
        await LeadEveryGroupFromAsync(cluster, Stuck);
        await using var ledger = new LeaderLedger(cluster, Groups);

        // Groups are sharded by id over the two workers: the ones sharing Groups[0]'s worker wait
        // behind its blocked apply. The other worker's groups are served as before.
        ulong[] blocked = [.. Groups.Where(g => g % 2 == Groups[0] % 2)];
        await BlockApplyUntilFailedOverAsync(cluster, gate, blocked, $"node {Stuck}'s state machine blocked in apply", stallTick =>
        {
            Assert.Single(logs[Stuck].Lines, line => line.Contains("no longer pinging peers", StringComparison.Ordinal));
            return Task.CompletedTask;
        });
        Assert.Empty(ledger.Violations);
    }

    /// <summary>
    /// A state machine of node 1 awaits in apply for longer than the groups' election timeout. The
    /// worker parks that apply after a tick and goes on serving its other groups: they keep node 1
    /// as their leader and commit, and node 1 keeps pinging. Only the held group goes without its
    /// leader, whose heartbeats wait behind the apply, so its awake followers elect another; once
    /// the apply ends, node 1 finishes it, applies in order what it missed, and follows.
    /// </summary>
    [Fact]
    public async Task HostLiveness_AStateMachineAwaitingInApplyHoldsOnlyItsGroupAndTheWorkerServesTheOthers()
    {
        var gate = new ApplyGate();
        var logs = new ConcurrentDictionary<ulong, CapturingLoggerFactory>();
        await using var cluster = new HostCluster(3, rocksDb: false, id => Quiescing(id, logs.GetOrAdd(id, _ => new CapturingLoggerFactory())));
        ulong held = Groups[0];
        cluster.WrapMachine = (node, group, machine) => node == Stuck && group == held ? new GatedApplyStateMachine(machine, gate, blocksThread: false) : machine;
        await LeadEveryGroupFromAsync(cluster, Stuck);
        await using var ledger = new LeaderLedger(cluster, Groups);
        ulong[] sameWorker = [.. Groups.Where(g => g != held && g % 2 == held % 2)];
        Assert.NotEmpty(sameWorker);

        await BlockApplyUntilFailedOverAsync(cluster, gate, [held], $"node {Stuck}'s state machine of group {held} awaiting in apply", async _ =>
        {
            foreach (var group in sameWorker)
            {
                await cluster.Hosts[Stuck].ProposeAsync(group, KvCommand.Set("k", "beside")).WaitAsync(Patience);
                var metrics = await cluster.Hosts[Stuck].GetMetricsAsync(group);
                Assert.True(metrics.Role == RaftRole.Leader, $"node {Stuck} no longer leads group {group}, on the worker of the held group: it is {metrics.Role} in term {metrics.Term}");
                Assert.False(cluster.NodeIds.Any(id => id != Stuck && ledger.Saw(group, id)), $"group {group}, on the worker of the held group, elected another leader");
            }

            Assert.True(cluster.Hosts[Stuck].Statistics.AppliesParked >= 1, $"node {Stuck} counts no parked apply");
            Assert.Equal(0L, cluster.Hosts[Stuck].Statistics.PingsWithheldTicks);
            Assert.DoesNotContain(logs[Stuck].Lines, line => line.Contains("no longer pinging peers", StringComparison.Ordinal));
        });
        Assert.Empty(ledger.Violations);
    }

    /// <summary>
    /// A state machine of node 1 blocks in apply while node 1's other worker keeps a group busy,
    /// exchanging messages with the peers every tick. That traffic must not hide the stuck worker
    /// from them: the quiescent groups node 1 led on it fail over as if node 1 were silent, while
    /// the groups on its healthy worker keep node 1 as their leader and the busy one goes on
    /// committing.
    /// </summary>
    [Fact]
    public async Task HostLiveness_TrafficFromAHealthyWorkerDoesNotHideAStuckWorkerOfTheSameHost()
    {
        var gate = new ApplyGate();
        var logs = new ConcurrentDictionary<ulong, CapturingLoggerFactory>();
        await using var cluster = new HostCluster(3, rocksDb: false, id => Quiescing(id, logs.GetOrAdd(id, _ => new CapturingLoggerFactory())));

        // Groups are sharded by id over the two workers: only Groups[0]'s worker blocks, so the
        // busy group on the other one goes on applying.
        ulong[] blocked = [.. Groups.Where(g => g % 2 == Groups[0] % 2)];
        ulong busy = Groups[1];
        cluster.WrapMachine = (node, group, machine) => node == Stuck && blocked.Contains(group) ? new GatedApplyStateMachine(machine, gate, blocksThread: true) : machine;
        await LeadEveryGroupFromAsync(cluster, Stuck);
        await using var ledger = new LeaderLedger(cluster, Groups);
        await using var traffic = new SteadyProposals(cluster.Hosts[Stuck], busy);
        await traffic.WaitForCommitsAsync(3, $"group {busy} never committed the steady proposals at node {Stuck}");

        await BlockApplyUntilFailedOverAsync(cluster, gate, blocked, $"node {Stuck}'s state machine blocked in apply while its other worker kept group {busy} busy", async stallTick =>
        {
            // The peers found node 1 silent, so they woke every group they share with it, the
            // quiescent ones on its healthy worker too. Those keep node 1 as their leader (it
            // heartbeats them while it withholds its pings) for as long as a woken follower could
            // take to time out.
            var clock = cluster.Hosts[2];
            await HostCluster.WaitUntilAsync(() => clock.TickSequence >= stallTick + FailoverTicks, Patience, () => "the timer stopped");
            foreach (var id in cluster.NodeIds.Where(id => id != Stuck))
            {
                Assert.True(logs[id].Lines.Any(line => line.Contains($"peer {Stuck} silent for", StringComparison.Ordinal)), $"node {id} never found node {Stuck} silent");
            }

            await traffic.WaitForCommitsAsync(traffic.Commits + 3, $"group {busy} on node {Stuck}'s healthy worker stopped committing while the other worker was stuck");
            Assert.True(traffic.Failures.IsEmpty, $"proposals to group {busy} at node {Stuck} failed while only the other worker was stuck: {string.Join(" | ", traffic.Failures)}");
            foreach (var group in Groups.Except(blocked))
            {
                var moved = cluster.NodeIds.Where(id => id != Stuck && ledger.Saw(group, id)).ToList();
                Assert.True(moved.Count == 0, $"group {group}, on node {Stuck}'s healthy worker, elected node {string.Join(", ", moved)} while the other worker was stuck");
                var metrics = await cluster.Hosts[Stuck].GetMetricsAsync(group);
                Assert.True(metrics.Role == RaftRole.Leader, $"node {Stuck} no longer leads group {group}, on its healthy worker: it is {metrics.Role} in term {metrics.Term}");
            }
        });
        Assert.Empty(ledger.Violations);
    }

    /// <summary>
    /// Workers that wait for work (every group quiescent) are healthy: the host keeps pinging, and
    /// its peers wake no group, for several times the stuck bound and the peer silence. The pings
    /// are all that passes between the hosts meanwhile, and they alone keep each one unsuspected.
    /// </summary>
    [Fact]
    public async Task HostLiveness_IdleWorkersKeepTheHostPingingAndNoGroupIsWoken()
    {
        var logs = new ConcurrentDictionary<ulong, CapturingLoggerFactory>();
        await using var cluster = new HostCluster(3, rocksDb: false, id => Quiescing(id, logs.GetOrAdd(id, _ => new CapturingLoggerFactory())));
        await cluster.BootstrapFreshAsync(Groups);
        foreach (var group in Groups)
        {
            await cluster.WriteAsync(group, "k", "v", Patience);
        }

        await cluster.WaitUntilNoGroupIsTickedAsync(Patience);
        var ticked = cluster.Hosts.ToDictionary(host => host.Key, host => host.Value.Statistics.TickedGroups);
        var sent = cluster.Hosts.ToDictionary(host => host.Key, host => host.Value.Statistics.BatchesSent);
        long delivered = cluster.Network.DeliveredBatches;
        var host = cluster.Hosts[Stuck];
        long start = host.TickSequence;
        await HostCluster.WaitUntilAsync(() => host.TickSequence >= start + FailoverTicks, Patience, () => "the timer stopped");


        foreach (var (id, logged) in logs)
        {
            var alarms = logged.Lines.Where(line => line.Contains("no longer pinging peers", StringComparison.Ordinal) || line.Contains("silent for", StringComparison.Ordinal)).ToList();
            Assert.True(alarms.Count == 0, $"node {id} raised the alarm though every host was idle: {string.Join(" | ", alarms)}");
            Assert.Equal((0L, 0L), (cluster.Hosts[id].Statistics.PingsWithheldTicks, cluster.Hosts[id].Statistics.PeersFoundSilent));
            Assert.True(cluster.Hosts[id].Statistics.TickedGroups == ticked[id], $"node {id} woke quiescent groups ({cluster.Hosts[id].Statistics.TickedGroups - ticked[id]} group ticks) though every host was idle");

            // Its workers sent nothing: every batch between the hosts meanwhile was a ping.
            Assert.True(cluster.Hosts[id].Statistics.BatchesSent == sent[id], $"node {id}'s workers sent {cluster.Hosts[id].Statistics.BatchesSent - sent[id]} batches though every group was quiescent");
        }

        Assert.True(cluster.Network.DeliveredBatches - delivered >= FailoverTicks, $"only {cluster.Network.DeliveredBatches - delivered} pings arrived in {FailoverTicks} ticks of three idle hosts");
    }

    /// <summary>
    /// Only pings show a host alive: node 1's pings are lost on the way while a group it leads
    /// keeps sending the peers its other messages every tick, and both peers find it silent all
    /// the same, within the peer silence.
    /// </summary>
    [Fact]
    public async Task HostLiveness_AHostWhosePingsStopIsFoundSilentThoughItsOtherMessagesStillArrive()
    {
        var logs = new ConcurrentDictionary<ulong, CapturingLoggerFactory>();
        var pings = new PingSwitch();
        await using var cluster = new HostCluster(
            3,
            rocksDb: false,
            id => Quiescing(id, logs.GetOrAdd(id, _ => new CapturingLoggerFactory())),
            wrapTransport: (id, endpoint) => id == Stuck ? new PingDroppingTransport(endpoint, pings) : endpoint);
        await LeadEveryGroupFromAsync(cluster, Stuck);
        ulong busy = Groups[1];
        await using var traffic = new SteadyProposals(cluster.Hosts[Stuck], busy);
        await traffic.WaitForCommitsAsync(3, $"group {busy} never committed the steady proposals at node {Stuck}");
        ulong[] peers = [.. cluster.NodeIds.Where(id => id != Stuck)];
        bool FoundSilent(ulong id) => logs[id].Lines.Any(line => line.Contains($"peer {Stuck} silent for", StringComparison.Ordinal));
        Assert.True(!peers.Any(FoundSilent), $"a peer found node {Stuck} silent while it still pinged");

        pings.Dropping = true;
        long committed = traffic.Commits;
        await HostCluster.WaitUntilWithinTicksAsync(
            cluster.Hosts[2],
            2 * ElectionTicks,
            () => Task.FromResult(peers.All(FoundSilent)),
            () => $"node(s) {string.Join(", ", peers.Where(id => !FoundSilent(id)))} never found node {Stuck} silent though its pings had stopped: its other messages still counted as signs of life");
        Assert.True(traffic.Commits > committed, $"group {busy} committed nothing while node {Stuck}'s pings were dropped, so its other messages did not arrive either: the test proves nothing");
        Assert.True(traffic.Failures.IsEmpty, $"proposals to group {busy} failed: {string.Join(" | ", traffic.Failures)}");
    }

    /// <summary>
    /// A link that drops one way: every batch from node 2 to node 1 is lost, from before any group
    /// starts, while node 1's batches reach node 2. Node 2 hears node 1 (its messages and pings), so
    /// it must not find node 1 silent; node 1 hears nothing from node 2, so it must find node 2
    /// silent. Node 3 hears both. Node 1 leads every group throughout, in the term it was elected in.
    /// </summary>
    /// <remarks>
    /// Node 1 knows node 2 only from sending to it: nothing from node 2 ever arrives. The groups
    /// node 1 leads cannot quiesce here (a leader goes quiet once every follower acknowledged its
    /// last entry, and node 2's acknowledgements are lost), so a wrong verdict wakes no group;
    /// it shows in the count and the warning. Only node 1 campaigns (the others' election timeout
    /// is ten times longer), so node 2 sends node 1 nothing but answers to what node 1 sent it
    /// first: were node 2 to send first, say a vote request, it would know node 1 before node 1
    /// knew node 2, and find node 1 silent if node 1 then had nothing to send it for a whole
    /// silence, since a host pings only the peers it knows.
    /// </remarks>
    [Fact]
    public async Task HostLiveness_AOneWayLinkMakesOnlyTheUnheardPeerSilent()
    {
        const ulong Leader = 1;
        const ulong Muted = 2;
        var logs = new ConcurrentDictionary<ulong, CapturingLoggerFactory>();
        await using var cluster = new HostCluster(3, rocksDb: false, id => OnlyNodeOneCampaigns(id, logs.GetOrAdd(id, _ => new CapturingLoggerFactory())));

        // Nothing has crossed yet: the hosts run no group, and they ping only the peers they know.
        cluster.Network.Partitions.CutOneWay(Muted, Leader);
        await cluster.BootstrapFreshAsync(Groups);
        var terms = new Dictionary<ulong, ulong>();
        await HostCluster.WaitUntilAsync(
            async () =>
            {
                foreach (var group in Groups)
                {
                    var metrics = await cluster.Hosts[Leader].GetMetricsAsync(group);
                    if (metrics.Role != RaftRole.Leader)
                    {
                        return false;
                    }

                    terms[group] = metrics.Term;
                }

                return true;
            },
            Patience,
            () => $"node {Leader} does not lead every group");

        var clock = cluster.Hosts[Muted];
        long start = clock.TickSequence;
        await HostCluster.WaitUntilAsync(() => clock.TickSequence >= start + FailoverTicks, Patience, () => "the timer stopped");

        bool FoundSilent(ulong id, ulong peer) => logs[id].Lines.Any(line => line.Contains($"peer {peer} silent for", StringComparison.Ordinal));
        Assert.True(
            cluster.Hosts[Muted].Statistics.PeersFoundSilent == 0 && !FoundSilent(Muted, Leader),
            $"node {Muted} found node {Leader} silent though every batch from node {Leader} reached it ({cluster.Hosts[Muted].Statistics.PeersFoundSilent} silent peers counted): node {Leader} never pinged the peer it sends to but never hears from");
        Assert.True(
            cluster.Hosts[Leader].Statistics.PeersFoundSilent >= 1 && FoundSilent(Leader, Muted),
            $"node {Leader} never found node {Muted} silent though nothing from node {Muted} reached it ({cluster.Hosts[Leader].Statistics.PeersFoundSilent} silent peers counted)");
        Assert.True(cluster.Hosts[3].Statistics.PeersFoundSilent == 0, $"node 3, which hears both, found {cluster.Hosts[3].Statistics.PeersFoundSilent} peers silent");
        Assert.True(cluster.Network.DroppedBatches > 0, $"no batch from node {Muted} to node {Leader} was dropped: the test proves nothing");
        foreach (var group in Groups)
        {
            foreach (var id in cluster.NodeIds)
            {
                var metrics = await cluster.Hosts[id].GetMetricsAsync(group);
                Assert.True(
                    metrics.Term == terms[group] && metrics.Leader == Leader && metrics.Role == (id == Leader ? RaftRole.Leader : RaftRole.Follower),
                    $"group {group} on node {id}: {metrics.Role} in term {metrics.Term} with leader {metrics.Leader}, not node {Leader}'s in term {terms[group]}");
            }
        }
    }

    /// <summary>
    /// A peer first known by sending to it has the whole silence to ping, counted from that first
    /// send, as a peer first heard from has, however long the host ran before it: node 1 first
    /// sends to node 2 long after it started, and node 2's pings, lost until node 1 has ticked a
    /// few times since, then arrive well within the silence; node 1 must not find node 2 silent.
    /// </summary>
    [Fact]
    public async Task HostLiveness_APeerFirstKnownBySendingToItHasTheWholeSilenceToPing()
    {
        const ulong Sender = 1;
        const ulong Peer = 2;
        const int Silence = 3 * ElectionTicks;
        var logs = new ConcurrentDictionary<ulong, CapturingLoggerFactory>();
        var pings = new PingSwitch { Dropping = true };
        FirstSendWatchingTransport? sends = null;
        await using var cluster = new HostCluster(
            2,
            rocksDb: false,
            id =>
            {
                var options = OnlyNodeOneCampaigns(id, logs.GetOrAdd(id, _ => new CapturingLoggerFactory()));
                options.PeerSilenceTicks = Silence;
                return options;
            },
            wrapTransport: (id, endpoint) => id == Sender ? sends = new FirstSendWatchingTransport(endpoint, Peer) : new PingDroppingTransport(endpoint, pings));
        var sender = cluster.Hosts[Sender];
        await HostCluster.WaitUntilAsync(() => sender.TickSequence >= 2 * Silence, Patience, () => "the timer stopped");

        await cluster.BootstrapFreshAsync([Groups[0]]);
        await sends!.FirstSent.WaitAsync(Patience);
        long firstSent = sender.TickSequence;
        await HostCluster.WaitUntilAsync(() => sender.TickSequence >= firstSent + 3, Patience, () => "the timer stopped");
        pings.Dropping = false;
        await HostCluster.WaitUntilAsync(() => sender.TickSequence >= firstSent + 2 * Silence, Patience, () => "the timer stopped");

        var alarms = logs[Sender].Lines.Where(line => line.Contains($"peer {Peer} silent for", StringComparison.Ordinal)).ToList();
        Assert.True(
            alarms.Count == 0 && sender.Statistics.PeersFoundSilent == 0,
            $"node {Sender} found node {Peer} silent within the silence after its first send to it, though node {Peer}'s pings arrived a few ticks after that send: {string.Join(" | ", alarms)}");
    }

    /// <summary>
    /// A peer that nothing reaches (every send to it throws) and that never sent anything is
    /// known from the sending all the same, and so found silent: a send need not succeed for its
    /// peer to be watched.
    /// </summary>
    [Fact]
    public async Task HostLiveness_APeerEverySendToWhichFailsIsFoundSilent()
    {
        const ulong Unreachable = 2;
        var logs = new CapturingLoggerFactory();
        var network = new InMemoryNetwork();
        var host = MultiRaftHost.Create(
            new KvTypeConfig(), Quiescing(1, logs), new InMemoryMultiGroupLogStore(), new UnreachablePeerTransport(network.CreateTransport(1), Unreachable), _ => new InMemoryStateMachine());
        await using var _ = host;

        // Node 1 campaigns, sending node 2 requests that all fail, and hears nothing back.
        await host.BootstrapAsync(Groups[0], BootstrapMode.Fresh(1, Unreachable));

        await HostCluster.WaitUntilWithinTicksAsync(
            host,
            FailoverTicks,
            () => Task.FromResult(host.Statistics.PeersFoundSilent >= 1),
            () => $"node 1 never found node {Unreachable} silent though every send to it failed");
        Assert.Contains(logs.Lines, line => line.Contains($"peer {Unreachable} silent for", StringComparison.Ordinal));
    }

    /// <summary>
    /// Quiescing options in which only node 1 times out soon enough to campaign: the others'
    /// election timeout is ten times longer, and the peer silence stays the same for every host.
    /// </summary>
    private static MultiRaftHostOptions OnlyNodeOneCampaigns(ulong id, CapturingLoggerFactory logs) => new()
    {
        NodeId = id,
        WorkerCount = 2,
        TickInterval = TimeSpan.FromMilliseconds(10),
        Raft = new RaftConfig { ElectionTicks = id == 1 ? ElectionTicks : 10 * ElectionTicks, HeartbeatTicks = 2, QuiesceAfterTicks = 5, RandomSeed = 0x5EED + id },
        PeerSilenceTicks = ElectionTicks,
        LoggerFactory = logs,
    };

    /// <summary>Bootstraps <see cref="Groups"/>, hands each group's leadership to <paramref name="leader"/>, and waits until every group is quiescent.</summary>
    private static async Task LeadEveryGroupFromAsync(HostCluster cluster, ulong leader)
    {
        await cluster.BootstrapFreshAsync(Groups);
        foreach (var group in Groups)
        {
            await cluster.WriteAsync(group, "k", "v", Patience);
            ulong current = await cluster.WaitForLeaderAsync(group, Patience);
            if (current != leader)
            {
                await cluster.Hosts[current].TransferLeadershipAsync(group, leader).WaitAsync(Patience);
            }
        }

        await HostCluster.WaitUntilAsync(
            async () =>
            {
                foreach (var group in Groups)
                {
                    if ((await cluster.Hosts[leader].GetMetricsAsync(group)).Role != RaftRole.Leader)
                    {
                        return false;
                    }
                }

                return true;
            },
            Patience,
            () => $"node {leader} does not lead every group");
        await cluster.WaitUntilNoGroupIsTickedAsync(Patience);
    }

    /// <summary>
    /// Blocks node 1's gated state machines and proposes to <c>Groups[0]</c>, whose apply then
    /// blocks its worker; waits until the peers elected new leaders for <paramref name="blocked"/>
    /// and a write committed at each; runs <paramref name="whileStuck"/> (given the peers' tick at
    /// the stall); then releases the apply and waits until node 1 follows those groups again.
    /// </summary>
    private static async Task BlockApplyUntilFailedOverAsync(HostCluster cluster, ApplyGate gate, ulong[] blocked, string stall, Func<long, Task> whileStuck)
    {
        gate.Hold();
        Task hung;
        try
        {
            long stallTick = cluster.Hosts[2].TickSequence;
            hung = cluster.Hosts[Stuck].ProposeAsync(Groups[0], KvCommand.Set("k", "hung"));
            await HostCluster.WaitUntilAsync(() => gate.Held > 0, Patience, () => $"node {Stuck}'s state machine never started applying the proposal");

            var newLeaders = await WaitForFailoverAsync(cluster, blocked, stallTick, stall);
            Assert.False(hung.IsCompleted, "the proposal whose apply blocks completed");
            await CommitAtAsync(cluster, newLeaders);
            await whileStuck(stallTick);
        }
        finally
        {
            gate.Release();
        }

        await hung.ContinueWith(static _ => { }, TaskScheduler.Default).WaitAsync(Patience);
        await WaitUntilRejoinedAsync(cluster, blocked);
    }

    /// <summary>Waits, within <see cref="FailoverTicks"/> of node 2's clock from <paramref name="stallTick"/>, until a node other than the stuck one leads each of <paramref name="groups"/>; returns the leaders.</summary>
    private static async Task<Dictionary<ulong, ulong>> WaitForFailoverAsync(HostCluster cluster, ulong[] groups, long stallTick, string stall)
    {
        var clock = cluster.Hosts[2];
        var leaders = new Dictionary<ulong, ulong>();
        long remaining = stallTick + FailoverTicks - clock.TickSequence;
        await HostCluster.WaitUntilWithinTicksAsync(
            clock,
            remaining,
            async () =>
            {
                foreach (var group in groups)
                {
                    if (!leaders.ContainsKey(group) && await cluster.LeaderOtherThanAsync(group, Stuck) is { } leader)
                    {
                        leaders[group] = leader;
                    }
                }

                return leaders.Count == groups.Length;
            },
            () => $"{FailoverTicks} ticks after {stall}, groups {string.Join(", ", groups.Where(g => !leaders.ContainsKey(g)))} still had no leader but node {Stuck}: its peers never took over the quiescent groups it led");
        return leaders;
    }

    /// <summary>Proposes to each group at its new leader; each must commit without the stuck host.</summary>
    private static async Task CommitAtAsync(HostCluster cluster, Dictionary<ulong, ulong> leaders)
    {
        foreach (var (group, leader) in leaders)
        {
            var response = await cluster.Hosts[leader].ProposeAsync(group, KvCommand.Set("k", "after")).WaitAsync(Patience);
            Assert.True(cluster.StateMachines[(leader, group)].TryGetValue("k", out var value) && value == "after", $"group {group}'s new leader {leader} acknowledged a write it did not apply ({response})");
        }
    }

    /// <summary>
    /// Waits until every host agrees on each group's leader and term, the once-stuck host follows
    /// (it stepped down on the higher term) and it applied the write made while it was stuck.
    /// </summary>
    private static async Task WaitUntilRejoinedAsync(HostCluster cluster, ulong[] groups)
    {
        string last = "";
        await HostCluster.WaitUntilWithinTicksAsync(
            cluster.Hosts[2],
            FailoverTicks,
            async () =>
            {
                foreach (var group in groups)
                {
                    var metrics = new List<GroupMetrics>();
                    foreach (var id in cluster.NodeIds)
                    {
                        metrics.Add(await cluster.Hosts[id].GetMetricsAsync(group));
                    }

                    var stuck = metrics.Single(m => m.NodeId == Stuck);
                    last = $"group {group}: " + string.Join("; ", metrics.Select(m => $"node {m.NodeId} {m.Role} term {m.Term} leader {m.Leader}"));
                    if (stuck.Role != RaftRole.Follower
                        || metrics.Any(m => m.Term != stuck.Term || m.Leader != stuck.Leader)
                        || stuck.Leader is null or Stuck
                        || !cluster.StateMachines[(Stuck, group)].TryGetValue("k", out var value) || value != "after")
                    {
                        return false;
                    }
                }

                return true;
            },
            () => $"node {Stuck} did not rejoin as a follower of the new leaders once released; last seen {last}");
    }

    /// <summary>
    /// Every leadership the hosts report for the groups, by term, from the leadership streams
    /// (one event per change of role): two nodes leading one group in one term break election safety.
    /// </summary>
    private sealed class LeaderLedger : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Task> _watches = [];
        private readonly ConcurrentDictionary<(ulong Group, ulong Term), ulong> _leaders = new();
        private readonly ConcurrentQueue<string> _violations = new();

        public LeaderLedger(HostCluster cluster, ulong[] groups)
        {
            foreach (var host in cluster.Hosts.Values)
            {
                foreach (var group in groups)
                {
                    // The subscription is queued on the group's worker before this returns.
                    _watches.Add(WatchAsync(host, group));
                }
            }
        }

        public IReadOnlyCollection<string> Violations => _violations;

        /// <summary>True when <paramref name="node"/> reported leading <paramref name="group"/> in some term.</summary>
        public bool Saw(ulong group, ulong node) => _leaders.Any(led => led.Key.Group == group && led.Value == node);

        private async Task WatchAsync(MultiRaftHost<KvNode, KvCommand, KvResponse, KvSnapshot> host, ulong group)
        {
            try
            {
                await foreach (var state in host.LeadershipEvents(group, _stop.Token))
                {
                    if (state.Role == LeadershipRole.Leader && _leaders.GetOrAdd((group, state.Term), host.NodeId) is var first && first != host.NodeId)
                    {
                        _violations.Enqueue($"group {group} term {state.Term}: led by node {first} and node {host.NodeId}");
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await Task.WhenAll(_watches);
            _stop.Dispose();
        }
    }

    /// <summary>Proposes to one group at one host, one proposal at a time, about once a tick, until disposed: traffic that keeps the group awake.</summary>
    private sealed class SteadyProposals : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private readonly ConcurrentQueue<string> _failures = new();
        private long _commits;

        public SteadyProposals(MultiRaftHost<KvNode, KvCommand, KvResponse, KvSnapshot> host, ulong group)
        {
            _loop = RunAsync(host, group);
        }

        /// <summary>Proposals acknowledged so far.</summary>
        public long Commits => Interlocked.Read(ref _commits);

        /// <summary>Why proposals failed (a lost leadership, a drop), in order.</summary>
        public ConcurrentQueue<string> Failures => _failures;

        /// <summary>Waits until <paramref name="commits"/> proposals in all were acknowledged.</summary>
        public Task WaitForCommitsAsync(long commits, string failure) =>
            HostCluster.WaitUntilAsync(() => Commits >= commits, Patience, () => $"{failure} ({Commits} acknowledged; failures: {string.Join(" | ", _failures)})");

        private async Task RunAsync(MultiRaftHost<KvNode, KvCommand, KvResponse, KvSnapshot> host, ulong group)
        {
            for (long i = 0; !_stop.IsCancellationRequested; i++)
            {
                try
                {
                    await host.ProposeAsync(group, KvCommand.Set("busy", i.ToString(System.Globalization.CultureInfo.InvariantCulture))).WaitAsync(Patience, _stop.Token);
                    Interlocked.Increment(ref _commits);
                    await NextTickAsync(host);
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    _failures.Enqueue($"{e.GetType().Name}: {e.Message}");
                    await NextTickAsync(host);
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            _stop.Dispose();
        }

        /// <summary>Waits for the host's next tick: one proposal a tick, in the hosts' own time, keeps the group busy every tick.</summary>
        private static Task NextTickAsync(MultiRaftHost<KvNode, KvCommand, KvResponse, KvSnapshot> host)
        {
            long tick = host.TickSequence;
            return HostCluster.WaitUntilAsync(() => host.TickSequence > tick, Patience, () => $"node {host.NodeId}'s timer stopped");
        }
    }

    /// <summary>Whether <see cref="PingDroppingTransport"/> drops pings now.</summary>
    private sealed class PingSwitch
    {
        private volatile bool _dropping;

        public bool Dropping
        {
            get => _dropping;
            set => _dropping = value;
        }
    }

    /// <summary>A node's endpoint that loses the host's pings (its empty batches) while its switch says so, and sends everything else.</summary>
    private sealed class PingDroppingTransport(ITransport inner, PingSwitch pings) : ITransport
    {
        public ulong LocalNode => inner.LocalNode;

        public void Bind(IMessageReceiver receiver) => inner.Bind(receiver);

        public void Send(ulong toNode, List<GroupMessage> batch)
        {
            if (batch.Count == 0 && pings.Dropping)
            {
                return;
            }

            inner.Send(toNode, batch);
        }

        public void Dispose() => inner.Dispose();
    }

    /// <summary>A node's endpoint that sends everything, and tells when it first sent a batch to one peer.</summary>
    private sealed class FirstSendWatchingTransport(ITransport inner, ulong peer) : ITransport
    {
        private readonly TaskCompletionSource _firstSent = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes once a batch to the peer was handed on.</summary>
        public Task FirstSent => _firstSent.Task;

        public ulong LocalNode => inner.LocalNode;

        public void Bind(IMessageReceiver receiver) => inner.Bind(receiver);

        public void Send(ulong toNode, List<GroupMessage> batch)
        {
            inner.Send(toNode, batch);
            if (toNode == peer)
            {
                _firstSent.TrySetResult();
            }
        }

        public void Dispose() => inner.Dispose();
    }

    /// <summary>A node's endpoint whose sends to one peer all throw (a peer unreachable), and that sends everything else.</summary>
    private sealed class UnreachablePeerTransport(ITransport inner, ulong unreachable) : ITransport
    {
        public ulong LocalNode => inner.LocalNode;

        public void Bind(IMessageReceiver receiver) => inner.Bind(receiver);

        public void Send(ulong toNode, List<GroupMessage> batch)
        {
            if (toNode == unreachable)
            {
                throw new IOException($"node {toNode} unreachable");
            }

            inner.Send(toNode, batch);
        }

        public void Dispose() => inner.Dispose();
    }

    /// <summary>Holds applies (of every state machine that shares it) until released.</summary>
    private sealed class ApplyGate
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile bool _holding;
        private int _held;

        /// <summary>How many applies have waited on the gate.</summary>
        public int Held => Volatile.Read(ref _held);

        public void Hold() => _holding = true;

        public void Release()
        {
            _holding = false;
            _released.TrySetResult();
        }

        public Task? Wait()
        {
            if (!_holding)
            {
                return null;
            }

            Interlocked.Increment(ref _held);
            return _released.Task;
        }
    }

    /// <summary>
    /// An in-memory state machine whose applies wait while its <see cref="ApplyGate"/> holds:
    /// blocking the calling thread, as a state machine doing synchronous I/O does (its worker is
    /// stuck), or awaiting the gate (its apply outlasts the round, and the worker parks it).
    /// </summary>
    private sealed class GatedApplyStateMachine(InMemoryStateMachine inner, ApplyGate gate, bool blocksThread) : DelegatingStateMachine<KvResponse, KvSnapshot>(inner)
    {
        public override ValueTask ApplyAsync(ReadOnlyMemory<ApplyItem<KvResponse>> items, CancellationToken cancellationToken = default)
        {
            if (gate.Wait() is not { } released)
            {
                return Inner.ApplyAsync(items, cancellationToken);
            }

            if (blocksThread)
            {
                released.Wait(cancellationToken);
                return Inner.ApplyAsync(items, cancellationToken);
            }

            return AfterRelease(released, items, cancellationToken);
        }

        private async ValueTask AfterRelease(Task released, ReadOnlyMemory<ApplyItem<KvResponse>> items, CancellationToken cancellationToken)
        {
            await released.ConfigureAwait(false);
            await Inner.ApplyAsync(items, cancellationToken).ConfigureAwait(false);
        }
    }
}
