using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using RaftToolkit.Core.Host;
using RaftToolkit.Core.Lifecycle;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Transport;
using RaftToolkit.Testing.KeyValue;
using RaftToolkit.Testing.Storage;
using Xunit;

namespace RaftToolkit.Core.Tests.Host;

public sealed class HostMetricsTests
{
    [Fact]
    public async Task Host_PublishesRoundsProposalsCommitsAndElectionsOnItsMeterTaggedWithTheNode()
    {
        // A node id no other test uses: the meter is process-wide.
        const ulong node = 7_701;
        var seen = new ConcurrentDictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == HostMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, tags, seen));
        listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument, tags, seen));
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, tags, seen));
        listener.Start();

        var network = new InMemoryNetwork();
        await using (var host = MultiRaftHost.Create(new KvTypeConfig(), HostCluster.FastOptions(node), new InMemoryMultiGroupLogStore(), network.CreateTransport(node), _ => new InMemoryStateMachine()))
        {
            await host.BootstrapAsync(1, BootstrapMode.Fresh(node));
            await host.CampaignAsync(1);

            // The candidate leads once its vote is durable, a round later: a proposal that reaches
            // the worker before then is refused.
            await HostCluster.WaitUntilAsync(async () => (await host.GetMetricsAsync(1)).Role == RaftRole.Leader, TimeSpan.FromSeconds(20), () => "the single voter did not lead");
            await host.ProposeAsync(1, KvCommand.Set("k", "v"));
        }

        // The single voter's election counts too, though it became candidate and leader within
        // one round (a change of role seen between rounds would miss it).
        foreach (var name in new[] { "raftkit.host.rounds", "raftkit.host.groups_per_round", "raftkit.host.proposals", "raftkit.host.commits", "raftkit.host.apply_latency", "raftkit.host.elections" })
        {
            Assert.True(seen.ContainsKey(name), $"{name} was not measured for node {node}");
        }

        static void Record(Instrument instrument, ReadOnlySpan<KeyValuePair<string, object?>> tags, ConcurrentDictionary<string, long> seen)
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "raftkit.node" && tag.Value is ulong id && id == node)
                {
                    seen.AddOrUpdate(instrument.Name, 1, (_, n) => n + 1);
                }
            }
        }
    }
}
