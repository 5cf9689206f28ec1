using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Raft.Messages;
using Xunit;
using static RaftToolkit.Core.Tests.Raft.ClusterScenarios;

namespace RaftToolkit.Core.Tests.Raft;

/// <summary>Quiescence: an idle group stops heartbeating, costs nothing per tick, and wakes on any message or proposal.</summary>
public sealed class RaftQuiescenceTests
{
    private const int QuiesceAfter = 20;

    [Fact]
    public void AnIdleGroupGoesQuietAndStopsHeartbeating()
    {
        var (cluster, leader) = Started(voters: 3, quiesceAfterTicks: QuiesceAfter);

        int steps = cluster.RunUntil(c => c.NodeIds.All(id => c.Node(id)!.IsQuiescent), 5 * QuiesceAfter);
        Assert.True(steps >= 0, cluster.Describe());
        long sent = cluster.Network.Sent;
        cluster.Run(100 * ElectionTicks);

        Assert.Equal(sent, cluster.Network.Sent);
        Assert.Equal(RaftRole.Leader, leader.Role);
    }

    [Fact]
    public void FollowersOfAQuietLeaderDoNotStartElections()
    {
        var (cluster, leader) = Started(voters: 5, quiesceAfterTicks: QuiesceAfter);
        cluster.RunUntil(c => c.NodeIds.All(id => c.Node(id)!.IsQuiescent), 5 * QuiesceAfter);
        var votes = cluster.NodeIds.Select(id => cluster.Node(id)!.Vote).ToArray();

        cluster.Run(100 * ElectionTicks);

        Assert.Equal(votes, cluster.NodeIds.Select(id => cluster.Node(id)!.Vote).ToArray());
        Assert.Same(leader, cluster.Leader);
    }

    [Fact]
    public void AProposalWakesTheGroupAndItGoesQuietAgainAfterward()
    {
        var (cluster, leader) = Started(voters: 3, quiesceAfterTicks: QuiesceAfter);
        cluster.RunUntil(c => c.NodeIds.All(id => c.Node(id)!.IsQuiescent), 5 * QuiesceAfter);

        var entry = leader.Propose("wake"u8.ToArray());
        Assert.False(leader.IsQuiescent);
        int steps = cluster.RunUntil(c => c.NodeIds.All(id => c.Node(id)!.Applied is { } a && a.Index >= entry.LogId.Index), 5 * ElectionTicks);
        Assert.True(steps >= 0, cluster.Describe());

        steps = cluster.RunUntil(c => c.NodeIds.All(id => c.Node(id)!.IsQuiescent), 5 * QuiesceAfter);
        Assert.True(steps >= 0, cluster.Describe());
    }

    [Fact]
    public void AnyMessageWakesAQuiescentFollower()
    {
        var (cluster, leader) = Started(voters: 3, quiesceAfterTicks: QuiesceAfter);
        cluster.RunUntil(c => c.NodeIds.All(id => c.Node(id)!.IsQuiescent), 5 * QuiesceAfter);
        var follower = cluster.Node(new ulong[] { 1, 2, 3 }.First(id => id != leader.Id))!;

        follower.Step(new AppendEntriesRequest(leader.Id, follower.Id, leader.Vote, leader.LastLogId, ReadOnlyMemory<Core.Model.Entry>.Empty, leader.Committed));

        Assert.False(follower.IsQuiescent);
    }

    [Fact]
    public void APreVoteFromAWokenFollowerWakesTheLeaderWithoutDisruptingIt()
    {
        var (cluster, leader) = Started(voters: 3, quiesceAfterTicks: QuiesceAfter);
        cluster.RunUntil(c => c.NodeIds.All(id => c.Node(id)!.IsQuiescent), 5 * QuiesceAfter);
        var follower = cluster.Node(new ulong[] { 1, 2, 3 }.First(id => id != leader.Id))!;
        var vote = leader.Vote;

        follower.Wake();
        int steps = cluster.RunUntil(_ => !leader.IsQuiescent, 5 * ElectionTicks);

        Assert.True(steps >= 0, $"The woken follower's pre-vote must wake the leader.\n{cluster.Describe()}");
        cluster.RunUntil(c => c.NodeIds.All(id => c.Node(id)!.IsQuiescent), 5 * QuiesceAfter);
        Assert.Same(leader, cluster.Leader);
        Assert.Equal(vote, leader.Vote);
    }

