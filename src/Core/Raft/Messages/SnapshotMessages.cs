using RaftToolkit.Core.Model;

namespace RaftToolkit.Core.Raft.Messages;

/// <summary>
/// One chunk of a snapshot the leader sends to a follower that needs entries the leader has
/// purged. Chunks go one at a time, in order: the next leaves when the previous is acknowledged.
/// </summary>
/// <param name="From">The leader.</param>
/// <param name="To">The follower.</param>
/// <param name="Vote">The leader's committed vote.</param>
/// <param name="Meta">The snapshot's description (its last log id names what it covers).</param>
/// <param name="Offset">Where <paramref name="Data"/> starts in the snapshot's bytes.</param>
/// <param name="Data">The chunk: opaque bytes of the host's serialized snapshot.</param>
/// <param name="Done">True on the last chunk: the follower installs the snapshot once it has it all.</param>
public sealed record InstallSnapshotRequest(ulong From, ulong To, Vote Vote, SnapshotMeta Meta, ulong Offset, ReadOnlyMemory<byte> Data, bool Done)
    : RaftMessage(From, To)
{
    /// <inheritdoc />
    public override RaftMessageKind Kind => RaftMessageKind.InstallSnapshotRequest;
}

/// <summary>A follower's answer to an <see cref="InstallSnapshotRequest"/>.</summary>
/// <param name="From">The follower.</param>
/// <param name="To">The leader.</param>
/// <param name="Vote">The follower's vote (greater than the request's: the sender no longer leads).</param>
/// <param name="SnapshotId">The snapshot being answered (stale answers about another snapshot are ignored).</param>
/// <param name="NextOffset">How many bytes of the snapshot the follower holds, in order: the offset of the next chunk it wants.</param>
/// <param name="Installed">
/// True once the follower holds the snapshot's state: installed (and durable, since the answer
/// waits for the install's write) or already covered by what it had committed.
/// </param>
public sealed record InstallSnapshotResponse(ulong From, ulong To, Vote Vote, string SnapshotId, ulong NextOffset, bool Installed)
    : RaftMessage(From, To)
{
    /// <inheritdoc />
    public override RaftMessageKind Kind => RaftMessageKind.InstallSnapshotResponse;
}
