using System.Collections.Concurrent;
using RaftToolkit.Core.Host;
using RaftToolkit.Core.Lifecycle;
using RaftToolkit.Core.Storage;
using Xunit;
using Xunit.Abstractions;

namespace RaftToolkit.Core.Tests.Host;

/// <summary>Three hosts, a thousand groups, RocksDB stores, one host crashing and coming back.</summary>
public sealed class MultiRaftHostEndToEndTests(ITestOutputHelper output)
{
    private const int Groups = 1000;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task EndToEnd_EveryAcknowledgedWriteIsReadableOnEveryReplicaAfterAHostCrashesAndReopens()
    {
        var started = DateTime.UtcNow;
        await using var cluster = new HostCluster(3, rocksDb: true, id => HostCluster.FastOptions(id, workers: 2, tickMs: 50));
        var groups = Enumerable.Range(0, Groups).Select(g => (ulong)g).ToArray();
        await cluster.BootstrapFreshAsync(groups);
        output.WriteLine($"bootstrapped {Groups} groups on 3 hosts in {DateTime.UtcNow - started}");

        // Leadership streams of a few groups on every host, read in the background.
        var watched = groups.Take(10).ToArray();
        var streams = new ConcurrentDictionary<(ulong Node, ulong Group), List<LeadershipState>>();
        var readers = new List<Task>();
        foreach (var (id, host) in cluster.Hosts)
        {
            foreach (var group in watched)
            {
                var seen = new List<LeadershipState>();
                streams[(id, group)] = seen;
                readers.Add(ReadAllAsync(host.LeadershipEvents(group), seen));
            }
        }

        var acknowledged = new ConcurrentBag<(ulong Group, string Key, string Value)>();
        await WriteEveryGroupAsync(cluster, groups, "first", acknowledged);
        output.WriteLine($"first write acknowledged in every group after {DateTime.UtcNow - started}");

        // Crash node 3 in the middle of the second wave: its store handle goes away under the
        // running host, which fails on its next write or read and stops without a graceful round.
        const ulong crashed = 3;
        var crashedHost = cluster.Hosts[crashed];
        var secondWave = WriteEveryGroupAsync(cluster, groups, "second", acknowledged);
        await HostCluster.WaitUntilAsync(() => acknowledged.Count >= Groups + Groups / 4, Patience, () => $"{acknowledged.Count} acknowledged");
        await cluster.Stores[crashed].DisposeAsync();
        await secondWave;

        // A third wave while node 3 is down: its replicas must catch up on these after reopening.
        // Node 3 stops on its first write after losing the store, at the latest during this wave.
        await WriteEveryGroupAsync(cluster, groups, "third", acknowledged);
        output.WriteLine($"second and third writes acknowledged in every group (node {crashed} down) after {DateTime.UtcNow - started}");
        await HostCluster.WaitUntilAsync(() => crashedHost.Completion.IsCompleted, Patience, () => "the crashed host did not stop");
        Assert.True(crashedHost.Completion.IsFaulted, "a host whose store vanished stops with the storage error");
        Assert.IsAssignableFrom<RaftStorageException>(crashedHost.Completion.Exception!.GetBaseException());
        await crashedHost.DisposeAsync();

        // Node 3 comes back on the same directory and reopens every group from its store.
        cluster.Stores[crashed] = cluster.OpenStore(crashed);
        var reopened = cluster.StartHost(crashed);
        await Task.WhenAll(groups.Select(g => reopened.BootstrapAsync(g, BootstrapMode.Reopen)));
        foreach (var group in watched)
        {
            var seen = new List<LeadershipState>();
            streams[(crashed + 100, group)] = seen;
            readers.Add(ReadAllAsync(reopened.LeadershipEvents(group), seen));
        }

        var expected = acknowledged.ToArray();
        await HostCluster.WaitUntilAsync(
            () => MissingReads(cluster, expected).Count == 0,
            Patience,
            () => $"{MissingReads(cluster, expected).Count} (replica, write) pairs not readable, e.g. {string.Join("; ", MissingReads(cluster, expected).Take(5))}");
        output.WriteLine($"every one of {expected.Length} acknowledged writes readable on all 3 replicas after {DateTime.UtcNow - started}");
        Assert.True(reopened.Statistics.Commits > 0, "the reopened host applied what it missed");

        await cluster.DisposeAsync();
        await Task.WhenAll(readers).WaitAsync(Patience);
        foreach (var ((node, group), seen) in streams)
        {
            output.WriteLine($"node {node} group {group}: {string.Join(" -> ", seen)}");
            Assert.True(seen.Count >= 2, $"node {node} group {group}: the first state and Shutdown are always reported");
            Assert.True(seen[^1].Role == LeadershipRole.Shutdown, $"node {node} group {group}: the stream ends with Shutdown");
            for (int i = 1; i < seen.Count; i++)
            {
                Assert.True(seen[i].Role != seen[i - 1].Role, $"node {node} group {group}: two consecutive events of class {seen[i].Role}");
            }

            Assert.Equal(1, seen.Count(s => s.Role == LeadershipRole.Shutdown));
        }

        Assert.Contains(streams.Values, seen => seen.Any(s => s.Role == LeadershipRole.Leader));
        output.WriteLine($"total {DateTime.UtcNow - started}");
    }

    private static async Task WriteEveryGroupAsync(HostCluster cluster, ulong[] groups, string key, ConcurrentBag<(ulong, string, string)> acknowledged)
    {
        await Parallel.ForEachAsync(groups, new ParallelOptions { MaxDegreeOfParallelism = 200 }, async (group, _) =>
        {
            string value = $"{key}-{group}";
            await cluster.WriteAsync(group, key, value, Patience);
            acknowledged.Add((group, key, value));
        });
    }

    private static List<string> MissingReads(HostCluster cluster, (ulong Group, string Key, string Value)[] expected)
    {
        var missing = new List<string>();
        foreach (var node in cluster.NodeIds)
        {
            foreach (var (group, key, value) in expected)
            {
                if (!cluster.StateMachines.TryGetValue((node, group), out var machine) || !machine.TryGetValue(key, out var actual) || actual != value)
                {
                    missing.Add($"node {node} group {group} {key}");
                }
            }
        }

        return missing;
    }

    private static async Task ReadAllAsync(IAsyncEnumerable<LeadershipState> stream, List<LeadershipState> seen)
    {
        await foreach (var state in stream)
        {
            lock (seen)
            {
                seen.Add(state);
            }
        }
    }
}
