namespace RaftToolkit.Native.Keys;

/// <summary>The per-group values kept in the meta column family.</summary>
public enum MetaLabel
{
    /// <summary>The persisted vote: ASCII <c>vote</c>.</summary>
    Vote,

    /// <summary>The last committed log id: ASCII <c>committed</c>.</summary>
    Committed,

    /// <summary>The last purged log id: ASCII <c>last_purged</c>.</summary>
    LastPurged,
}
