using RaftToolkit.Core.Model;

namespace RaftToolkit.Core.Raft.Log;

/// <summary>
/// The synchronous seam through which a <see cref="RaftNode"/> reads the part of its log that
/// the host has already written. The node never awaits: a host backs this with a bounded cache
/// of recent entries (filled as it writes, so the tail that replication and apply read is
/// always there) over its <see cref="Storage.IRaftLogStore"/>.
/// </summary>
/// <remarks>
/// <para>"Not available" (false) is a normal answer: the entry is purged, past the end, or evicted
/// from a cache. The node then does not send what it cannot read. A failed read is different: it
/// throws a <see cref="Storage.RaftStorageException"/>, which is fatal for the group
/// (<see cref="RaftNode.Failure"/>), so a read error can never turn into a malformed message.</para>
/// <para>Entries at or after the node's first unstable index may be stale here (the node has
/// truncated them in memory and the host has not yet written the truncation); the node never
/// reads those from the source.</para>
/// </remarks>
public interface IRaftLogSource
{
    /// <summary>The id of the last written entry; the last purged id when no entry is left; none for an empty log.</summary>
    LogId? LastLogId { get; }

    /// <summary>
    /// The id of the last purged entry, or none. Entries up to it are gone; a source that can,
    /// answers <see cref="TryGetLogId"/> for this index with this id. The node reads it once, at
    /// construction, and tracks purges itself afterwards (<see cref="Ready.PurgeUpTo"/>).
    /// </summary>
    LogId? LastPurgedLogId => null;

    /// <summary>The id of the entry at <paramref name="index"/>, when available.</summary>
    bool TryGetLogId(ulong index, out LogId logId);

    /// <summary>The entry at <paramref name="index"/>, when available.</summary>
    bool TryGetEntry(ulong index, out Entry entry);
}
