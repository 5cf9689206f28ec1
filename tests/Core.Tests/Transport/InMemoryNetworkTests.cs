using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft.Messages;
using RaftToolkit.Core.Transport;
using Xunit;

namespace RaftToolkit.Core.Tests.Transport;

public sealed class InMemoryNetworkTests
{
    private sealed class Inbox : IMessageReceiver
    {
        public List<(ulong From, List<GroupMessage> Batch)> Received { get; } = [];

        public void Receive(ulong fromNode, List<GroupMessage> batch) => Received.Add((fromNode, batch));
    }

    private static List<GroupMessage> Batch(ulong from, ulong to, params ulong[] groups) =>
        groups.Select(g => new GroupMessage(g, new VoteRequest(from, to, new Vote(1, from), null))).ToList();

    private static (InMemoryNetwork Network, Dictionary<ulong, ITransport> Endpoints, Dictionary<ulong, Inbox> Inboxes) Network(int size)
    {
        var network = new InMemoryNetwork();
        var endpoints = new Dictionary<ulong, ITransport>();
        var inboxes = new Dictionary<ulong, Inbox>();
        for (ulong id = 1; id <= (ulong)size; id++)
        {
            endpoints[id] = network.CreateTransport(id);
            inboxes[id] = new Inbox();
            endpoints[id].Bind(inboxes[id]);
        }

        return (network, endpoints, inboxes);
    }

    [Fact]
    public void Transport_DeliversTheWholeBatchToTheBoundReceiverOfTheDestination()
    {
        var (_, endpoints, inboxes) = Network(2);
        var batch = Batch(1, 2, 10, 11, 12);

        endpoints[1].Send(2, batch);

        var (from, received) = Assert.Single(inboxes[2].Received);
        Assert.Equal(1UL, from);
        Assert.Same(batch, received);
        Assert.Empty(inboxes[1].Received);
    }

    [Fact]
    public void Transport_DropsBatchesForANodeWithNoEndpoint()
    {
        var (network, endpoints, _) = Network(1);

        endpoints[1].Send(9, Batch(1, 9, 1));

        Assert.Equal(1, network.DroppedBatches);
        Assert.Equal(0, network.DeliveredBatches);
    }

    [Fact]
    public void Transport_SecondLiveEndpointForOneNodeIsRefusedUntilTheFirstIsDisposed()
    {
        var network = new InMemoryNetwork();
        var first = network.CreateTransport(1);

        Assert.Throws<InvalidOperationException>(() => network.CreateTransport(1));
        first.Dispose();
        using var second = network.CreateTransport(1);
        Assert.Equal(1UL, second.LocalNode);
    }

    [Fact]
    public void Transport_BindingTwiceIsRefused()
    {
        var network = new InMemoryNetwork();
        using var endpoint = network.CreateTransport(1);
        endpoint.Bind(new Inbox());

        Assert.Throws<InvalidOperationException>(() => endpoint.Bind(new Inbox()));
    }

    [Fact]
    public void Transport_IsolatedNodeNeitherSendsNorReceivesUntilReconnected()
    {
        var (network, endpoints, inboxes) = Network(3);
        network.Partitions.Isolate(3);

        endpoints[3].Send(1, Batch(3, 1, 1));
        endpoints[1].Send(3, Batch(1, 3, 1));
        endpoints[1].Send(2, Batch(1, 2, 1));

        Assert.Empty(inboxes[1].Received);
        Assert.Empty(inboxes[3].Received);
        Assert.Single(inboxes[2].Received);

        network.Partitions.Reconnect(3);
        endpoints[3].Send(1, Batch(3, 1, 1));
        Assert.Single(inboxes[1].Received);
    }

    [Fact]
    public void Transport_OneWayCutDropsOnlyThatDirection()
    {
        var (network, endpoints, inboxes) = Network(2);
        network.Partitions.CutOneWay(1, 2);

        endpoints[1].Send(2, Batch(1, 2, 1));
        endpoints[2].Send(1, Batch(2, 1, 1));

        Assert.Empty(inboxes[2].Received);
        Assert.Single(inboxes[1].Received);
    }

    [Fact]
    public void Transport_PartitionSeparatesSidesButNotNodesOnOneSide()
    {
        var (network, endpoints, inboxes) = Network(3);
        network.Partitions.Partition([1, 2], [3]);

        endpoints[1].Send(2, Batch(1, 2, 1));
        endpoints[1].Send(3, Batch(1, 3, 1));
        endpoints[3].Send(2, Batch(3, 2, 1));

        Assert.Single(inboxes[2].Received);
        Assert.Empty(inboxes[3].Received);

        network.Partitions.Heal();
        endpoints[1].Send(3, Batch(1, 3, 1));
        Assert.Single(inboxes[3].Received);
    }

    [Fact]
    public void Transport_PartitionRejectsANodeOnTwoSidesAndChangesNothing()
    {
        var (network, endpoints, inboxes) = Network(2);

        var error = Assert.Throws<ArgumentException>(() => network.Partitions.Partition([1, 2], [2]));
        Assert.Contains("Node 2 is on two sides", error.Message, StringComparison.Ordinal);
        endpoints[1].Send(2, Batch(1, 2, 1));
        Assert.Single(inboxes[2].Received);
    }

    [Fact]
    public void Transport_IsolationAlsoCutsNodesCreatedLater()
    {
        var network = new InMemoryNetwork();
        network.Partitions.Isolate(1);
        using var late = network.CreateTransport(2);

        Assert.False(network.Partitions.CanDeliver(2, 1));
        Assert.False(network.Partitions.CanDeliver(1, 2));
    }
}
