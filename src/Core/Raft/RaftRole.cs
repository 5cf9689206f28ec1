namespace RaftToolkit.Core.Raft;

/// <summary>The role a <see cref="RaftNode"/> plays in its group.</summary>
public enum RaftRole : byte
{
    /// <summary>Follows a leader (or waits for one); votes; campaigns on election timeout.</summary>
    Follower = 0,

    /// <summary>Asks for pre-votes without raising its term; becomes a candidate on a quorum.</summary>
    PreCandidate = 1,

    /// <summary>Has raised its term and voted for itself; asks every voter for its vote.</summary>
    Candidate = 2,

    /// <summary>Granted by a quorum: accepts proposals and replicates them.</summary>
    Leader = 3,

    /// <summary>Not a voter: receives the log but never campaigns and is never counted.</summary>
    Learner = 4,
}
