using System.Collections.Concurrent;
using RaftToolkit.Core.Host;
using RaftToolkit.Core.Lifecycle;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Raft.Messages;
using RaftToolkit.Core.Transport;
using RaftToolkit.Testing.KeyValue;
using Xunit;

namespace RaftToolkit.Core.Tests.Host;

/// <summary>Linearizable reads through <see cref="MultiRaftHost{TNode, TData, TResponse, TSnapshot}.ReadIndexAsync"/> on RocksDB-backed hosts.</summary>
public sealed class HostReadIndexTests
{
    private const ulong Group = 3;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task HostReadIndex_OnTheLeaderReturnsOnceTheAcknowledgedWriteIsApplied()
    {
        await using var cluster = new HostCluster(3, rocksDb: true);
        await cluster.BootstrapFreshAsync([Group]);
        ulong leader = await cluster.WaitForLeaderAsync(Group, Patience);
        var host = cluster.Hosts[leader];

        for (int i = 0; i < 20; i++)
        {
            // Follows leader hints: an election on a busy machine must not fail the test.
            await cluster.WriteAsync(Group, "k", $"v{i}", Patience);

            ulong index = await host.ReadIndexAsync(Group).WaitAsync(Patience);

            Assert.True(cluster.StateMachines[(leader, Group)].TryGetValue("k", out var value) && value == $"v{i}", $"read {i} at index {index} saw {value}");
            var metrics = await host.GetMetricsAsync(Group);
            Assert.True(metrics.Applied is { } applied && applied.Index >= index, $"served at index {index} with applied {metrics.Applied}");
        }
    }

    [Fact]
    public async Task HostReadIndex_OnAFollowerIsForwardedAndReturnsOnlyOnceTheFollowerAppliedTheAcknowledgedWrite()
    {
        await using var cluster = new HostCluster(3, rocksDb: true);
        await cluster.BootstrapFreshAsync([Group]);
        ulong leader = await cluster.WaitForLeaderAsync(Group, Patience);
        ulong follower = cluster.NodeIds.First(id => id != leader);
        await HostCluster.WaitUntilAsync(async () => (await cluster.Hosts[follower].GetMetricsAsync(Group)).Leader == leader, Patience, () => "the follower never learned the leader");

        for (int i = 0; i < 20; i++)
        {
            // Acknowledged by the leader (followed through hints if leadership moved): the
            // follower may not have applied it yet.
            await cluster.WriteAsync(Group, "k", $"v{i}", Patience);

            ulong index = await cluster.Hosts[follower].ReadIndexAsync(Group).WaitAsync(Patience);

            Assert.True(cluster.StateMachines[(follower, Group)].TryGetValue("k", out var value) && value == $"v{i}", $"follower read {i} at index {index} saw {value}");
        }

        Assert.True(cluster.Hosts[follower].Statistics.ReadsServed >= 20);
    }

    [Fact]
    public async Task HostReadIndex_OnAnIsolatedOldLeaderFailsTypedInsteadOfServingAStaleRead()
    {
        await using var cluster = new HostCluster(3, rocksDb: true);
        await cluster.BootstrapFreshAsync([Group]);
        ulong oldLeader = await cluster.WaitForLeaderAsync(Group, Patience);
        await cluster.Hosts[oldLeader].ProposeAsync(Group, KvCommand.Set("k", "old")).WaitAsync(Patience);

        cluster.Network.Partitions.Isolate(oldLeader);
        var staleRead = cluster.Hosts[oldLeader].ReadIndexAsync(Group);

        // The majority elects a new leader and moves on; the old leader cannot confirm its leadership.
        ulong newLeader = await cluster.WaitForLeaderOtherThanAsync(Group, oldLeader, Patience, "the majority elected no new leader");
        await cluster.Hosts[newLeader].ProposeAsync(Group, KvCommand.Set("k", "new")).WaitAsync(Patience);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => staleRead.WaitAsync(Patience));
        Assert.True(error is ReadIndexException or NotLeaderException, $"expected a typed read failure, got {error}");
        if (error is ReadIndexException readError)
        {
            Assert.Equal(Group, readError.GroupId);
            Assert.NotEqual(ReadIndexStatus.Confirmed, readError.Status);
        }

