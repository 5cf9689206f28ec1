using RaftToolkit.Core.Raft;

namespace RaftToolkit.Core.Lifecycle;

/// <summary>The role class of a <see cref="LeadershipState"/>: what the leadership stream deduplicates on.</summary>
public enum LeadershipRole : byte
{
    /// <summary>Follows (or waits for) a leader; a pre-candidate still counts as a follower because it has not raised its term.</summary>
    Follower,

    /// <summary>Has raised its term and asks for votes.</summary>
    Candidate,

    /// <summary>Leads the group.</summary>
    Leader,

    /// <summary>Not a voter: receives the log only.</summary>
    Learner,

    /// <summary>The group stopped on this host (removed, host stopped, or failed); the stream ends.</summary>
    Shutdown,
}

/// <summary>
/// What a group's node is, as the leadership stream reports it. Only the <see cref="Role"/>
/// class counts for deduplication: a new term or leader hint within the same class is not a new
/// event.
/// </summary>
/// <param name="Role">The role class.</param>
/// <param name="Term">The term of the node's vote when the state was observed (0 for Learner and Shutdown).</param>
/// <param name="LeaderHint">Follower only: the leader this node knows of, if any.</param>
public readonly record struct LeadershipState(LeadershipRole Role, ulong Term, ulong? LeaderHint)
{
    /// <summary>This node leads in <paramref name="term"/>.</summary>
    public static LeadershipState Leader(ulong term) => new(LeadershipRole.Leader, term, null);

    /// <summary>This node follows in <paramref name="term"/>, knowing <paramref name="leader"/> when not null.</summary>
    public static LeadershipState Follower(ulong term, ulong? leader) => new(LeadershipRole.Follower, term, leader);

    /// <summary>This node campaigns in <paramref name="term"/>.</summary>
    public static LeadershipState Candidate(ulong term) => new(LeadershipRole.Candidate, term, null);

    /// <summary>This node is a learner.</summary>
    public static LeadershipState Learner { get; } = new(LeadershipRole.Learner, 0, null);

    /// <summary>The group stopped here.</summary>
    public static LeadershipState Shutdown { get; } = new(LeadershipRole.Shutdown, 0, null);

    /// <summary>The state of <paramref name="node"/> now.</summary>
    public static LeadershipState Of(RaftNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return ClassOf(node.Role) switch
        {
            LeadershipRole.Leader => Leader(node.Vote.Term),
            LeadershipRole.Candidate => Candidate(node.Vote.Term),
            LeadershipRole.Learner => Learner,
            _ => Follower(node.Vote.Term, node.LeaderHint),
        };
    }

    /// <summary>The class a Raft role reports as.</summary>
    public static LeadershipRole ClassOf(RaftRole role) => role switch
    {
        RaftRole.Leader => LeadershipRole.Leader,
        RaftRole.Candidate => LeadershipRole.Candidate,
        RaftRole.Learner => LeadershipRole.Learner,
        _ => LeadershipRole.Follower,
    };

    /// <inheritdoc />
    public override string ToString() => Role switch
    {
        LeadershipRole.Follower => LeaderHint is { } l ? $"Follower(T{Term}, leader {l})" : $"Follower(T{Term})",
        LeadershipRole.Leader or LeadershipRole.Candidate => $"{Role}(T{Term})",
        _ => Role.ToString(),
    };
}
