using RaftToolkit.Core.Model;

namespace RaftToolkit.Core.Raft.Messages;

/// <summary>
/// An idle leader's last heartbeat: it stops heartbeating, so a follower that holds
/// <see cref="LastLogId"/> stops counting election ticks until any message arrives. No answer.
/// </summary>
/// <param name="From">The leader.</param>
/// <param name="To">A follower or learner.</param>
/// <param name="Vote">The leader's committed vote.</param>
/// <param name="LastLogId">The leader's last log id; every follower was known to hold it.</param>
/// <param name="LeaderCommit">The leader's committed id (equal to <see cref="LastLogId"/>).</param>
public sealed record QuiesceNotice(ulong From, ulong To, Vote Vote, LogId? LastLogId, LogId? LeaderCommit) : RaftMessage(From, To)
{
    /// <inheritdoc />
    public override RaftMessageKind Kind => RaftMessageKind.QuiesceNotice;
}
