using RaftToolkit.Core.Host;
using RaftToolkit.Core.Lifecycle;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Storage;
using RaftToolkit.Testing.KeyValue;
using RaftToolkit.Testing.Storage;
using Xunit;
using Xunit.Abstractions;

namespace RaftToolkit.Core.Tests.Host;

/// <summary>Snapshots and log compaction on real RocksDB stores: purge, catch-up by snapshot install, restart from a snapshot.</summary>
public sealed class HostSnapshotTests(ITestOutputHelper output)
{
    private const ulong Group = 5;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static MultiRaftHostOptions SnapshotOptions(ulong id)
    {
        var options = HostCluster.FastOptions(id);
        options.SnapshotAfterEntries = 20;
        options.PurgeKeepEntries = 5;
        options.SnapshotChunkBytes = 256;
        return options;
    }

    [Fact]
    public async Task HostSnapshot_EveryStoreIsPurgedAfterManyWritesAndEveryReplicaAgrees()
    {
        await using var cluster = new HostCluster(3, rocksDb: true, SnapshotOptions);
        await cluster.BootstrapFreshAsync([Group]);
        await cluster.WaitForLeaderAsync(Group, Patience);

        await WriteKeysAsync(cluster, "k", 0, 150);

        await WaitUntilAsync(
            async () =>
            {
                foreach (var id in cluster.NodeIds)
                {
                    var state = await cluster.Stores[id].ForGroup(Group).GetLogStateAsync();
                    if (state.LastPurgedLogId is not { Index: >= 100 })
                    {
                        return false;
                    }
                }

                return true;
            },
            () => Describe(cluster));
        await WaitForAllKeysAsync(cluster, cluster.NodeIds, "k", 150);

        var reference = cluster.StateMachines[(1, Group)].Pairs();
        foreach (var id in cluster.NodeIds)
        {
            Assert.Equal(reference, cluster.StateMachines[(id, Group)].Pairs());
            var metrics = await cluster.Hosts[id].GetMetricsAsync(Group);
            Assert.NotNull(metrics.Purged);
            Assert.NotNull(metrics.Snapshot);
            Assert.True(metrics.Purged!.Value.Index <= metrics.Snapshot!.Value.Index, $"node {id}: purged {metrics.Purged} past the snapshot {metrics.Snapshot}");
            Assert.True(cluster.Hosts[id].Statistics.SnapshotsBuilt > 0, $"node {id} built no snapshot");
        }

        output.WriteLine(Describe(cluster));
    }

    /// <summary>
    /// Isolates <paramref name="lagging"/> and writes until the leader, no longer holding its
    /// purge for the silent follower, has purged past that follower's last entry: the follower
    /// can then catch up only by a snapshot. Returns the follower's log state when it was cut off.
    /// </summary>
    private static async Task<LogState> IsolateUntilTheLeaderPurgesPastAsync(HostCluster cluster, ulong leader, ulong lagging)
    {
        cluster.Network.Partitions.Isolate(lagging);
        var cutOff = await cluster.Stores[lagging].ForGroup(Group).GetLogStateAsync();
        await WriteKeysAsync(cluster, "during", 0, 150);
        await WaitUntilAsync(
            async () => (await cluster.Stores[leader].ForGroup(Group).GetLogStateAsync()).LastPurgedLogId is { } purged && purged.Index > cutOff.LastLogId!.Value.Index + 1,
            () => $"the leader did not purge past the lagging node's last entry {cutOff.LastLogId}: {Describe(cluster)}");
        return cutOff;
    }

