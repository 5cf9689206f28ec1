using System.Buffers.Binary;
using System.IO.Hashing;
using CommunityToolkit.HighPerformance.Buffers;
using RaftToolkit.Core.Codec;
using RaftToolkit.Core.Model;
using RaftToolkit.Native.Keys;

namespace RaftToolkit.Native.Records;

/// <summary>
/// The stored form of the per-group meta values (format version 2):
/// <c>[version: 1 byte | payload | checksum: u32 LE]</c>, the payload being the wire codec's
/// encoding of a vote or an optional log id.
/// </summary>
/// <remarks>
/// <para>The checksum is the low 32 bits of XxHash3 over everything before it, seeded with the
/// value's label, so a flipped bit fails it, and so does a vote read as a committed id. Why a
/// checksum on a few bytes: the vote is what keeps a node from voting twice in a term, and a
/// decodable bit flip in it (a lower term, another candidate) would be silently believed.</para>
/// <para>Version 1 records (<c>[1 | payload]</c>, no checksum) are still read, so a database
/// written before version 2 opens as it was; each is rewritten in version 2 when its value is
/// next saved.</para>
/// </remarks>
public static class MetaRecordFormat
{
    /// <summary>The format version written today.</summary>
    public const byte Version = 2;

    /// <summary>The first format, without a checksum; read, no longer written.</summary>
    public const byte Version1 = 1;

    private const int ChecksumLength = sizeof(uint);

    /// <summary>Appends the record of <paramref name="vote"/> and returns its length.</summary>
    public static int EncodeVote(ArrayPoolBufferWriter<byte> output, Vote vote)
    {
        int start = output.WrittenCount;
        WireCodec.Encode(Version, vote, ModelFormats.Vote, output);
        return Seal(output, start, MetaLabel.Vote);
    }

    /// <summary>Appends the record of a log id (committed, last purged) and returns its length.</summary>
    public static int EncodeLogId(ArrayPoolBufferWriter<byte> output, LogId? logId, MetaLabel label)
    {
        int start = output.WrittenCount;
        WireCodec.Encode(Version, logId, ModelFormats.OptionalLogId, output);
        return Seal(output, start, label);
    }

    /// <summary>Decodes a stored vote.</summary>
    /// <exception cref="MetaRecordCorruptionException">Unknown version, bad checksum, or the record does not decode.</exception>
    public static Vote DecodeVote(ReadOnlySpan<byte> record, ulong groupId)
    {
        try
        {
            var framed = Verified(record, MetaLabel.Vote);
            return WireCodec.Decode(framed[0], framed, ModelFormats.Vote);
        }
        catch (CodecException e)
        {
            throw new MetaRecordCorruptionException(groupId, MetaLabel.Vote, e);
        }
    }

    /// <summary>Decodes a stored log id.</summary>
    /// <exception cref="MetaRecordCorruptionException">Unknown version, bad checksum, or the record does not decode.</exception>
    public static LogId? DecodeLogId(ReadOnlySpan<byte> record, ulong groupId, MetaLabel label)
    {
        try
        {
            var framed = Verified(record, label);
            return WireCodec.Decode(framed[0], framed, ModelFormats.OptionalLogId);
        }
        catch (CodecException e)
        {
            throw new MetaRecordCorruptionException(groupId, label, e);
        }
    }

    /// <summary>Appends the checksum of the record begun at <paramref name="start"/>; returns the record's length.</summary>
    private static int Seal(ArrayPoolBufferWriter<byte> output, int start, MetaLabel label)
    {
        uint checksum = Checksum(output.WrittenSpan[start..], label);
        WireWriter.WriteUInt32(output, checksum);
        return output.WrittenCount - start;
    }

    /// <summary>The record's <c>[version | payload]</c>, after checking the version and (version 2) the checksum.</summary>
    /// <exception cref="CodecException">The record is empty, of an unknown version, too short, or fails its checksum.</exception>
    private static ReadOnlySpan<byte> Verified(ReadOnlySpan<byte> record, MetaLabel label)
    {
        if (record.IsEmpty)
        {
            throw new CodecException(CodecErrorKind.Empty, "The record is empty.");
        }

        switch (record[0])
        {
            case Version1:
                return record;
            case Version:
                if (record.Length <= ChecksumLength)
                {
                    throw new CodecException(CodecErrorKind.Truncated, $"The record is {record.Length} bytes long, shorter than its framing.");
                }

                var framed = record[..^ChecksumLength];
                uint stored = BinaryPrimitives.ReadUInt32LittleEndian(record[^ChecksumLength..]);
                uint actual = Checksum(framed, label);
                return stored == actual
                    ? framed
                    : throw new CodecException(CodecErrorKind.Invalid, $"Checksum mismatch (stored {stored:x8}, computed {actual:x8}).");
            default:
                throw CodecException.VersionMismatch(Version, record[0]);
        }
    }

    private static uint Checksum(ReadOnlySpan<byte> framed, MetaLabel label) => (uint)XxHash3.HashToUInt64(framed, (long)label + 1);
}
