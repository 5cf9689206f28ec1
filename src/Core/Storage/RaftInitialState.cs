using RaftToolkit.Core.Model;

namespace RaftToolkit.Core.Storage;

/// <summary>
/// What a group's Raft core starts from, read from its log store and state machine by
/// <see cref="RaftStorageHelper.GetInitialStateAsync{TResponse, TSnapshot}"/> (openraft's
/// <c>RaftState</c> as returned by <c>StorageHelper::get_initial_state</c>).
/// </summary>
/// <param name="Vote">The persisted vote, or the default vote (term 0, node 0, uncommitted) when none was saved.</param>
/// <param name="Committed">The committed id: the persisted one, raised to the applied id when that is greater.</param>
/// <param name="LastApplied">The state machine's applied id after committed entries were re-applied.</param>
/// <param name="LastLogId">The last log id (the applied id when the state machine is ahead of the log).</param>
/// <param name="LastPurgedLogId">The last purged id (the applied id when the state machine is ahead of the log).</param>
/// <param name="Membership">The committed and effective membership.</param>
/// <param name="KeyLogIds">
/// The first log id of each leader in <c>[LastPurgedLogId, LastLogId]</c>, in order, followed by
/// <see cref="LastLogId"/> when it is not already the last one; the list starts with the last
/// purged id when there is one. Empty when the log never held anything.
/// </param>
/// <param name="Snapshot">The current snapshot's description, if the state machine has one.</param>
public sealed record RaftInitialState(
    Vote Vote,
    LogId? Committed,
    LogId? LastApplied,
    LogId? LastLogId,
    LogId? LastPurgedLogId,
    MembershipState Membership,
    IReadOnlyList<LogId> KeyLogIds,
    SnapshotMeta? Snapshot);
