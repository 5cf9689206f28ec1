namespace RaftToolkit.Core.Lifecycle;

/// <summary>Why a membership change or leadership transfer asked of a host failed.</summary>
public enum MembershipErrorKind : byte
{
    /// <summary>This node does not lead the group; <see cref="MembershipException.LeaderHint"/> names the leader when known. Retry there.</summary>
    NotLeader,

    /// <summary>Another membership change (or a leadership transfer) is in progress. Retry once it is done.</summary>
    Conflict,

    /// <summary>Anything else: an invalid change, a leader that has not committed in its term yet, or an entry that lost its place to another leader's. The message says which.</summary>
    Other,
}

/// <summary>A membership change (or leadership transfer) asked of a host failed; <see cref="Kind"/> says what to do about it.</summary>
public sealed class MembershipException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MembershipException(MembershipErrorKind kind, ulong groupId, ulong? leaderHint, string message)
        : base($"Group {groupId}: {message}")
    {
        Kind = kind;
        GroupId = groupId;
        LeaderHint = leaderHint;
    }

    /// <summary>What went wrong.</summary>
    public MembershipErrorKind Kind { get; }

    /// <summary>The group.</summary>
    public ulong GroupId { get; }

    /// <summary>NotLeader only: the node believed to lead the group, if known.</summary>
    public ulong? LeaderHint { get; }
}
