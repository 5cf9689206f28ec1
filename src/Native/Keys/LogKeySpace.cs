namespace RaftToolkit.Native.Keys;

/// <summary>How log and meta keys are laid out in the two column families.</summary>
public enum LogKeySpace
{
    /// <summary>
    /// One group per database: log key = index (u64 big-endian, 8 bytes); meta key = the ASCII
    /// label (<c>vote</c>, <c>committed</c>, <c>last_purged</c>).
    /// </summary>
    Flat,

    /// <summary>
    /// Many groups per database: log key = group id (u64 BE) ‖ index (u64 BE), 16 bytes; meta
    /// key = group id (u64 BE) ‖ <c>/</c> ‖ label. Keys sort by group, then index.
    /// </summary>
    GroupPrefixed,
}
