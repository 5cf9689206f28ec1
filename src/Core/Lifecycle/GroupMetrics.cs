using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;

namespace RaftToolkit.Core.Lifecycle;

/// <summary>A snapshot of one group on one host, taken between two rounds of its worker.</summary>
/// <param name="GroupId">The group.</param>
/// <param name="NodeId">This host's node id.</param>
/// <param name="Role">The node's role.</param>
/// <param name="Term">The term of the node's vote.</param>
/// <param name="Leader">The leader the node knows of (itself when leading), if any.</param>
/// <param name="LastLogId">The last log id (durable or not).</param>
/// <param name="Committed">The greatest id known committed.</param>
/// <param name="Applied">The last id applied to the state machine.</param>
/// <param name="Purged">The last purged id written to the store, if the log was ever purged.</param>
/// <param name="Snapshot">The last log id the group's current snapshot covers, if it has one.</param>
public sealed record GroupMetrics(
    ulong GroupId,
    ulong NodeId,
    RaftRole Role,
    ulong Term,
    ulong? Leader,
    LogId? LastLogId,
    LogId? Committed,
    LogId? Applied,
    LogId? Purged,
    LogId? Snapshot = null);
