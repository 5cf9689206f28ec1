using RaftToolkit.Core.Host;
using RaftToolkit.Core.Lifecycle;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Raft.Messages;
using RaftToolkit.Core.Storage;
using RaftToolkit.Core.Tests.Host;
using RaftToolkit.Core.Transport;
using RaftToolkit.Testing.KeyValue;
using RaftToolkit.Testing.Storage;
using Xunit;

namespace RaftToolkit.Core.Tests.Lifecycle;

public sealed class LeadershipEventsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    /// <summary>Elections only when the test asks: long timeouts, no pre-vote or lease to refuse a forced campaign.</summary>
    private static MultiRaftHostOptions ManualElections(ulong id)
    {
        var options = HostCluster.FastOptions(id, workers: 1);
        options.Raft = new RaftConfig { ElectionTicks = 500, HeartbeatTicks = 2, PreVote = false, CheckQuorum = false };
        return options;
    }

    private static async Task<List<LeadershipState>> CollectAsync(IAsyncEnumerable<LeadershipState> stream)
    {
        var seen = new List<LeadershipState>();
        await foreach (var state in stream)
        {
            lock (seen)
            {
                seen.Add(state);
            }
        }

        return seen;
    }

    /// <summary>
    /// A second subscriber that joins in the round where the node's role changed gets the new
    /// state as its first, and the subscriber already listening hears of the change too: the
    /// second's joining must not count as telling the first. The worker is held in another
    /// group's apply, blocking its thread, while the message that makes the learner a voter and
    /// the second subscription queue, so that the worker takes both in one round.
    /// </summary>
    [Fact]
    public async Task LeadershipEvents_ASubscriberJoiningInTheRoundOfAChangeDoesNotHideItFromTheOthers()
    {
        var network = new InMemoryNetwork();
        var holder = new ThreadHoldingStateMachine();
        await using var host = MultiRaftHost.Create(new KvTypeConfig(), HostCluster.FastOptions(1, workers: 1), new InMemoryMultiGroupLogStore(), network.CreateTransport(1), group => group == 9 ? holder : new InMemoryStateMachine());
        using var leader = network.CreateTransport(2);
        leader.Bind(new IgnoringReceiver());
        await host.BootstrapAsync(9, BootstrapMode.Fresh(1));
        await host.BootstrapAsync(4, BootstrapMode.Join);
        await using var first = host.LeadershipEvents(4).GetAsyncEnumerator();
        Assert.True(await first.MoveNextAsync());
        Assert.Equal(LeadershipRole.Learner, first.Current.Role);
        await HostCluster.WaitUntilAsync(async () => (await host.GetMetricsAsync(9)).Role == RaftRole.Leader, Patience, () => "group 9 never elected its single voter");

        var proposal = host.ProposeAsync(9, KvCommand.Set("k", "v"));
        Assert.True(holder.Entered.Wait(Patience), "the worker never started group 9's apply");
        try
        {
            // Node 2, leading group 4, makes node 1 a voter; then the second subscription.
            var voters = Entry.ForMembership(new LogId(0, 0, 0), Membership.FromVoters(1, 2));
            leader.Send(1, [new GroupMessage(4, new AppendEntriesRequest(2, 1, new Vote(new LeaderId(1, 2), true), null, new[] { voters }, null))]);
            var secondStream = host.LeadershipEvents(4).GetAsyncEnumerator();
            await using var second = secondStream;
            var secondFirst = second.MoveNextAsync().AsTask();
            holder.Release.Set();
            await proposal.WaitAsync(Patience);
            Assert.True(await secondFirst.WaitAsync(Patience));
            Assert.Equal(LeadershipRole.Follower, second.Current.Role);

            Assert.True(await first.MoveNextAsync().AsTask().WaitAsync(Patience));
            Assert.Equal(LeadershipRole.Follower, first.Current.Role);
        }
        finally
        {
            holder.Release.Set();
        }
    }

    /// <summary>The in-memory state machine, whose first apply of a proposal made here blocks its thread until released.</summary>
    private sealed class ThreadHoldingStateMachine() : DelegatingStateMachine<KvResponse, KvSnapshot>(new InMemoryStateMachine())
    {
        private int _held;

        public ManualResetEventSlim Entered { get; } = new();

        public ManualResetEventSlim Release { get; } = new();

        public override ValueTask ApplyAsync(ReadOnlyMemory<ApplyItem<KvResponse>> items, CancellationToken cancellationToken = default)
        {
            if (items.Span.ToArray().Any(item => item.Responder is not null) && Interlocked.Exchange(ref _held, 1) == 0)
            {
                Entered.Set();
                Release.Wait(Patience);
            }

            return base.ApplyAsync(items, cancellationToken);
        }
    }

    private sealed class IgnoringReceiver : IMessageReceiver
    {
        public void Receive(ulong fromNode, List<GroupMessage> batch)
        {
        }
    }

    [Fact]
    public async Task LeadershipEvents_FirstStateIsAlwaysReportedAndTheStreamEndsWithShutdownWhenTheGroupIsRemoved()
    {
        await using var cluster = new HostCluster(3, rocksDb: false, ManualElections);
        await cluster.BootstrapFreshAsync([1]);
        var host = cluster.Hosts[2];
        var events = CollectAsync(host.LeadershipEvents(1));

        await host.RemoveGroupAsync(1);

        var seen = await events.WaitAsync(Patience);
        Assert.Equal([LeadershipState.Follower(0, null), LeadershipState.Shutdown], seen);
    }

    /// <summary>A stream cancelled while it subscribes, or ended by its reader, leaves no subscription behind on the worker.</summary>
    [Fact]
    public async Task LeadershipEvents_AStreamCancelledOrEndedLeavesNoSubscriptionBehind()
    {
        await using var cluster = new HostCluster(1, rocksDb: false, ManualElections);
        await cluster.BootstrapFreshAsync([1]);
        var host = cluster.Hosts[1];
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        for (int i = 0; i < 3; i++)
        {
            await using var stream = host.LeadershipEvents(1, cancelled.Token).GetAsyncEnumerator();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await stream.MoveNextAsync());
        }

        await using (var open = host.LeadershipEvents(1).GetAsyncEnumerator())
        {
            Assert.True(await open.MoveNextAsync());
            Assert.Equal(1, await host.CountSubscribersAsync(1));
        }

        Assert.Equal(0, await host.CountSubscribersAsync(1));
    }

    [Fact]
    public async Task LeadershipEvents_ReportsEachChangeOfRoleClass()
    {
        await using var cluster = new HostCluster(3, rocksDb: false, ManualElections);
        await cluster.BootstrapFreshAsync([1]);
        var events = CollectAsync(cluster.Hosts[1].LeadershipEvents(1));

        Assert.True(await cluster.Hosts[1].CampaignAsync(1));
        await HostCluster.WaitUntilAsync(() => cluster.Hosts[1].GetMetricsAsync(1).Result.Role == RaftRole.Leader, Patience, () => "node 1 did not win");
        Assert.True(await cluster.Hosts[2].CampaignAsync(1));
        await HostCluster.WaitUntilAsync(() => cluster.Hosts[2].GetMetricsAsync(1).Result.Role == RaftRole.Leader, Patience, () => "node 2 did not win");
        await HostCluster.WaitUntilAsync(() => cluster.Hosts[1].GetMetricsAsync(1).Result.Role == RaftRole.Follower, Patience, () => "node 1 did not step down");
        await cluster.Hosts[1].RemoveGroupAsync(1);

        var seen = await events.WaitAsync(Patience);
        Assert.Equal(
            [LeadershipRole.Follower, LeadershipRole.Candidate, LeadershipRole.Leader, LeadershipRole.Follower, LeadershipRole.Shutdown],
            seen.Select(s => s.Role));
        Assert.Equal(seen[1].Term, seen[2].Term);
    }

    /// <summary>Each published state carries the term of the change it reports, not an earlier one.</summary>
    [Fact]
    public async Task LeadershipEvents_EachStateCarriesTheTermInWhichTheRoleChanged()
    {
        await using var cluster = new HostCluster(3, rocksDb: false, ManualElections);
        await cluster.BootstrapFreshAsync([1]);
        var events = CollectAsync(cluster.Hosts[1].LeadershipEvents(1));

        Assert.True(await cluster.Hosts[1].CampaignAsync(1));
        await HostCluster.WaitUntilAsync(() => cluster.Hosts[1].GetMetricsAsync(1).Result.Role == RaftRole.Leader, Patience, () => "node 1 did not win");
        var firstLeadership = await cluster.Hosts[1].GetMetricsAsync(1);
        Assert.True(await cluster.Hosts[2].CampaignAsync(1));
        await HostCluster.WaitUntilAsync(() => cluster.Hosts[2].GetMetricsAsync(1).Result.Role == RaftRole.Leader, Patience, () => "node 2 did not win");
        await HostCluster.WaitUntilAsync(() => cluster.Hosts[1].GetMetricsAsync(1).Result.Role == RaftRole.Follower, Patience, () => "node 1 did not step down");
        var secondLeadership = await cluster.Hosts[2].GetMetricsAsync(1);
        await cluster.Hosts[1].RemoveGroupAsync(1);

        var seen = await events.WaitAsync(Patience);
        Assert.Equal(5, seen.Count);
        Assert.Equal(LeadershipState.Candidate(firstLeadership.Term), seen[1]);
        Assert.Equal(LeadershipState.Leader(firstLeadership.Term), seen[2]);
        Assert.Equal((LeadershipRole.Follower, secondLeadership.Term), (seen[3].Role, seen[3].Term));
    }

    [Fact]
    public async Task LeadershipEvents_NewTermOrLeaderWithinTheSameClassIsNotReported()
    {
        await using var cluster = new HostCluster(3, rocksDb: false, ManualElections);
        await cluster.BootstrapFreshAsync([1]);
        var bystander = cluster.Hosts[3];
        var events = CollectAsync(bystander.LeadershipEvents(1));

        Assert.True(await cluster.Hosts[1].CampaignAsync(1));
        await HostCluster.WaitUntilAsync(() => bystander.GetMetricsAsync(1).Result.Leader == 1, Patience, () => "node 3 never followed node 1");
        Assert.True(await cluster.Hosts[2].CampaignAsync(1));
        await HostCluster.WaitUntilAsync(() => bystander.GetMetricsAsync(1).Result.Leader == 2, Patience, () => "node 3 never followed node 2");
        var metrics = await bystander.GetMetricsAsync(1);
        await bystander.RemoveGroupAsync(1);

        var seen = await events.WaitAsync(Patience);
        Assert.True(metrics.Term >= 2, "node 3 went through two terms and two leaders");
        Assert.Equal([LeadershipState.Follower(0, null), LeadershipState.Shutdown], seen);
    }

    [Fact]
    public async Task LeadershipEvents_EndWithShutdownWhenTheHostStops()
    {
        await using var cluster = new HostCluster(1, rocksDb: false);
        var host = cluster.Hosts[1];
        await host.BootstrapAsync(1, BootstrapMode.Fresh(1));
        var events = CollectAsync(host.LeadershipEvents(1));
        await HostCluster.WaitUntilAsync(() => host.GetMetricsAsync(1).Result.Role == RaftRole.Leader, Patience, () => "no leader");

        await host.DisposeAsync();

        var seen = await events.WaitAsync(Patience);
        Assert.Equal(LeadershipRole.Shutdown, seen[^1].Role);
        Assert.Equal(LeadershipRole.Leader, seen[^2].Role);
    }

    [Fact]
    public async Task LeadershipEvents_OfAJoiningNodeStartWithLearner()
    {
        await using var cluster = new HostCluster(1, rocksDb: false);
        var host = cluster.Hosts[1];
        await host.BootstrapAsync(1, BootstrapMode.Join);
        var events = CollectAsync(host.LeadershipEvents(1));

        await host.RemoveGroupAsync(1);

        Assert.Equal([LeadershipState.Learner, LeadershipState.Shutdown], await events.WaitAsync(Patience));
    }

    [Fact]
    public async Task LeadershipEvents_OfAGroupNotHostedFailsOnTheFirstRead()
    {
        await using var cluster = new HostCluster(1, rocksDb: false);

        await Assert.ThrowsAsync<GroupNotHostedException>(() => CollectAsync(cluster.Hosts[1].LeadershipEvents(99)));
    }

    [Fact]
    public void LeadershipEvents_PreCandidateCountsAsFollowerBecauseItKeepsItsTerm()
    {
        Assert.Equal(LeadershipRole.Follower, LeadershipState.ClassOf(RaftRole.PreCandidate));
        Assert.Equal(LeadershipRole.Candidate, LeadershipState.ClassOf(RaftRole.Candidate));
        Assert.Equal(LeadershipRole.Learner, LeadershipState.ClassOf(RaftRole.Learner));
    }
}
