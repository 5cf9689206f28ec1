namespace RaftToolkit.Core.Model;

/// <summary>A membership and the id of the log entry that carried it (none for the initial, empty one).</summary>
/// <param name="LogId">The id of the entry that carried the membership, if any.</param>
/// <param name="Membership">The configuration.</param>
public sealed record StoredMembership(LogId? LogId, Membership Membership)
{
    /// <summary>No membership: no log id, the empty configuration.</summary>
    public static StoredMembership Default { get; } = new(null, Membership.Empty);

    /// <inheritdoc />
    public override string ToString() => $"{(LogId is { } id ? id.ToString() : "none")}: {Membership}";
}

/// <summary>
/// The committed and the effective membership of a node: the effective one is the last seen in
/// the log; the committed one is the last known to be committed (which the effective may equal).
/// </summary>
/// <param name="Committed">The last membership known to be committed.</param>
/// <param name="Effective">The membership in force: the last one in the log.</param>
public sealed record MembershipState(StoredMembership Committed, StoredMembership Effective)
{
    /// <summary>Both default.</summary>
    public static MembershipState Default { get; } = new(StoredMembership.Default, StoredMembership.Default);
}
