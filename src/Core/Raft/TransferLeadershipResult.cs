namespace RaftToolkit.Core.Raft;

/// <summary>The outcome of <see cref="RaftNode.TransferLeadership"/>.</summary>
public enum TransferLeadershipResult : byte
{
    /// <summary>The transfer started: proposals are refused until it completes or times out (one election timeout).</summary>
    Started = 0,

    /// <summary>This node is not the leader.</summary>
    NotLeader = 1,

    /// <summary>The target is this node: it already leads.</summary>
    TargetIsLeader = 2,

    /// <summary>The target is not a voter of the configuration in force (learners cannot lead).</summary>
    TargetNotVoter = 3,

    /// <summary>A transfer is already in progress.</summary>
    InProgress = 4,
}
