using RaftToolkit.Core.Model;

namespace RaftToolkit.Core.Raft.Messages;

/// <summary>
/// A leader transferring its leadership tells the caught-up target to campaign at once (Raft
/// thesis §3.10); the target skips pre-vote and its vote requests bypass the voters' leader lease.
/// </summary>
/// <param name="From">The leader.</param>
/// <param name="To">The transfer target.</param>
/// <param name="Vote">The leader's committed vote; a target that follows another leader ignores the request.</param>
public sealed record TimeoutNowRequest(ulong From, ulong To, Vote Vote) : RaftMessage(From, To)
{
    /// <inheritdoc />
    public override RaftMessageKind Kind => RaftMessageKind.TimeoutNowRequest;
}
