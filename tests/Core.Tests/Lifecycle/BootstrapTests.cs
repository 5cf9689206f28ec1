using RaftToolkit.Core.Host;
using RaftToolkit.Core.Lifecycle;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
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