    [Fact]
    public async Task HostSnapshot_AnIsolatedFollowerCatchesUpByInstallingTheLeadersSnapshot()
    {
        await using var cluster = new HostCluster(3, rocksDb: true, SnapshotOptions);
        await cluster.BootstrapFreshAsync([Group]);
        ulong leader = await cluster.WaitForLeaderAsync(Group, Patience);
        ulong lagging = cluster.NodeIds.First(id => id != leader);
        await WriteKeysAsync(cluster, "before", 0, 10);
        await WaitForAllKeysAsync(cluster, [lagging], "before", 10);

        var laggingLast = (await IsolateUntilTheLeaderPurgesPastAsync(cluster, leader, lagging)).LastLogId!.Value;
        Assert.Equal(0, cluster.Hosts[lagging].Statistics.SnapshotsInstalled);

        cluster.Network.Partitions.Reconnect(lagging);
        await WriteKeysAsync(cluster, "after", 0, 5);
        await WaitForAllKeysAsync(cluster, [lagging], "during", 150);
        await WaitForAllKeysAsync(cluster, [lagging], "after", 5);
        await WaitForAllKeysAsync(cluster, [lagging], "before", 10);

        Assert.True(cluster.Hosts[lagging].Statistics.SnapshotsInstalled > 0, "the lagging node caught up without a snapshot");
        var laggingState = await cluster.Stores[lagging].ForGroup(Group).GetLogStateAsync();
        Assert.True(laggingState.LastPurgedLogId is { } p && p.Index > laggingLast.Index, $"the lagging node's log was not moved past the snapshot: {laggingState}");
        output.WriteLine(Describe(cluster));
    }

    /// <summary>
    /// The log behind a snapshot is purged only once the state machine holds the snapshot: a
    /// follower whose state machine cannot install the leader's snapshot stops the group there,
    /// and its log stays as it was.
    /// </summary>
    [Fact]
    public async Task HostSnapshot_AFollowerThatCannotInstallTheLeadersSnapshotStopsTheGroupAndKeepsItsLog()
    {
        await using var cluster = new HostCluster(3, rocksDb: false, SnapshotOptions);
        cluster.WrapMachine = (_, _, machine) => new FailingInstallStateMachine(machine);
        await cluster.BootstrapFreshAsync([Group]);
        ulong leader = await cluster.WaitForLeaderAsync(Group, Patience);
        ulong lagging = cluster.NodeIds.First(id => id != leader);
        await WriteKeysAsync(cluster, "before", 0, 10);
        await WaitForAllKeysAsync(cluster, [lagging], "before", 10);

        var laggingBefore = await IsolateUntilTheLeaderPurgesPastAsync(cluster, leader, lagging);

        cluster.Network.Partitions.Reconnect(lagging);
        await HostCluster.WaitUntilAsync(() => !cluster.Hosts[lagging].IsHosted(Group), Patience, () => $"node {lagging} still runs the group it could not install a snapshot into");

        var laggingAfter = await cluster.Stores[lagging].ForGroup(Group).GetLogStateAsync();
        Assert.Equal(laggingBefore.LastPurgedLogId, laggingAfter.LastPurgedLogId);
        Assert.False(cluster.Hosts[lagging].Completion.IsCompleted, "one group's failed install does not stop the host");
    }

    /// <summary>
    /// Bootstraps <see cref="Group"/>, writes <paramref name="keys"/> keys until a follower has
    /// applied them all and purged its log up to <paramref name="purgedAtLeast"/> or beyond, then
    /// stops that follower's host and reopens its store, for a test to start the host again.
    /// </summary>
    private static async Task<(ulong Leader, ulong Restarted)> StopAFollowerWithItsLogPurgedAsync(HostCluster cluster, int keys, ulong purgedAtLeast)
    {
        await cluster.BootstrapFreshAsync([Group]);
        ulong leader = await cluster.WaitForLeaderAsync(Group, Patience);
        ulong restarted = cluster.NodeIds.First(id => id != leader);
        await WriteKeysAsync(cluster, "k", 0, keys);
        await WaitForAllKeysAsync(cluster, [restarted], "k", keys);
        await WaitUntilAsync(
            async () => (await cluster.Stores[restarted].ForGroup(Group).GetLogStateAsync()).LastPurgedLogId is { } purged && purged.Index >= purgedAtLeast,
            () => Describe(cluster));
        await cluster.Hosts[restarted].DisposeAsync();
        await cluster.Stores[restarted].DisposeAsync();
        cluster.Stores[restarted] = cluster.OpenStore(restarted);
        return (leader, restarted);
    }

