using RaftToolkit.Core.Model;

namespace RaftToolkit.Native;

/// <summary>
/// The in-memory cache of one group's log ends, so validating a write needs no read.
/// Loaded lazily from the database the first time the group is used.
/// </summary>
/// <remarks>
/// Every field but <see cref="GroupId"/> is read and written only under the coalescer's gate;
/// the cache is updated when a write is queued, so it always reflects every queued write of the
/// group (a failed write stops the whole store, so the cache never has to roll back).
/// </remarks>
internal sealed class GroupLogState
{
    public GroupLogState(ulong groupId)
    {
        GroupId = groupId;
    }

    /// <summary>The group.</summary>
    public ulong GroupId { get; }

    /// <summary>True once <see cref="LastPurged"/> and <see cref="LastLogId"/> reflect the database.</summary>
    public bool Loaded;

    /// <summary>True once the group was removed: views holding this state fail with UnknownGroupException.</summary>
    public bool Removed;

    /// <summary>The last purged id, including queued writes.</summary>
    public LogId? LastPurged;

    /// <summary>The last entry's id (falling back to <see cref="LastPurged"/>), including queued writes.</summary>
    public LogId? LastLogId;

    /// <summary>The validation pass that last touched <see cref="PendingPurged"/> and <see cref="PendingLastLogId"/>.</summary>
    public long PendingStamp;

    /// <summary>Scratch copy of <see cref="LastPurged"/> while a multi-operation write is validated.</summary>
    public LogId? PendingPurged;

    /// <summary>Scratch copy of <see cref="LastLogId"/> while a multi-operation write is validated.</summary>
    public LogId? PendingLastLogId;
}
