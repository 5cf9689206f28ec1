using RaftToolkit.Core.Codec;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native.Keys;

namespace RaftToolkit.Native.Records;

/// <summary>
/// A stored meta value (vote, committed or last purged id) failed to decode, or RocksDB found the
/// block holding it damaged; it was not returned as data.
/// </summary>
public sealed class MetaRecordCorruptionException : RaftStorageException
{
    /// <summary>Creates the error naming the group and the value, and the error that found it.</summary>
    public MetaRecordCorruptionException(ulong groupId, MetaLabel label, Exception cause)
        : base($"Corrupted meta record '{label}' of group {groupId}: {cause.Message}", cause)
    {
        GroupId = groupId;
        Label = label;
    }

    /// <summary>The group the value belongs to.</summary>
    public ulong GroupId { get; }

    /// <summary>Which value is corrupted.</summary>
    public MetaLabel Label { get; }
}
