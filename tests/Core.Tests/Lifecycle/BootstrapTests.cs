using RaftToolkit.Core.Host;
using RaftToolkit.Core.Lifecycle;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Raft.Messages;
using RaftToolkit.Core.Storage;
using RaftToolkit.Core.Tests.Host;
using RaftToolkit.Core.Transport;
using RaftToolkit.Testing.Diagnostics;
using RaftToolkit.Testing.KeyValue;
using RaftToolkit.Testing.Storage;
using Xunit;

namespace RaftToolkit.Core.Tests.Lifecycle;

public sealed class BootstrapTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private sealed class OneHost : IAsyncDisposable
    {
        public OneHost(InMemoryMultiGroupLogStore? store = null, ulong nodeId = 1, Func<InMemoryStateMachine>? newMachine = null)
        {
            Store = store ?? new InMemoryMultiGroupLogStore();
            var options = HostCluster.FastOptions(nodeId);
            options.LoggerFactory = Logs;
            Host = MultiRaftHost.Create(new KvTypeConfig(), options, Store, Network.CreateTransport(nodeId), group =>
            {
                var machine = newMachine?.Invoke() ?? new InMemoryStateMachine();
                Machines[group] = machine;
                return machine;
            });
        }

        public InMemoryNetwork Network { get; } = new();

        public InMemoryMultiGroupLogStore Store { get; }

        public CapturingLoggerFactory Logs { get; } = new();

        public Dictionary<ulong, InMemoryStateMachine> Machines { get; } = [];

        public MultiRaftHost<KvNode, KvCommand, KvResponse, KvSnapshot> Host { get; }

        public ValueTask DisposeAsync() => Host.DisposeAsync();
    }

    [Fact]
    public async Task Bootstrap_FreshOnAGroupWithExistingStateFailsWithUnexpectedExistingStateAndChangesNothing()
    {
        await using var node = new OneHost();
        await node.Store.ForGroup(4).SaveVoteAsync(new Vote(3, 2));

        var error = await Assert.ThrowsAsync<BootstrapException>(() => node.Host.BootstrapAsync(4, BootstrapMode.Fresh(1, 2, 3)));

        Assert.Equal(BootstrapErrorKind.UnexpectedExistingState, error.Kind);
        Assert.Equal(4UL, error.GroupId);
        Assert.False(node.Host.IsHosted(4));
        Assert.Null((await node.Store.ForGroup(4).GetLogStateAsync()).LastLogId);
        Assert.Equal(new Vote(3, 2), await node.Store.ForGroup(4).ReadVoteAsync());
    }

    /// <summary>
    /// A state machine that already holds state (here, a snapshot) is state too: Fresh would
    /// otherwise write entry 0, see it purged at start-up behind the state machine's applied id,
    /// and run the group under the state machine's membership instead of the one asked for.
    /// </summary>
    [Fact]
    public async Task Bootstrap_FreshOverAStateMachineWithStateFailsWithUnexpectedExistingStateAndWritesNothing()
    {
        var meta = new SnapshotMeta(new LogId(2, 2, 100), new StoredMembership(new LogId(1, 1, 5), Membership.FromVoters(1, 2, 3)), "restored");
        await using var node = new OneHost(newMachine: () =>
        {
            var machine = new InMemoryStateMachine();
            machine.InstallSnapshotAsync(meta, KvSnapshot.Capture([])).AsTask().GetAwaiter().GetResult();
            return machine;
        });

        var error = await Assert.ThrowsAsync<BootstrapException>(() => node.Host.BootstrapAsync(4, BootstrapMode.Fresh(1)));

        Assert.Equal(BootstrapErrorKind.UnexpectedExistingState, error.Kind);
        Assert.Contains("state machine", error.Message, StringComparison.Ordinal);
        Assert.False(node.Host.IsHosted(4));
        Assert.Equal(new LogState(null, null), await node.Store.ForGroup(4).GetLogStateAsync());
    }

    [Fact]
    public async Task Bootstrap_FreshOnANodeThatIsNotAnInitialVoterIsRejectedBeforeWriting()
    {
        await using var node = new OneHost();

        var error = await Assert.ThrowsAsync<ArgumentException>(() => node.Host.BootstrapAsync(4, BootstrapMode.Fresh(2, 3)));

        Assert.Contains("not a voter", error.Message, StringComparison.Ordinal);
        Assert.Empty(await node.Store.ListGroupsAsync());
    }

    [Fact]
    public async Task Bootstrap_OfAGroupAlreadyRunningHereFailsWithAlreadyHosted()
    {
        await using var node = new OneHost();
        await node.Host.BootstrapAsync(4, BootstrapMode.Fresh(1));

        var error = await Assert.ThrowsAsync<BootstrapException>(() => node.Host.BootstrapAsync(4, BootstrapMode.Reopen));

        Assert.Equal(BootstrapErrorKind.AlreadyHosted, error.Kind);
    }

    [Fact]
    public async Task Bootstrap_FreshWritesTheInitialMembershipAsEntryZero()
    {
        await using var node = new OneHost();
        var membership = Membership.FromVoters(1, 2, 3);

        await node.Host.BootstrapAsync(4, BootstrapMode.Fresh(membership));

        var entries = await node.Store.ForGroup(4).TryGetLogEntriesAsync(0, 10);
        var entry = Assert.Single(entries);
        Assert.Equal(GroupLifecycle.InitialMembershipLogId, entry.LogId);
        Assert.Equal(membership, entry.Membership);
        Assert.Equal(RaftRole.Follower, (await node.Host.GetMetricsAsync(4)).Role);
    }

    [Fact]
    public async Task Bootstrap_ReopenRebuildsTheNodeAndReappliesCommittedEntriesFromTheStore()
    {
        var store = new InMemoryMultiGroupLogStore();
        LogId? committedBefore;
        await using (var first = new OneHost(store))
        {
            await first.Host.BootstrapAsync(4, BootstrapMode.Fresh(1));
            await HostCluster.WaitUntilAsync(() => first.Host.GetMetricsAsync(4).Result.Role == RaftRole.Leader, Patience, () => "no leader");
            await first.Host.ProposeAsync(4, KvCommand.Set("k", "v"));
            committedBefore = (await first.Host.GetMetricsAsync(4)).Committed;
        }

        await using var second = new OneHost(store.Reopen());
        await second.Host.BootstrapAsync(4, BootstrapMode.Reopen);

        Assert.True(second.Machines[4].TryGetValue("k", out var value), "the committed write is re-applied to the new state machine");
        Assert.Equal("v", value);
        var metrics = await second.Host.GetMetricsAsync(4);
        Assert.True(LogIds.Compare(metrics.Applied, committedBefore) >= 0, $"applied {metrics.Applied} covers the committed {committedBefore}");
        Assert.Contains(second.Logs.Lines, line => line.Contains("reopens group 4", StringComparison.Ordinal));
    }

    /// <summary>
    /// A vote is kept durably so that a node never votes twice in one term: a reopened node
    /// starts in the stored term with the stored vote, not from term 0.
    /// </summary>
    [Fact]
    public async Task Bootstrap_ReopenStartsFromTheStoredVote()
    {
        var store = new InMemoryMultiGroupLogStore();
        await using (var first = new OneHost(store))
        {
            await first.Host.BootstrapAsync(4, BootstrapMode.Fresh(1, 2, 3));
        }

        await store.ForGroup(4).SaveVoteAsync(new Vote(5, 2));
        await using var second = new OneHost(store.Reopen());
        await second.Host.BootstrapAsync(4, BootstrapMode.Reopen);

        var metrics = await second.Host.GetMetricsAsync(4);
        Assert.Equal(5UL, metrics.Term);
        Assert.NotEqual(RaftRole.Leader, metrics.Role);
    }

    /// <summary>
    /// A reopened node's log ends where its store's does, not where its committed (or applied)
    /// id is: entries past the commit point count when it votes. Here node 1 holds entries 1-3
    /// of leader 2 with only 1 committed, so it must refuse a candidate whose log ends at 2:
    /// granting would let a leader be elected without entry 3, which may have reached a quorum.
    /// </summary>
    [Fact]
    public async Task Bootstrap_ReopenedNodeRefusesItsVoteToACandidateBehindItsStoredUncommittedTail()
    {
        var store = new InMemoryMultiGroupLogStore();
        var leader = new Vote(2, 2).Commit();
        var storedLast = new LogId(2, 2, 3);
        var batch = new LogWriteBatch();
        batch.Append(4, new[] { Entry.ForMembership(GroupLifecycle.InitialMembershipLogId, Membership.FromVoters(1, 2, 3)) });
        batch.Append(4, new[] { Entry.Blank(new LogId(2, 2, 1)), Entry.Blank(new LogId(2, 2, 2)), Entry.Blank(storedLast) });
        batch.SaveVote(4, leader);
        batch.SaveCommitted(4, new LogId(2, 2, 1));
        await store.WriteAsync(batch);
        await using var node = new OneHost(store);
        await node.Host.BootstrapAsync(4, BootstrapMode.Reopen);
        using var candidate = node.Network.CreateTransport(3);
        var votes = new VoteResponseRecorder();
        candidate.Bind(votes);

        // A transfer's request, so that only the logs decide (a follower of a live leader refuses others).
        candidate.Send(1, [new GroupMessage(4, new VoteRequest(3, 1, new Vote(10, 3), new LogId(2, 2, 2), LeadershipTransfer: true))]);

        await HostCluster.WaitUntilAsync(() => votes.ByGroup.ContainsKey(4), Patience, () => "node 1 never answered the vote request");
        var response = votes.ByGroup[4];
        Assert.False(response.Granted, $"node 1 granted its vote to a candidate whose log ends at 2 while its store's log ends at {storedLast} (it answered with last log id {response.LastLogId})");
        Assert.Equal(storedLast, response.LastLogId);
    }

    [Fact]
    public async Task Bootstrap_ReopenOfAGroupWithNoStateWritesNothingAndWaitsAsALearner()
    {
        await using var node = new OneHost();

        await node.Host.BootstrapAsync(4, BootstrapMode.Reopen);

        Assert.Equal(RaftRole.Learner, (await node.Host.GetMetricsAsync(4)).Role);
        Assert.Empty(await node.Store.ListGroupsAsync());
        Assert.Contains(node.Logs.Lines, line => line.Contains("reopens group 4, which has no state here", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bootstrap_JoinWritesNothingAndWaitsAsALearner()
    {
        await using var node = new OneHost();

        await node.Host.BootstrapAsync(4, BootstrapMode.Join);

        var metrics = await node.Host.GetMetricsAsync(4);
        Assert.Equal(RaftRole.Learner, metrics.Role);
        Assert.Null(metrics.LastLogId);
        Assert.Empty(await node.Store.ListGroupsAsync());
        Assert.Contains(node.Logs.Lines, line => line.Contains("joins group 4: it waits as a learner", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bootstrap_JoinOfAGroupWithStateRestartsFromItAndChangesNothing()
    {
        var store = new InMemoryMultiGroupLogStore();
        await using (var first = new OneHost(store))
        {
            await first.Host.BootstrapAsync(4, BootstrapMode.Fresh(1, 2, 3));
        }

        var before = await store.ForGroup(4).GetLogStateAsync();
        await using var second = new OneHost(store.Reopen());
        await second.Host.BootstrapAsync(4, BootstrapMode.Join);

        Assert.Equal(before, await second.Store.ForGroup(4).GetLogStateAsync());
        Assert.Equal(RaftRole.Follower, (await second.Host.GetMetricsAsync(4)).Role);
        Assert.Contains(second.Logs.Lines, line => line.Contains("already has state here", StringComparison.Ordinal));
    }

    [Fact]
    public void Bootstrap_FreshModeRejectsAJointOrEmptyMembership()
    {
        Assert.Throws<ArgumentException>(() => BootstrapMode.Fresh(Membership.Create([[1UL], [2UL]])));
        Assert.Throws<ArgumentException>(() => BootstrapMode.Fresh(Array.Empty<ulong>()));
    }
}
