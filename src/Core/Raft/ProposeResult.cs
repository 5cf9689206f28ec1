using RaftToolkit.Core.Model;

namespace RaftToolkit.Core.Raft;

/// <summary>Why a proposal was or was not accepted.</summary>
public enum ProposeStatus : byte
{
    /// <summary>Appended to the leader's log under <see cref="ProposeResult.LogId"/>; it commits or is lost with the leadership.</summary>
    Accepted = 0,

    /// <summary>This node is not the leader; <see cref="ProposeResult.LeaderHint"/> names the leader when one is known.</summary>
    NotLeader = 1,

    /// <summary>This leader is handing its leadership to <see cref="ProposeResult.LeaderHint"/>; retry there or after the transfer times out.</summary>
    TransferInProgress = 2,
}

/// <summary>The outcome of <see cref="RaftNode.Propose"/>: an id for an accepted entry, or a typed refusal.</summary>
/// <param name="Status">Accepted or why not.</param>
/// <param name="LogId">The id the entry was appended under (Accepted only).</param>
/// <param name="LeaderHint">NotLeader: the node this node believes is the leader, if known; TransferInProgress: the transfer target.</param>
public readonly record struct ProposeResult(ProposeStatus Status, LogId LogId, ulong? LeaderHint)
{
    /// <summary>True when the entry was appended.</summary>
    public bool IsAccepted => Status == ProposeStatus.Accepted;

    /// <summary>An accepted proposal.</summary>
    public static ProposeResult Accepted(LogId logId) => new(ProposeStatus.Accepted, logId, null);

    /// <summary>A refusal because this node is not the leader.</summary>
    public static ProposeResult NotLeader(ulong? leaderHint) => new(ProposeStatus.NotLeader, default, leaderHint);

    /// <summary>A refusal because this leader is transferring its leadership to <paramref name="target"/>.</summary>
    public static ProposeResult TransferInProgress(ulong target) => new(ProposeStatus.TransferInProgress, default, target);
}
