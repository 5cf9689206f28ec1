using CommunityToolkit.HighPerformance.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using RaftToolkit.Core.Codec;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;

namespace RaftToolkit.Native.Records;

/// <summary>
/// The stored form of one log entry: <c>[format version: 1 byte | entry payload | checksum: u32 LE]</c>.
/// </summary>
/// <remarks>
/// The checksum is the low 32 bits of XxHash3 over the version byte and the payload, seeded with
/// the entry's index, so a record copied under another key fails its check as surely as a
/// flipped bit. A record failing the version, checksum or decoding check is reported as
/// <see cref="LogCorruptionException"/> and never returned as data.
/// </remarks>
public static class LogRecordFormat
{
    /// <summary>The format version written today.</summary>
    public const byte Version = 1;

    /// <summary>Bytes added around the payload: the version byte and the checksum.</summary>
    public const int Overhead = 1 + sizeof(uint);

    /// <summary>The exact stored size of <paramref name="entry"/>.</summary>
    public static int RecordSize(in Entry entry) => Overhead + ModelFormats.EntrySize(entry);

    /// <summary>Appends the record of <paramref name="entry"/> to <paramref name="output"/> and returns its length.</summary>
    public static int Encode(ArrayPoolBufferWriter<byte> output, in Entry entry)
    {
        int start = output.WrittenCount;
        WireWriter.WriteByte(output, Version);
        ModelFormats.WriteEntry(output, entry);
        uint checksum = Checksum(output.WrittenSpan[start..], entry.Index);
        WireWriter.WriteUInt32(output, checksum);
        return output.WrittenCount - start;
    }

    /// <summary>Decodes and verifies the record of <paramref name="groupId"/> stored at <paramref name="index"/>.</summary>
    /// <exception cref="LogCorruptionException">Wrong version, bad checksum, undecodable payload, or an entry of another index.</exception>
    public static Entry Decode(ReadOnlySpan<byte> record, ulong groupId, ulong index)
    {
        Verify(record, groupId, index);
        Entry entry;
        try
        {
            entry = WireCodec.Decode(Version, record[..^sizeof(uint)], ModelFormats.Entry);
        }
        catch (CodecException e)
        {
            throw new LogCorruptionException(groupId, index, $"the payload does not decode ({e.Message})");
        }

        if (entry.Index != index)
        {
            throw new LogCorruptionException(groupId, index, $"the record holds the entry of index {entry.Index}");
        }

        return entry;
    }

    /// <summary>Checks the version and checksum of a record without decoding it.</summary>
    /// <exception cref="LogCorruptionException">The check fails.</exception>
    public static void Verify(ReadOnlySpan<byte> record, ulong groupId, ulong index)
    {
        if (record.Length < Overhead)
        {
            throw new LogCorruptionException(groupId, index, $"the record is {record.Length} bytes long, shorter than its framing");
        }

        if (record[0] != Version)
        {
            throw new LogCorruptionException(groupId, index, $"format version {record[0]}, expected {Version}");
        }

        int payloadEnd = record.Length - sizeof(uint);
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(record[payloadEnd..]);
        uint actual = Checksum(record[..payloadEnd], index);
        if (stored != actual)
        {
            throw new LogCorruptionException(groupId, index, $"checksum mismatch (stored {stored:x8}, computed {actual:x8})");
        }
    }

    private static uint Checksum(ReadOnlySpan<byte> framed, ulong index) => (uint)XxHash3.HashToUInt64(framed, unchecked((long)index));
}
