namespace RaftToolkit.Core.Model;

/// <summary>Describes a snapshot: the last entry it covers and the membership in force at that entry.</summary>
/// <param name="LastLogId">The id of the last entry the snapshot includes, if any.</param>
/// <param name="LastMembership">The last membership applied into the snapshot.</param>
/// <param name="SnapshotId">A name unique to this snapshot.</param>
public sealed record SnapshotMeta(LogId? LastLogId, StoredMembership LastMembership, string SnapshotId);

/// <summary>A snapshot: its description and the application's snapshot data.</summary>
/// <typeparam name="TSnapshot">The type configuration's SnapshotData.</typeparam>
/// <param name="Meta">What the snapshot covers.</param>
/// <param name="Data">The state machine's data as of <see cref="SnapshotMeta.LastLogId"/>.</param>
public sealed record Snapshot<TSnapshot>(SnapshotMeta Meta, TSnapshot Data);

/// <summary>What a state machine has applied: the last applied id and the last applied membership.</summary>
/// <param name="LastApplied">The id of the last applied entry, if any.</param>
/// <param name="LastMembership">The last membership applied.</param>
public sealed record AppliedState(LogId? LastApplied, StoredMembership LastMembership)
{
    /// <summary>Nothing applied.</summary>
    public static AppliedState Initial { get; } = new(null, StoredMembership.Default);
}
