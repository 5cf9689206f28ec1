namespace RaftToolkit.Core.Raft;

/// <summary>Where a ReadIndex read stands.</summary>
public enum ReadIndexStatus : byte
{
    /// <summary>A quorum confirmed the leadership: serve the read once the state machine has applied <see cref="ReadState.Index"/>.</summary>
    Confirmed = 0,

    /// <summary>Accepted; the outcome arrives later in <see cref="Ready.ReadStates"/>.</summary>
    Pending = 1,

    /// <summary>No leader is known (or the node asked does not lead): retry elsewhere or later.</summary>
    NotLeader = 2,

    /// <summary>The leader stepped down before a quorum confirmed it: the read was not served.</summary>
    LeadershipLost = 3,

    /// <summary>No confirmation or answer arrived within two election timeouts.</summary>
    TimedOut = 4,
}

/// <summary>The outcome of one <see cref="RaftNode.ReadIndex"/> call, handed out in <see cref="Ready.ReadStates"/>.</summary>
/// <param name="RequestId">The id the caller gave the read.</param>
/// <param name="Status">Confirmed, or why the read failed (never <see cref="ReadIndexStatus.Pending"/>).</param>
/// <param name="Index">Confirmed only: the read index, the leader's commit index when it registered the read.</param>
public readonly record struct ReadState(ulong RequestId, ReadIndexStatus Status, ulong Index)
{
    /// <summary>True when the read may be served (once applied reaches <see cref="Index"/>).</summary>
    public bool IsConfirmed => Status == ReadIndexStatus.Confirmed;
}
