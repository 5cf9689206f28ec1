using RaftToolkit.Core.Host;
using RaftToolkit.Core.Lifecycle;
using RaftToolkit.Core.Raft;
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

    [Fact]
    public async Task HostReadIndex_OfAGroupNotHostedFailsWithGroupNotHosted()
    {
        await using var cluster = new HostCluster(1, rocksDb: false);

        var error = await Assert.ThrowsAsync<GroupNotHostedException>(() => cluster.Hosts[1].ReadIndexAsync(77));

        Assert.Equal(77UL, error.GroupId);
    }
}