        // A read issued after the old leader noticed fails as well (it never answers from its stale state).
        var later = await Assert.ThrowsAnyAsync<Exception>(() => cluster.Hosts[oldLeader].ReadIndexAsync(Group).WaitAsync(Patience));
        Assert.True(later is ReadIndexException or NotLeaderException, $"expected a typed read failure, got {later}");
        Assert.True(cluster.StateMachines[(oldLeader, Group)].TryGetValue("k", out var stale) && stale == "old");
    }

    [Fact]
    public async Task HostReadIndex_CancellationStopsWaitingForAReadThatCannotBeConfirmed()
    {
        await using var cluster = new HostCluster(3, rocksDb: true);
        await cluster.BootstrapFreshAsync([Group]);
        ulong leader = await cluster.WaitForLeaderAsync(Group, Patience);
        await cluster.Hosts[leader].ProposeAsync(Group, KvCommand.Set("k", "v")).WaitAsync(Patience);
        cluster.Network.Partitions.Isolate(leader);
        using var cancel = new CancellationTokenSource();

        var read = cluster.Hosts[leader].ReadIndexAsync(Group, cancel.Token);
        cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.WaitAsync(Patience));
    }

    /// <summary>
    /// A follower's read the leader confirmed waits until the follower applies up to its index.
    /// Removing the group meanwhile ends that wait: the read fails with
    /// <see cref="GroupNotHostedException"/>, as documented, instead of waiting for an apply that
    /// will never come.
    /// </summary>
    [Fact]
    public async Task HostReadIndex_AFollowersConfirmedReadWaitingForApplyFailsWhenTheGroupIsRemoved()
    {
        var starved = new EntryStarvation();
        await using var cluster = new HostCluster(3, rocksDb: false, wrapTransport: (id, endpoint) => new EntryStarvedTransport(id, endpoint, starved));
        await cluster.BootstrapFreshAsync([Group]);
        ulong leader = await cluster.WaitForLeaderAsync(Group, Patience);
        ulong follower = cluster.NodeIds.First(id => id != leader);
        var followerHost = cluster.Hosts[follower];
        await HostCluster.WaitUntilAsync(async () => (await followerHost.GetMetricsAsync(Group)).Leader == leader, Patience, () => "the follower never learned the leader");

        // The follower keeps hearing the leader (heartbeats, read answers) but gets no entries:
        // the read index it is given lies past anything it can apply.
        starved.Node = follower;
        await cluster.Hosts[leader].ProposeAsync(Group, KvCommand.Set("k", "unseen by the follower")).WaitAsync(Patience);
        var read = followerHost.ReadIndexAsync(Group);
        await starved.ConfirmedReadDelivered.Task.WaitAsync(Patience);

        // The answer is queued on the follower's worker; a later probe is answered no earlier than
        // that round, and the round after it has taken the confirmed read.
        var probe = await followerHost.ProbeMembershipAsync(Group, 0, 0);
        await HostCluster.WaitUntilAsync(async () => (await followerHost.ProbeMembershipAsync(Group, 0, 0)).Round != probe.Round, Patience, () => "the follower never ran the round that takes the confirmed read");
        Assert.False(read.IsCompleted, $"the follower served a read it had not applied: {read.Status}");

        await followerHost.RemoveGroupAsync(Group);

        var error = await Assert.ThrowsAsync<GroupNotHostedException>(() => read.WaitAsync(Patience));
        Assert.Equal(Group, error.GroupId);
    }

    /// <summary>Which node gets no entries (0: none), and when that node was handed a confirmed read index.</summary>
    private sealed class EntryStarvation
    {
        private long _node;

        public ulong Node
        {
            get => (ulong)Interlocked.Read(ref _node);
            set => Interlocked.Exchange(ref _node, (long)value);
        }

        public TaskCompletionSource ConfirmedReadDelivered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>An endpoint that, while its node is the starved one, drops the appends that carry entries to it.</summary>
    private sealed class EntryStarvedTransport(ulong nodeId, ITransport inner, EntryStarvation starvation) : ITransport
    {
        public ulong LocalNode => inner.LocalNode;

        public void Bind(IMessageReceiver receiver) => inner.Bind(new Receiver(nodeId, receiver, starvation));

        public void Send(ulong toNode, List<GroupMessage> batch) => inner.Send(toNode, batch);

        public void Dispose() => inner.Dispose();

        private sealed class Receiver(ulong nodeId, IMessageReceiver inner, EntryStarvation starvation) : IMessageReceiver
        {
            public void Receive(ulong fromNode, List<GroupMessage> batch)
            {
                if (starvation.Node != nodeId)
                {
                    inner.Receive(fromNode, batch);
                    return;
                }

                var kept = batch.FindAll(m => m.Message is not AppendEntriesRequest { Entries.IsEmpty: false });
                bool confirmedRead = kept.Exists(m => m.Message is ReadIndexResponse { Status: ReadIndexStatus.Confirmed });
                inner.Receive(fromNode, kept);
                if (confirmedRead)
                {
                    starvation.ConfirmedReadDelivered.TrySetResult();
                }
            }
        }
    }

    /// <summary>
    /// A follower's host restarts while the leader's answer to a read it forwarded is on its way.
    /// The restarted node's new read must not take that answer, an index from before a write
    /// acknowledged since, for its own: the hosts' read ids do not start over at a restart.
    /// </summary>
    [Fact]
    public async Task HostReadIndex_OnARestartedFollowerIsNotAnsweredByAReadOfItsPreviousLife()
    {
        var leaderAnswers = new ConcurrentDictionary<ulong, ReadAnswerHoldingTransport>();
        await using var cluster = new HostCluster(3, rocksDb: false, wrapTransport: (id, transport) => leaderAnswers[id] = new ReadAnswerHoldingTransport(transport));
        await cluster.BootstrapFreshAsync([Group]);
        ulong leader = await cluster.WaitForLeaderAsync(Group, Patience);
        ulong follower = cluster.NodeIds.First(id => id != leader);
        await HostCluster.WaitUntilAsync(async () => (await cluster.Hosts[follower].GetMetricsAsync(Group)).Leader == leader, Patience, () => "the follower never learned the leader");
        await cluster.WriteAsync(Group, "k", "v1", Patience);
        var answers = leaderAnswers[leader];

        // A read on the follower, forwarded to the leader, whose answer is held back.
        answers.Holding = true;
        var oldRead = cluster.Hosts[follower].ReadIndexAsync(Group);
        await HostCluster.WaitUntilAsync(() => answers.Held.Count == 1, Patience, () => "the leader never answered the first read");

        // The follower's host restarts; then a write is acknowledged.
        await cluster.Hosts[follower].DisposeAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => oldRead.WaitAsync(Patience));
        var restarted = cluster.StartHost(follower);
        await restarted.BootstrapAsync(Group, BootstrapMode.Reopen);
        await cluster.WriteAsync(Group, "k", "v2", Patience);
        ulong acknowledged = (await cluster.Hosts[leader].GetMetricsAsync(Group)).Committed!.Value.Index;
        await HostCluster.WaitUntilAsync(async () => (await restarted.GetMetricsAsync(Group)).Leader == leader, Patience, () => "the restarted follower never learned the leader");

        // A new read on the restarted follower; the old answer reaches it first.
        var newRead = restarted.ReadIndexAsync(Group);
        await HostCluster.WaitUntilAsync(() => answers.Held.Count == 2, Patience, () => "the leader never answered the second read");
        answers.ReleaseInOrder();

        ulong index = await newRead.WaitAsync(Patience);
        Assert.True(index >= acknowledged, $"a read begun after the write at index {acknowledged} was acknowledged returned read index {index}");
    }

    /// <summary>An endpoint that, while <see cref="Holding"/>, keeps the read answers it sends until released.</summary>
    private sealed class ReadAnswerHoldingTransport(ITransport inner) : ITransport
    {
        public ConcurrentQueue<(ulong To, GroupMessage Message)> Held { get; } = new();

        public volatile bool Holding;

        public ulong LocalNode => inner.LocalNode;

        public void Bind(IMessageReceiver receiver) => inner.Bind(receiver);

        public void Send(ulong toNode, List<GroupMessage> batch)
        {
            if (Holding)
            {
                foreach (var message in batch.FindAll(m => m.Message is ReadIndexResponse))
                {
                    Held.Enqueue((toNode, message));
                }

                batch = batch.FindAll(m => m.Message is not ReadIndexResponse);
                if (batch.Count == 0)
                {
                    return;
                }
            }

            inner.Send(toNode, batch);
        }

        /// <summary>Stops holding and sends what was held, oldest first.</summary>
        public void ReleaseInOrder()
        {
            Holding = false;
            while (Held.TryDequeue(out var held))
            {
                inner.Send(held.To, [held.Message]);
            }
        }

        public void Dispose() => inner.Dispose();
    }

    [Fact]
    public async Task HostReadIndex_OfAGroupNotHostedFailsWithGroupNotHosted()
    {
        await using var cluster = new HostCluster(1, rocksDb: false);

        var error = await Assert.ThrowsAsync<GroupNotHostedException>(() => cluster.Hosts[1].ReadIndexAsync(77));

        Assert.Equal(77UL, error.GroupId);
    }
}
