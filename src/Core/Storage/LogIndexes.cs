namespace RaftToolkit.Core.Storage;

/// <summary>The range of log indexes a store takes.</summary>
public static class LogIndexes
{
    /// <summary>
    /// The largest index a log entry, a purge or a truncation may name: <c>2^64 − 3</c>. The two
    /// values above it bound key ranges (the end of a group's log, and the one past it), and an
    /// index past the last one would wrap when a store computes the next.
    /// </summary>
    public const ulong Max = ulong.MaxValue - 2;

    /// <summary>Throws unless <paramref name="index"/> is at most <see cref="Max"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is above <see cref="Max"/>.</exception>
    public static void ThrowIfOutOfRange(ulong index, string paramName)
    {
        if (index > Max)
        {
            throw new ArgumentOutOfRangeException(paramName, index, $"Log indexes up to {Max} are supported; the values above bound key ranges.");
        }
    }

    /// <summary>Throws unless <paramref name="index"/>, addressed in <paramref name="groupId"/>'s log, is at most <see cref="Max"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is above <see cref="Max"/>; the message names the group and the index.</exception>
    public static void ThrowIfOutOfRange(ulong groupId, ulong index, string paramName)
    {
        if (index > Max)
        {
            throw new ArgumentOutOfRangeException(paramName, index, $"Group {groupId}: log index {index} is past {Max}, the largest a log takes; the values above bound key ranges.");
        }
    }
}
