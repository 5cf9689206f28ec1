using RaftToolkit.Core.Model;

namespace RaftToolkit.Core.Raft;

/// <summary>What a node restarts from: the persisted vote, the saved committed id and the state machine's last applied id.</summary>
/// <param name="Vote">The persisted vote (the initial one if none was ever saved).</param>
/// <param name="Committed">The saved committed log id, if any.</param>
/// <param name="Applied">The last log id the state machine has applied, if any.</param>
public readonly record struct RaftNodeState(Vote Vote, LogId? Committed, LogId? Applied)
{
    /// <summary>The current snapshot's description, if the group has one (the state machine was restored from it or is past it).</summary>
    public SnapshotMeta? Snapshot { get; init; }

    /// <summary>The current snapshot's bytes, which the node sends to followers that need purged entries.</summary>
    public ReadOnlyMemory<byte> SnapshotData { get; init; }

    /// <summary>A node that never ran: initial vote, nothing committed or applied.</summary>
    public static RaftNodeState Initial => default;
}
