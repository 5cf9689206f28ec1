using RaftToolkit.Core.Model;

namespace RaftToolkit.Core.Raft.Messages;

/// <summary>A follower forwards a client's ReadIndex request to the node it believes leads.</summary>
/// <param name="From">The follower that received the read.</param>
/// <param name="To">The leader.</param>
/// <param name="RequestId">The follower's id for the read, echoed in the answer.</param>
public sealed record ReadIndexRequest(ulong From, ulong To, ulong RequestId) : RaftMessage(From, To)
{
    /// <inheritdoc />
    public override RaftMessageKind Kind => RaftMessageKind.ReadIndexRequest;
}

/// <summary>The leader's answer to a forwarded <see cref="ReadIndexRequest"/>.</summary>
/// <param name="From">The leader (or the node that was asked and does not lead).</param>
/// <param name="To">The follower that forwarded the read.</param>
/// <param name="RequestId">The follower's id for the read.</param>
/// <param name="Status">Confirmed, or why not.</param>
/// <param name="Index">Confirmed only: the read index; serve the read once applied reaches it.</param>
public sealed record ReadIndexResponse(ulong From, ulong To, ulong RequestId, ReadIndexStatus Status, ulong Index) : RaftMessage(From, To)
{
    /// <inheritdoc />
    public override RaftMessageKind Kind => RaftMessageKind.ReadIndexResponse;
}

/// <summary>
/// The leader asks every voter to confirm that it still leads, for the reads registered up to
/// <see cref="Round"/>. An answer echoes the round, so an answer sent before a read was
/// registered can never confirm it.
/// </summary>
/// <param name="From">The leader.</param>
/// <param name="To">A voter.</param>
/// <param name="Vote">The leader's committed vote.</param>
/// <param name="Round">The leader's read round; rounds only grow.</param>
public sealed record LeadershipConfirmRequest(ulong From, ulong To, Vote Vote, ulong Round) : RaftMessage(From, To)
{
    /// <inheritdoc />
    public override RaftMessageKind Kind => RaftMessageKind.LeadershipConfirmRequest;
}

/// <summary>
/// A voter's answer to a <see cref="LeadershipConfirmRequest"/>, sent once its vote is durable.
/// It confirms the leader only when <see cref="Vote"/> equals the leader's vote; a greater vote
/// deposes the leader.
/// </summary>
/// <param name="From">The voter.</param>
/// <param name="To">The leader.</param>
/// <param name="Vote">The voter's vote after handling the request.</param>
/// <param name="Round">The round being answered.</param>
public sealed record LeadershipConfirmResponse(ulong From, ulong To, Vote Vote, ulong Round) : RaftMessage(From, To)
{
    /// <inheritdoc />
    public override RaftMessageKind Kind => RaftMessageKind.LeadershipConfirmResponse;
}