    [Fact]
    public async Task HostSnapshot_AHostReopenedAfterPurgeRestoresFromTheStateMachinesSnapshotAndContinues()
    {
        await using var cluster = new HostCluster(3, rocksDb: true, SnapshotOptions);
        var (leader, restarted) = await StopAFollowerWithItsLogPurgedAsync(cluster, keys: 100, purgedAtLeast: 50);

        // The state machine keeps only its durable snapshot.
        var durable = await cluster.StateMachines[(restarted, Group)].GetCurrentSnapshotAsync();
        Assert.NotNull(durable);
        var purgedAtRestart = (await cluster.Stores[restarted].ForGroup(Group).GetLogStateAsync()).LastPurgedLogId;
        Assert.NotNull(purgedAtRestart);

        var fresh = new InMemoryStateMachine();
        var host = MultiRaftHost.Create(new KvTypeConfig(), SnapshotOptions(restarted), cluster.Stores[restarted], cluster.Network.CreateTransport(restarted), _ =>
        {
            cluster.StateMachines[(restarted, Group)] = fresh;
            return new SnapshotOnlyStateMachine(fresh, durable);
        });
        cluster.Hosts[restarted] = host;
        await host.BootstrapAsync(Group, BootstrapMode.Reopen);

        // Restored: the keys the purged log no longer holds come from the snapshot.
        var metrics = await host.GetMetricsAsync(Group);
        Assert.True(LogIds.Compare(metrics.Applied, durable!.Meta.LastLogId) >= 0, $"applied {metrics.Applied} is behind the snapshot {durable.Meta.LastLogId}");
        Assert.Equal(durable.Meta.LastLogId, metrics.Snapshot);
        Assert.True(fresh.TryGetValue("k0", out var first) && first == "v0", "the first key (long purged from the log) was not restored");

        await WriteKeysAsync(cluster, "later", 0, 60);
        await WaitForAllKeysAsync(cluster, cluster.NodeIds, "later", 60);
        await WaitForAllKeysAsync(cluster, cluster.NodeIds, "k", 100);
        await WaitUntilAsync(
            async () => (await cluster.Stores[restarted].ForGroup(Group).GetLogStateAsync()).LastPurgedLogId is { } purged && purged.Index > purgedAtRestart!.Value.Index,
            () => $"the reopened node did not purge again: {Describe(cluster)}");
        Assert.Equal(cluster.StateMachines[(leader, Group)].Pairs(), fresh.Pairs());
    }

    /// <summary>
    /// A state machine that kept what it applied but not its snapshot: start-up recovery builds
    /// one, since the purged entries reach a lagging follower only as a snapshot, and the node
    /// starts with it, ready to send, instead of having none until its next scheduled one.
    /// </summary>
    [Fact]
    public async Task HostSnapshot_AHostReopenedWithItsSnapshotLostStartsWithTheSnapshotRecoveryRebuilt()
    {
        await using var cluster = new HostCluster(3, rocksDb: true, SnapshotOptions);
        var (_, restarted) = await StopAFollowerWithItsLogPurgedAsync(cluster, keys: 100, purgedAtLeast: 50);
        var kept = cluster.StateMachines[(restarted, Group)];
        var forgetful = new SnapshotLosingStateMachine(kept);

        var host = MultiRaftHost.Create(new KvTypeConfig(), SnapshotOptions(restarted), cluster.Stores[restarted], cluster.Network.CreateTransport(restarted), _ => forgetful);
        cluster.Hosts[restarted] = host;
        await host.BootstrapAsync(Group, BootstrapMode.Reopen);

        var rebuilt = await forgetful.GetCurrentSnapshotAsync();
        Assert.NotNull(rebuilt);
        var metrics = await host.GetMetricsAsync(Group);
        Assert.Equal(rebuilt.Meta.LastLogId, metrics.Snapshot);
    }

    [Fact]
    public async Task HostSnapshot_ReopeningAPurgedGroupWithAStateMachineThatLostItsSnapshotFailsTyped()
    {
        await using var cluster = new HostCluster(3, rocksDb: true, SnapshotOptions);
        var (_, restarted) = await StopAFollowerWithItsLogPurgedAsync(cluster, keys: 60, purgedAtLeast: 20);

        // The default factory makes an empty state machine with no snapshot: the purged entries are gone for good.
        var host = cluster.StartHost(restarted);

        await Assert.ThrowsAsync<StorageInconsistencyException>(() => host.BootstrapAsync(Group, BootstrapMode.Reopen));
        Assert.False(host.IsHosted(Group));
    }

