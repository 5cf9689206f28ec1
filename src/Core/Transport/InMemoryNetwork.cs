using System.Collections.Concurrent;

namespace RaftToolkit.Core.Transport;

/// <summary>
/// Connects hosts in one process: each node gets an <see cref="ITransport"/> endpoint from
/// <see cref="CreateTransport"/>, and a batch sent to a node is handed to its receiver on the
/// sender's thread (receivers only queue, so this is cheap and keeps per-link order).
/// <see cref="Partitions"/> cuts links for fault tests and demos.
/// </summary>
public sealed class InMemoryNetwork
{
    private readonly ConcurrentDictionary<ulong, Endpoint> _endpoints = new();
    private long _delivered;
    private long _dropped;

    /// <summary>Who can reach whom.</summary>
    public PartitionController Partitions { get; } = new();

    /// <summary>Batches handed to a receiver so far.</summary>
    public long DeliveredBatches => Interlocked.Read(ref _delivered);

    /// <summary>Batches dropped so far (cut link, or no receiver bound at the destination).</summary>
    public long DroppedBatches => Interlocked.Read(ref _dropped);

    /// <summary>
    /// Creates the endpoint of node <paramref name="nodeId"/>. A node has one endpoint at a time;
    /// after the old one is disposed (its host stopped), a restarted host creates a new one.
    /// </summary>
    /// <exception cref="InvalidOperationException">The node already has a live endpoint.</exception>
    public ITransport CreateTransport(ulong nodeId)
    {
        var endpoint = new Endpoint(this, nodeId);
        if (!_endpoints.TryAdd(nodeId, endpoint))
        {
            throw new InvalidOperationException($"Node {nodeId} already has a live endpoint on this network; dispose it first.");
        }

        Partitions.Register(nodeId);
        return endpoint;
    }

    private void Deliver(ulong from, ulong to, List<GroupMessage> batch)
    {
        if (!Partitions.CanDeliver(from, to) || !_endpoints.TryGetValue(to, out var target) || target.Receiver is not { } receiver)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }

        Interlocked.Increment(ref _delivered);
        receiver.Receive(from, batch);
    }

    private sealed class Endpoint(InMemoryNetwork network, ulong nodeId) : ITransport
    {
        private volatile IMessageReceiver? _receiver;
        private int _disposed;

        public ulong LocalNode { get; } = nodeId;

        public IMessageReceiver? Receiver => _receiver;

        public void Bind(IMessageReceiver receiver)
        {
            ArgumentNullException.ThrowIfNull(receiver);
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            if (Interlocked.CompareExchange(ref _receiver, receiver, null) is not null)
            {
                throw new InvalidOperationException($"Node {LocalNode}'s endpoint already has a receiver.");
            }
        }

        public void Send(ulong toNode, List<GroupMessage> batch)
        {
            ArgumentNullException.ThrowIfNull(batch);
            if (Volatile.Read(ref _disposed) != 0)
            {
                return;
            }

            network.Deliver(LocalNode, toNode, batch);
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            _receiver = null;
            network._endpoints.TryRemove(new KeyValuePair<ulong, Endpoint>(LocalNode, this));
        }
    }
}
