using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace RaftToolkit.Native.Keys;

/// <summary>
/// Builds the keys of both key spaces, byte for byte as DESIGN.md's on-disk layout, into
/// caller-supplied (normally stack-allocated) spans.
/// </summary>
/// <remarks>
/// Big-endian ids make byte order equal numeric order, so one group's log is one contiguous
/// range: purge is one DeleteRange and a read is one bounded iterator. Index
/// <see cref="ulong.MaxValue"/> is reserved as the exclusive end of a group's range (no entry
/// may have it), which keeps every range bound inside the group's own prefix.
/// </remarks>
public static class LogKeys
{
    /// <summary>The longest key either key space builds (a group-prefixed <c>last_purged</c> key).</summary>
    public const int MaxKeyLength = sizeof(ulong) + 1 + 11;

    /// <summary>Length of a log key in <paramref name="space"/>.</summary>
    public static int LogKeyLength(LogKeySpace space) => space == LogKeySpace.Flat ? sizeof(ulong) : 2 * sizeof(ulong);

    /// <summary>The exclusive end index of every group's range; never a real entry's index.</summary>
    public const ulong EndIndex = ulong.MaxValue;

    /// <summary>The separator between the group id and the label of a group-prefixed meta key.</summary>
    public const byte MetaSeparator = (byte)'/';

    /// <summary>
    /// The meta key of the store's key-space marker (<see cref="KeySpaceMarker"/>): one zero
    /// byte. No meta key of either key space is that short or starts with a zero byte and ends
    /// there (a flat label is ASCII text; a group-prefixed key is at least nine bytes), and a
    /// scan for group ids skips every key shorter than a group id.
    /// </summary>
    public static ReadOnlySpan<byte> KeySpaceMarkerKey => [0];

    private static ReadOnlySpan<byte> VoteLabel => "vote"u8;

    private static ReadOnlySpan<byte> CommittedLabel => "committed"u8;

    private static ReadOnlySpan<byte> LastPurgedLabel => "last_purged"u8;

    /// <summary>The ASCII bytes of <paramref name="label"/>.</summary>
    public static ReadOnlySpan<byte> LabelBytes(MetaLabel label) => label switch
    {
        MetaLabel.Vote => VoteLabel,
        MetaLabel.Committed => CommittedLabel,
        MetaLabel.LastPurged => LastPurgedLabel,
        _ => throw new ArgumentOutOfRangeException(nameof(label), label, "Unknown meta label."),
    };

    /// <summary>Writes the log key of (<paramref name="groupId"/>, <paramref name="index"/>) and returns its length.</summary>
    /// <remarks>In <see cref="LogKeySpace.Flat"/> the group id is not part of the key.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int WriteLogKey(Span<byte> destination, LogKeySpace space, ulong groupId, ulong index)
    {
        if (space == LogKeySpace.Flat)
        {
            BinaryPrimitives.WriteUInt64BigEndian(destination, index);
            return sizeof(ulong);
        }

        BinaryPrimitives.WriteUInt64BigEndian(destination, groupId);
        BinaryPrimitives.WriteUInt64BigEndian(destination[sizeof(ulong)..], index);
        return 2 * sizeof(ulong);
    }

    /// <summary>Writes the meta key of <paramref name="label"/> for <paramref name="groupId"/> and returns its length.</summary>
    public static int WriteMetaKey(Span<byte> destination, LogKeySpace space, ulong groupId, MetaLabel label)
    {
        var labelBytes = LabelBytes(label);
        if (space == LogKeySpace.Flat)
        {
            labelBytes.CopyTo(destination);
            return labelBytes.Length;
        }

        BinaryPrimitives.WriteUInt64BigEndian(destination, groupId);
        destination[sizeof(ulong)] = MetaSeparator;
        labelBytes.CopyTo(destination[(sizeof(ulong) + 1)..]);
        return sizeof(ulong) + 1 + labelBytes.Length;
    }

    /// <summary>
    /// Reads the label of a meta key of <paramref name="space"/> (the group id of a group-prefixed
    /// one is its first 8 bytes: <see cref="ReadGroupId"/>); false when the key is not a meta key
    /// of that space: the wrong length, no separator, or a label the store does not write.
    /// </summary>
    internal static bool TryReadMetaLabel(ReadOnlySpan<byte> key, LogKeySpace space, out MetaLabel label)
    {
        if (space == LogKeySpace.GroupPrefixed)
        {
            if (key.Length <= sizeof(ulong) + 1 || key[sizeof(ulong)] != MetaSeparator)
            {
                label = default;
                return false;
            }

            key = key[(sizeof(ulong) + 1)..];
        }

        foreach (var known in (ReadOnlySpan<MetaLabel>)[MetaLabel.Vote, MetaLabel.Committed, MetaLabel.LastPurged])
        {
            if (key.SequenceEqual(LabelBytes(known)))
            {
                label = known;
                return true;
            }
        }

        label = default;
        return false;
    }

    /// <summary>
    /// Writes the inclusive start and exclusive end of every meta key of <paramref name="groupId"/>
    /// (group-prefixed only): <c>group ‖ '/'</c> to <c>group ‖ '0'</c>.
    /// </summary>
    public static int WriteMetaRange(Span<byte> start, Span<byte> end, ulong groupId)
    {
        BinaryPrimitives.WriteUInt64BigEndian(start, groupId);
        start[sizeof(ulong)] = MetaSeparator;
        BinaryPrimitives.WriteUInt64BigEndian(end, groupId);
        end[sizeof(ulong)] = MetaSeparator + 1;
        return sizeof(ulong) + 1;
    }

    /// <summary>Reads the index from a log key.</summary>
    public static ulong ReadIndex(ReadOnlySpan<byte> key, LogKeySpace space)
    {
        Debug.Assert(key.Length == LogKeyLength(space), "a log key has the key space's length");
        return BinaryPrimitives.ReadUInt64BigEndian(space == LogKeySpace.Flat ? key : key[sizeof(ulong)..]);
    }

    /// <summary>Reads the group id from a group-prefixed key (log or meta).</summary>
    public static ulong ReadGroupId(ReadOnlySpan<byte> key) => BinaryPrimitives.ReadUInt64BigEndian(key);
}
