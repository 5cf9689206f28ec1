using RaftToolkit.Core.Raft;

namespace RaftToolkit.Core.Host;

/// <summary>A proposal reached a node that does not lead its group; retry at <see cref="LeaderHint"/> when it is known.</summary>
public sealed class NotLeaderException : Exception
{
    /// <summary>Creates the exception.</summary>
    public NotLeaderException(ulong groupId, ulong nodeId, ulong? leaderHint)
        : base(leaderHint is { } leader
            ? $"Node {nodeId} does not lead group {groupId}; node {leader} does."
            : $"Node {nodeId} does not lead group {groupId}, and knows no leader yet.")
    {
        GroupId = groupId;
        NodeId = nodeId;
        LeaderHint = leaderHint;
    }

    /// <summary>The group.</summary>
    public ulong GroupId { get; }

    /// <summary>The node that refused.</summary>
    public ulong NodeId { get; }

    /// <summary>The node the refusing node believes leads the group, if any.</summary>
    public ulong? LeaderHint { get; }
}

/// <summary>The group is not running on this host (never bootstrapped here, removed, or stopped).</summary>
public sealed class GroupNotHostedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public GroupNotHostedException(ulong groupId, ulong nodeId)
        : base($"Group {groupId} is not hosted on node {nodeId}.")
    {
        GroupId = groupId;
    }

    /// <summary>The group.</summary>
    public ulong GroupId { get; }
}

/// <summary>Why an accepted proposal will never be answered.</summary>
public enum ProposalDropReason : byte
{
    /// <summary>Another leader's entry took the proposal's place in the log (leadership changed before it committed).</summary>
    Superseded,

    /// <summary>The group was removed from the host or failed.</summary>
    GroupStopped,

    /// <summary>The host stopped (disposed, or failed on a storage error).</summary>
    HostStopped,

    /// <summary>
    /// This node installed a leader's snapshot that covers the proposal's index: the entry is no
    /// longer here to match, so whether the proposal committed is unknown.
    /// </summary>
    CoveredBySnapshot,
}

/// <summary>
/// An accepted proposal was dropped: it may or may not have been committed (Superseded means it
/// was not, at this index). Retry only if the command is idempotent or its outcome was checked.
/// </summary>
public sealed class ProposalDroppedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ProposalDroppedException(ulong groupId, ProposalDropReason reason, Exception? inner = null)
        : base($"A proposal to group {groupId} was dropped: {reason}.", inner)
    {
        GroupId = groupId;
        Reason = reason;
    }

    /// <summary>The group.</summary>
    public ulong GroupId { get; }

    /// <summary>Why it was dropped.</summary>
    public ProposalDropReason Reason { get; }
}

/// <summary>
/// A ReadIndex read was not confirmed: the leader lost its leadership before a quorum confirmed
/// it, or no answer came in time. Nothing was read; retry (at the leader, once one is known).
/// </summary>
public sealed class ReadIndexException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ReadIndexException(ulong groupId, ulong nodeId, ReadIndexStatus status, ulong? leaderHint)
        : base($"A read of group {groupId} at node {nodeId} was not confirmed: {status}{(leaderHint is { } leader ? $" (node {leader} may lead)" : string.Empty)}.")
    {
        GroupId = groupId;
        NodeId = nodeId;
        Status = status;
        LeaderHint = leaderHint;
    }

    /// <summary>The group.</summary>
    public ulong GroupId { get; }

    /// <summary>The node the read was asked at.</summary>
    public ulong NodeId { get; }

    /// <summary>Why the read failed (never Confirmed or Pending).</summary>
    public ReadIndexStatus Status { get; }

    /// <summary>The node believed to lead the group when the read failed, if any.</summary>
    public ulong? LeaderHint { get; }
}
