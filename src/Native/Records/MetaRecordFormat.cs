using CommunityToolkit.HighPerformance.Buffers;
using RaftToolkit.Core.Codec;
using RaftToolkit.Core.Model;
using RaftToolkit.Native.Keys;

namespace RaftToolkit.Native.Records;

/// <summary>
/// The stored form of the per-group meta values: <c>[format version: 1 byte | payload]</c>, the
/// payload being the wire codec's encoding of a vote or an optional log id.
/// </summary>
public static class MetaRecordFormat
{
    /// <summary>The format version written today.</summary>
    public const byte Version = 1;

    /// <summary>Appends the record of <paramref name="vote"/> and returns its length.</summary>
    public static int EncodeVote(ArrayPoolBufferWriter<byte> output, Vote vote)
    {
        int start = output.WrittenCount;
        WireCodec.Encode(Version, vote, ModelFormats.Vote, output);
        return output.WrittenCount - start;
    }

    /// <summary>Appends the record of a log id (committed, last purged) and returns its length.</summary>
    public static int EncodeLogId(ArrayPoolBufferWriter<byte> output, LogId? logId)
    {
        int start = output.WrittenCount;
        WireCodec.Encode(Version, logId, ModelFormats.OptionalLogId, output);
        return output.WrittenCount - start;
    }

    /// <summary>Decodes a stored vote.</summary>
    /// <exception cref="MetaRecordCorruptionException">The record does not decode.</exception>
    public static Vote DecodeVote(ReadOnlySpan<byte> record, ulong groupId)
    {
        try
        {
            return WireCodec.Decode(Version, record, ModelFormats.Vote);
        }
        catch (CodecException e)
        {
            throw new MetaRecordCorruptionException(groupId, MetaLabel.Vote, e);
        }
    }

    /// <summary>Decodes a stored log id.</summary>
    /// <exception cref="MetaRecordCorruptionException">The record does not decode.</exception>
    public static LogId? DecodeLogId(ReadOnlySpan<byte> record, ulong groupId, MetaLabel label)
    {
        try
        {
            return WireCodec.Decode(Version, record, ModelFormats.OptionalLogId);
        }
        catch (CodecException e)
        {
            throw new MetaRecordCorruptionException(groupId, label, e);
        }
    }
}