    [Fact]
    public async Task HostSnapshot_PurgesOfManyGroupsTravelInTheRoundsBatchWrites()
    {
        var store = new RecordingStore();
        var network = new RaftToolkit.Core.Transport.InMemoryNetwork();
        var options = SnapshotOptions(1);
        options.WorkerCount = 1;
        var host = MultiRaftHost.Create(new KvTypeConfig(), options, store, network.CreateTransport(1), _ => new InMemoryStateMachine());
        await using var _ = host;
        var groups = Enumerable.Range(1, 20).Select(g => (ulong)g).ToArray();
        await Task.WhenAll(groups.Select(g => host.BootstrapAsync(g, BootstrapMode.Fresh(1))));
        await WaitUntilAsync(
            async () =>
            {
                foreach (var g in groups)
                {
                    if ((await host.GetMetricsAsync(g)).Role != RaftRole.Leader)
                    {
                        return false;
                    }
                }

                return true;
            },
            () => "not every single-voter group leads");

        await Task.WhenAll(groups.Select(async g =>
        {
            for (int i = 0; i < 40; i++)
            {
                await host.ProposeAsync(g, KvCommand.Set($"k{i}", $"v{i}")).WaitAsync(Patience);
            }
        }));

        await WaitUntilAsync(
            async () =>
            {
                foreach (var g in groups)
                {
                    if ((await store.ForGroup(g).GetLogStateAsync()).LastPurgedLogId is null)
                    {
                        return false;
                    }
                }

                return true;
            },
            () => "a group's log was never purged");
        Assert.True(host.Statistics.StoreWrites <= host.Statistics.Rounds, $"{host.Statistics.StoreWrites} writes in {host.Statistics.Rounds} rounds");
        Assert.True(store.PurgedGroupsPerWrite.Sum() >= groups.Length, "purges did not reach the store through batch writes");
        await WaitUntilAsync(
            async () =>
            {
                foreach (var g in groups)
                {
                    if ((await host.GetMetricsAsync(g)).Purged != (await store.ForGroup(g).GetLogStateAsync()).LastPurgedLogId)
                    {
                        return false;
                    }
                }

                return true;
            },
            () => "the metrics' purged id does not match the store's");
    }

