using RaftToolkit.Core.Raft.Messages;

namespace RaftToolkit.Core.Transport;

/// <summary>One Raft message and the group it belongs to: the unit a host routes.</summary>
/// <param name="GroupId">The group the message belongs to.</param>
/// <param name="Message">The message (its From and To are node ids).</param>
public readonly record struct GroupMessage(ulong GroupId, RaftMessage Message);

/// <summary>
/// Receives the message batches that arrive at one node. Called on a transport thread (for the
/// in-memory transport: the sender's thread), so an implementation only queues the batch.
/// </summary>
public interface IMessageReceiver
{
    /// <summary>A batch sent by node <paramref name="fromNode"/>; the receiver owns the list from now on.</summary>
    void Receive(ulong fromNode, List<GroupMessage> batch);
}

/// <summary>
/// A node's endpoint: carries batches of group messages to other nodes. Raft tolerates loss,
/// duplication and reordering of messages, so sending is fire-and-forget: a batch that cannot
/// be delivered is dropped, never retried by the transport.
/// </summary>
/// <remarks>
/// A host sends at most one batch per destination node per round, so the cost of a send
/// (a syscall, a frame) is paid per peer, not per group.
/// </remarks>
public interface ITransport : IDisposable
{
    /// <summary>The node this endpoint belongs to.</summary>
    ulong LocalNode { get; }

    /// <summary>Starts delivering the batches addressed to <see cref="LocalNode"/> to <paramref name="receiver"/>.</summary>
    /// <exception cref="InvalidOperationException">A receiver is already bound, or the endpoint is disposed.</exception>
    void Bind(IMessageReceiver receiver);

    /// <summary>
    /// Sends <paramref name="batch"/> to <paramref name="toNode"/> without waiting. The transport
    /// owns the list from now on (the caller must not reuse it). Should not throw: a batch that
    /// cannot be delivered is dropped. If it throws all the same, the host drops the batch, logs
    /// it and goes on. An empty batch is the host's ping (see
    /// <see cref="Host.MultiRaftHostOptions.PeerSilenceTicks"/>): deliver it as it is, neither
    /// skipped nor merged into another batch, or the peer finds this host silent however much
    /// else it receives from it.
    /// </summary>
    void Send(ulong toNode, List<GroupMessage> batch);
}