    /// <summary>
    /// Every follower woken at once (a host's detector suspected the leader's host, which still
    /// serves the group): a leader whose quiescence is held wakes at once and heartbeats, so the
    /// group keeps it, in the same term; released, the group goes quiet again.
    /// </summary>
    [Fact]
    public void ALeaderWhoseQuiescenceIsHeldKeepsTheGroupWhenEveryFollowerIsWoken()
    {
        var (cluster, leader) = Started(voters: 3, quiesceAfterTicks: QuiesceAfter);
        cluster.RunUntil(c => c.NodeIds.All(id => c.Node(id)!.IsQuiescent), 5 * QuiesceAfter);
        var vote = leader.Vote;

        leader.HoldQuiescence(true);
        Assert.False(leader.IsQuiescent, "holding quiescence did not wake the quiet leader");
        foreach (var id in cluster.NodeIds.Where(id => id != leader.Id))
        {
            cluster.Node(id)!.Wake();
        }

        cluster.Run(10 * QuiesceAfter);
        Assert.True(ReferenceEquals(leader, cluster.Leader) && leader.Vote == vote, $"the group left its held leader (vote {vote}) when every follower was woken.\n{cluster.Describe()}");
        Assert.False(leader.IsQuiescent, "the held leader went quiet");

        leader.HoldQuiescence(false);
        int steps = cluster.RunUntil(c => c.NodeIds.All(id => c.Node(id)!.IsQuiescent), 5 * QuiesceAfter);
        Assert.True(steps >= 0, $"the group did not go quiet once released.\n{cluster.Describe()}");
        Assert.Same(leader, cluster.Leader);
    }

    [Fact]
    public void WokenFollowersElectANewLeaderWhenTheQuietLeaderCrashed()
    {
        var (cluster, leader) = Started(voters: 3, quiesceAfterTicks: QuiesceAfter);
        cluster.RunUntil(c => c.NodeIds.All(id => c.Node(id)!.IsQuiescent), 5 * QuiesceAfter);

        cluster.Crash(leader.Id);
        cluster.Run(20 * ElectionTicks);
        Assert.Null(cluster.Leader);

        // The host's failure detector notices the crash and wakes the group.
        cluster.WakeAll();
        var next = StableLeader(cluster);
        Assert.NotEqual(leader.Id, next.Id);
    }

    [Fact]
    public void AQuiescentNodeDoesNoWorkPerTick()
    {
        var (cluster, leader) = Started(voters: 3, quiesceAfterTicks: QuiesceAfter);
        cluster.RunUntil(c => c.NodeIds.All(id => c.Node(id)!.IsQuiescent), 5 * QuiesceAfter);
        cluster.Run(2);
        var description = leader.ToString();

        // Measured over a run in which the JIT compiled nothing on this thread: measured from
        // cold, one run in about ten on a busy machine counted an allocation here while the
        // runtime recompiled this loop (on-stack replacement); the node's tick allocates nothing.
        long before;
        long after;
        int runs = 0;
        bool jitted;
        do
        {
            long compiled = System.Runtime.JitInfo.GetCompiledMethodCount(currentThread: true);
            before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 100_000; i++)
            {
                leader.Tick();
            }

            after = GC.GetAllocatedBytesForCurrentThread();
            jitted = System.Runtime.JitInfo.GetCompiledMethodCount(currentThread: true) != compiled;
        }
        while (jitted && ++runs < 10);

        Assert.Equal(before, after);
        Assert.False(leader.HasReady);
        Assert.Equal(description, leader.ToString());
    }

    [Fact]
    public void QuiescenceIsOffByDefault()
    {
        var (cluster, _) = Started(voters: 3);
        long sent = cluster.Network.Sent;

        cluster.Run(20 * ElectionTicks);

        Assert.All(cluster.NodeIds, id => Assert.False(cluster.Node(id)!.IsQuiescent));
        Assert.True(cluster.Network.Sent > sent);
    }

    [Fact]
    public void AGroupWithALaggingFollowerDoesNotGoQuiet()
    {
        var (cluster, leader) = Started(voters: 3, quiesceAfterTicks: QuiesceAfter);
        ulong lagging = new ulong[] { 1, 2, 3 }.First(id => id != leader.Id);
        cluster.Network.Cut(leader.Id, lagging);
        leader.Propose("x"u8.ToArray());

        cluster.Run(10 * QuiesceAfter);

        Assert.False(leader.IsQuiescent);
    }

    /// <summary>
    /// A read a follower forwarded to the leader expires only on ticks, and a quiescent node is
    /// not ticked: a follower holding one does not go quiet, so a read whose request or answer
    /// was lost times out instead of waiting for ever.
    /// </summary>
    [Theory]
    [InlineData("request lost")]
    [InlineData("answer lost")]
    public void AForwardedReadWhoseMessageWasLostTimesOutEvenInAGroupThatGoesQuiet(string lost)
    {
        var cluster = new TestCluster(3, new RaftConfig { ElectionTicks = 10, HeartbeatTicks = 1, QuiesceAfterTicks = 5, RandomSeed = 3 });
        var leader = cluster.Elect(1);
        Assert.True(leader.Raft.Propose(new byte[] { 1 }).IsAccepted);
        cluster.Stabilize();
        var follower = cluster[2];

        Assert.Equal(ReadIndexStatus.Pending, follower.Raft.ReadIndex(42));
        if (lost == "request lost")
        {
            Assert.Contains(follower.Drain(), m => m is ReadIndexRequest);
        }
        else
        {
            cluster.Stabilize(m => m is not ReadIndexResponse);
        }

        cluster.TickAll(500);

        Assert.Contains(follower.ReadStates, s => s.RequestId == 42 && s.Status == ReadIndexStatus.TimedOut);
        cluster.TickAll(100);
        Assert.True(follower.Raft.IsQuiescent, "once the read timed out, the idle group goes quiet again");
    }
}