    [Fact]
    public async Task HostSnapshot_AStateMachineThatCannotSnapshotStopsOnlyItsGroup()
    {
        var store = new RecordingStore();
        var network = new RaftToolkit.Core.Transport.InMemoryNetwork();
        var options = SnapshotOptions(1);
        var host = MultiRaftHost.Create(new KvTypeConfig(), options, store, network.CreateTransport(1), group =>
            group == 1 ? new FailingSnapshotStateMachine(new InMemoryStateMachine()) : new InMemoryStateMachine());
        await using var _ = host;
        await host.BootstrapAsync(1, BootstrapMode.Fresh(1));
        await host.BootstrapAsync(2, BootstrapMode.Fresh(1));
        await WaitUntilAsync(async () => (await host.GetMetricsAsync(1)).Role == RaftRole.Leader && (await host.GetMetricsAsync(2)).Role == RaftRole.Leader, () => "the single-voter groups do not lead");

        var failed = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            for (int i = 0; i < 40; i++)
            {
                await host.ProposeAsync(1, KvCommand.Set($"k{i}", "v")).WaitAsync(Patience);
            }
        });

        Assert.True(failed is ProposalDroppedException or GroupNotHostedException, $"expected the group to stop, got {failed}");
        await HostCluster.WaitUntilAsync(() => !host.IsHosted(1), Patience, () => "the group whose snapshot failed still runs");
        for (int i = 0; i < 40; i++)
        {
            await host.ProposeAsync(2, KvCommand.Set($"k{i}", "v")).WaitAsync(Patience);
        }

        Assert.NotNull((await host.GetMetricsAsync(2)).Snapshot);
        Assert.False(host.Completion.IsCompleted);
    }

    [Fact]
    public void HostSnapshot_GroupsRunWithEveryRaftSettingAndTheHostsSnapshotPolicy()
    {
        var raft = new RaftConfig
        {
            ElectionTicks = 17,
            HeartbeatTicks = 3,
            MaxEntriesPerAppend = 7,
            MaxBytesPerAppend = 999,
            MaxInflightAppends = 5,
            MaxApplyEntriesPerReady = 11,
            CheckQuorum = false,
            PreVote = false,
            QuiesceAfterTicks = 40,
            SnapshotAfterEntries = 1,
            PurgeKeepEntries = 2,
            SnapshotChunkBytes = 3,
            PurgeHoldElectionTimeouts = 4,
            RandomSeed = 12345,
        };
        var options = new MultiRaftHostOptions { NodeId = 1, Raft = raft, SnapshotAfterEntries = 50, PurgeKeepEntries = 60 };

        var effective = options.EffectiveRaft();

        // Every setting reaches the groups (a new RaftConfig property not copied fails here)...
        foreach (var property in typeof(RaftConfig).GetProperties())
        {
            object? expected = property.Name switch
            {
                nameof(RaftConfig.SnapshotAfterEntries) => 50,
                nameof(RaftConfig.PurgeKeepEntries) => 60,
                _ => property.GetValue(raft),
            };
            Assert.True(Equals(expected, property.GetValue(effective)), $"{property.Name}: expected {expected}, got {property.GetValue(effective)}");
        }

        // ...and a policy left unset on the host keeps the Raft config's value.
        Assert.Equal(3, effective.SnapshotChunkBytes);
    }

    [Fact]
    public void HostSnapshot_OptionsRejectANegativeSnapshotPolicy()
    {
        var options = HostCluster.FastOptions(1);
        options.SnapshotAfterEntries = -1;
        Assert.Throws<ArgumentException>(options.Validate);

        options = HostCluster.FastOptions(1);
        options.PurgeKeepEntries = -5;
        Assert.Throws<ArgumentException>(options.Validate);

        options = HostCluster.FastOptions(1);
        options.SnapshotChunkBytes = 0;
        Assert.Throws<ArgumentException>(options.Validate);
    }

    [Fact]
    public void HostSnapshot_LogCachePurgeKeepsTheTailAndAnswersThePurgedIndex()
    {
        var cache = new GroupLogCache(null, null, [], []);
        cache.OnWritten(false, null, null, Entries(1, 0, 10));

        cache.OnWritten(false, null, new LogId(1, 1, 6), Entries(2, 10, 2));

        Assert.Equal(new LogId(1, 1, 6), cache.LastPurgedLogId);
        Assert.True(cache.TryGetLogId(6, out var purged));
        Assert.Equal(new LogId(1, 1, 6), purged);
        Assert.False(cache.TryGetLogId(5, out _));
        Assert.False(cache.TryGetEntry(6, out _));
        Assert.True(cache.TryGetEntry(7, out var seventh));
        Assert.Equal(new LogId(1, 1, 7), seventh.LogId);
        Assert.True(cache.TryGetLogId(11, out var last));
        Assert.Equal(new LogId(2, 1, 11), last);
        Assert.False(cache.HasMiss);
    }

    [Fact]
    public void HostSnapshot_LogCachePurgeKeepsTheLeaderOfEveryLaterIndex()
    {
        var cache = new GroupLogCache(null, null, [], []);
        cache.OnWritten(false, null, null, Entries(1, 0, 5));
        cache.OnWritten(false, null, null, Entries(2, 5, 5));
        cache.OnWritten(false, null, null, Entries(3, 10, 2));

        cache.Purge(new LogId(2, 1, 6));
        cache.Purge(new LogId(1, 1, 3));

        Assert.Equal(new LogId(2, 1, 6), cache.LastPurgedLogId);
        Assert.False(cache.TryGetLogId(5, out _));
        for (ulong index = 6; index <= 11; index++)
        {
            Assert.True(cache.TryGetLogId(index, out var id), $"index {index} lost its id");
            Assert.Equal(index < 10 ? 2UL : 3UL, id.Term);
        }

        cache.OnWritten(false, null, null, Entries(4, 12, 1));
        Assert.True(cache.TryGetLogId(12, out var appended));
        Assert.Equal(new LogId(4, 1, 12), appended);
    }

    [Fact]
    public void HostSnapshot_LogCachePurgePastTheEndEmptiesTheViewWhichContinuesAfterTheSnapshot()
    {
        var cache = new GroupLogCache(null, null, [], []);
        cache.OnWritten(false, null, null, Entries(1, 0, 5));
        var snapshotLast = new LogId(3, 2, 40);

        cache.OnWritten(true, snapshotLast, snapshotLast, []);

        Assert.Equal(snapshotLast, cache.LastLogId);
        Assert.Equal(snapshotLast, cache.LastPurgedLogId);
        Assert.True(cache.TryGetLogId(40, out var atSnapshot));
        Assert.Equal(snapshotLast, atSnapshot);
        Assert.False(cache.TryGetLogId(4, out _));
        Assert.False(cache.TryGetEntry(4, out _));
        Assert.False(cache.HasMiss);

        cache.OnWritten(false, null, null, Entries(3, 41, 2));
        Assert.Equal(new LogId(3, 1, 42), cache.LastLogId);
        Assert.True(cache.TryGetEntry(41, out var next));
        Assert.Equal(41UL, next.Index);
    }

    private static Entry[] Entries(ulong term, ulong from, int count) =>
        Enumerable.Range(0, count).Select(i => Entry.Normal(new LogId(term, 1, from + (ulong)i), new byte[] { (byte)i })).ToArray();

    /// <summary>
    /// A change appended by a leader that was cut off never commits; the next leader's entries
    /// commit past its index and are compacted into a snapshot, which the old leader installs
    /// once it is back. Its log no longer holds the index, and its commit is past it: that must
    /// not read as "the change committed", since the entry that committed there is another.
    /// </summary>
    [Fact]
    public async Task HostSnapshot_AChangeLostOnAnIsolatedLeaderFailsWhenTheNextLeadersSnapshotCoversItsIndex()
    {
        await using var cluster = new HostCluster(3, rocksDb: true, SnapshotOptions);
        await cluster.BootstrapFreshAsync([Group]);
        ulong stale = await cluster.WaitForLeaderAsync(Group, Patience);
        await WriteKeysAsync(cluster, "before", 0, 10);
        var staleHost = cluster.Hosts[stale];
        var staleLog = cluster.Stores[stale].ForGroup(Group);
        ulong lastBefore = (await staleLog.GetLogStateAsync()).LastLogId!.Value.Index;

        cluster.Network.Partitions.Isolate(stale);
        using var giveUp = new CancellationTokenSource(Patience);
        var change = staleHost.AddLearnerAsync(Group, 4, new KvNode("node-4"), blocking: false, giveUp.Token);
        await WaitUntilAsync(
            async () => (await staleLog.GetLogStateAsync()).LastLogId is { } last && last.Index > lastBefore,
            () => $"the cut-off leader did not append the change: {Describe(cluster)}");
        ulong changeIndex = (await staleLog.GetLogStateAsync()).LastLogId!.Value.Index;

        // The other two elect a leader and write on until it has purged past the change's index.
        var others = cluster.NodeIds.Where(id => id != stale).ToArray();
        ulong next = 0;
        await WaitUntilAsync(
            async () =>
            {
                foreach (var id in others)
                {
                    if ((await cluster.Hosts[id].GetMetricsAsync(Group)).Role == RaftRole.Leader)
                    {
                        next = id;
                        return true;
                    }
                }

                return false;
            },
            () => $"no leader among nodes {string.Join(", ", others)}: {Describe(cluster)}");
        for (int i = 0; i < 60; i++)
        {
            await cluster.Hosts[next].ProposeAsync(Group, KvCommand.Set($"during{i}", "v")).WaitAsync(Patience);
        }

        await WaitUntilAsync(
            async () => (await cluster.Stores[next].ForGroup(Group).GetLogStateAsync()).LastPurgedLogId is { } purged && purged.Index > changeIndex + 1,
            () => $"the new leader did not purge past the change's index {changeIndex}: {Describe(cluster)}");
        Assert.False(change.IsCompleted, "the change finished while its leader was cut off");

        cluster.Network.Partitions.Reconnect(stale);
        var error = await Assert.ThrowsAsync<MembershipException>(() => change);
        Assert.Equal(Group, error.GroupId);
        await WaitUntilAsync(
            () => Task.FromResult(staleHost.Statistics.SnapshotsInstalled > 0),
            () => $"the old leader caught up without installing a snapshot: {Describe(cluster)}");
        Assert.DoesNotContain((await staleHost.GetMembershipAsync(Group)).Membership.Learners, learner => learner == 4);
    }

    /// <summary>
    /// A leader replicates a proposal but never hears it acknowledged, and is cut off; the next
    /// leader commits the entry and compacts it into a snapshot, which the old leader installs
    /// once it is back. Its entry is gone from its log, so it cannot tell its proposal's fate:
    /// the proposal fails as <see cref="ProposalDropReason.CoveredBySnapshot"/> (outcome
    /// unknown), not as <see cref="ProposalDropReason.Superseded"/>, which would say it never
    /// committed, though it did.
    /// </summary>
    [Fact]
    public async Task HostSnapshot_AProposalOfAStaleLeaderThatTheNextLeadersSnapshotCoversFailsAsCoveredBySnapshot()
    {
        await using var cluster = new HostCluster(3, rocksDb: false, SnapshotOptions);
        await cluster.BootstrapFreshAsync([Group]);
        ulong stale = await cluster.WaitForLeaderAsync(Group, Patience);
        await WriteKeysAsync(cluster, "before", 0, 10);
        var staleHost = cluster.Hosts[stale];
        var others = cluster.NodeIds.Where(id => id != stale).ToArray();

        // The followers take the leader's entries, but their acknowledgements are lost.
        foreach (var id in others)
        {
            cluster.Network.Partitions.CutOneWay(id, stale);
        }

        var proposal = staleHost.ProposeAsync(Group, KvCommand.Set("orphan", "x"));
        LogId proposed = default;
        await WaitUntilAsync(
            async () => await staleHost.GetMetricsAsync(Group) is { LastLogId: { } last, Committed: { } committed } && (proposed = last).Index > committed.Index,
            () => $"the leader did not append the proposal: {Describe(cluster)}");
        await WaitUntilAsync(
            async () =>
            {
                foreach (var id in others)
                {
                    if ((await cluster.Hosts[id].GetMetricsAsync(Group)).LastLogId != proposed)
                    {
                        return false;
                    }
                }

                return true;
            },
            () => $"the followers did not take the proposal's entry {proposed}: {Describe(cluster)}");

        cluster.Network.Partitions.Isolate(stale);
        ulong next = await cluster.WaitForLeaderOtherThanAsync(Group, stale, Patience, "the followers elected no new leader");
        for (int i = 0; i < 60; i++)
        {
            await cluster.Hosts[next].ProposeAsync(Group, KvCommand.Set($"during{i}", "v")).WaitAsync(Patience);
        }

        await WaitUntilAsync(
            async () => (await cluster.Stores[next].ForGroup(Group).GetLogStateAsync()).LastPurgedLogId is { } purged && purged.Index > proposed.Index + 1,
            () => $"the new leader did not purge past the proposal's index {proposed.Index}: {Describe(cluster)}");
        Assert.False(proposal.IsCompleted, $"the proposal finished while its leader was cut off: {proposal.Status}");

        cluster.Network.Partitions.Heal();
        var dropped = await Assert.ThrowsAsync<ProposalDroppedException>(() => proposal.WaitAsync(Patience));

        Assert.Equal(ProposalDropReason.CoveredBySnapshot, dropped.Reason);
        await WaitUntilAsync(
            () => Task.FromResult(staleHost.Statistics.SnapshotsInstalled > 0),
            () => $"the old leader caught up without installing a snapshot: {Describe(cluster)}");
        await HostCluster.WaitUntilAsync(
            () => cluster.StateMachines[(stale, Group)].TryGetValue("orphan", out var value) && value == "x",
            Patience,
            () => $"the proposal's write never reached the old leader's state machine: {Describe(cluster)}");
    }

    private static async Task WriteKeysAsync(HostCluster cluster, string prefix, int from, int count)
    {
        for (int i = from; i < from + count; i++)
        {
            await cluster.WriteAsync(Group, $"{prefix}{i}", $"v{i}", Patience);
        }
    }

    private static Task WaitForAllKeysAsync(HostCluster cluster, IEnumerable<ulong> nodes, string prefix, int count) =>
        HostCluster.WaitUntilAsync(
            () => nodes.All(id => MissingKeys(cluster, id, prefix, count) == 0),
            Patience,
            () => string.Join("; ", nodes.Select(id => $"node {id} misses {MissingKeys(cluster, id, prefix, count)} of {prefix}*")) + " | " + Describe(cluster));

    private static int MissingKeys(HostCluster cluster, ulong node, string prefix, int count)
    {
        if (!cluster.StateMachines.TryGetValue((node, Group), out var machine))
        {
            return count;
        }

        int missing = 0;
        for (int i = 0; i < count; i++)
        {
            if (!machine.TryGetValue($"{prefix}{i}", out var value) || value != $"v{i}")
            {
                missing++;
            }
        }

        return missing;
    }

    private static Task WaitUntilAsync(Func<Task<bool>> condition, Func<string> describe) => HostCluster.WaitUntilAsync(condition, Patience, describe);

    private static string Describe(HostCluster cluster)
    {
        var parts = new List<string>();
        foreach (var id in cluster.NodeIds)
        {
            try
            {
                var metrics = cluster.Hosts[id].GetMetricsAsync(Group).WaitAsync(TimeSpan.FromSeconds(2)).GetAwaiter().GetResult();
                parts.Add($"node {id}: {metrics}");
            }
            catch (Exception e) when (e is GroupNotHostedException or TimeoutException or ObjectDisposedException)
            {
                parts.Add($"node {id}: {e.GetType().Name}");
            }
        }

        return string.Join(" | ", parts);
    }

    /// <summary>A state machine whose snapshots always fail to build.</summary>
    private sealed class FailingSnapshotStateMachine(InMemoryStateMachine inner) : DelegatingStateMachine<KvResponse, KvSnapshot>(inner)
    {
        public override ValueTask<Snapshot<KvSnapshot>?> BuildSnapshotAsync(bool force, CancellationToken cancellationToken = default) =>
            ValueTask.FromException<Snapshot<KvSnapshot>?>(new IOException("snapshot disk full"));
    }

    /// <summary>A state machine that cannot install a snapshot it receives.</summary>
    private sealed class FailingInstallStateMachine(InMemoryStateMachine inner) : DelegatingStateMachine<KvResponse, KvSnapshot>(inner)
    {
        public override ValueTask InstallSnapshotAsync(SnapshotMeta meta, KvSnapshot snapshot, CancellationToken cancellationToken = default) =>
            ValueTask.FromException(new IOException("snapshot disk full"));
    }

    /// <summary>
    /// A state machine that restarted with what it applied but without its snapshot (as one that
    /// keeps its state durably and its snapshots in memory): none is current until it builds or
    /// installs one.
    /// </summary>
    private sealed class SnapshotLosingStateMachine(InMemoryStateMachine inner) : DelegatingStateMachine<KvResponse, KvSnapshot>(inner)
    {
        private bool _hasSnapshot;

        public override ValueTask<Snapshot<KvSnapshot>?> BuildSnapshotAsync(bool force, CancellationToken cancellationToken = default)
        {
            _hasSnapshot = true;
            return Inner.BuildSnapshotAsync(force, cancellationToken);
        }

        public override ValueTask InstallSnapshotAsync(SnapshotMeta meta, KvSnapshot snapshot, CancellationToken cancellationToken = default)
        {
            _hasSnapshot = true;
            return Inner.InstallSnapshotAsync(meta, snapshot, cancellationToken);
        }

        public override ValueTask<Snapshot<KvSnapshot>?> GetCurrentSnapshotAsync(CancellationToken cancellationToken = default) =>
            _hasSnapshot ? Inner.GetCurrentSnapshotAsync(cancellationToken) : ValueTask.FromResult<Snapshot<KvSnapshot>?>(null);
    }

    /// <summary>
    /// A state machine that restarted empty but kept its last snapshot durably (as a real one
    /// keeps it on disk): it reports that snapshot as current until it has one of its own.
    /// </summary>
    private sealed class SnapshotOnlyStateMachine(InMemoryStateMachine inner, Snapshot<KvSnapshot>? durable) : DelegatingStateMachine<KvResponse, KvSnapshot>(inner)
    {
        public override async ValueTask<Snapshot<KvSnapshot>?> GetCurrentSnapshotAsync(CancellationToken cancellationToken = default) =>
            await Inner.GetCurrentSnapshotAsync(cancellationToken) ?? durable;
    }
}
