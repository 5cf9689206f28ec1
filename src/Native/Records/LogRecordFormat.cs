using CommunityToolkit.HighPerformance.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using RaftToolkit.Core.Codec;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;

namespace RaftToolkit.Native.Records;

/// <summary>
/// The stored form of one log entry (format version 2):
/// <c>[version: 1 byte | kind: 1 byte | term: varint | leader node: varint | body | checksum: u32 LE]</c>,
/// where the body is nothing for a blank entry, the application data (up to the checksum) for a
/// normal entry, and the membership's encoding for a membership entry.
/// </summary>
/// <remarks>
/// <para>The index is not stored: the key holds it. The checksum is the low 32 bits of XxHash3
/// over everything before it, seeded with the index, so a record copied under another key fails
/// its check as surely as a flipped bit. A record failing the version, checksum or decoding check
/// is reported as <see cref="LogCorruptionException"/> and never returned as data.</para>
/// <para>Why this layout: a log entry is often small, and every byte of framing is written to the
/// WAL, the memtable and every compaction that rewrites it. Eight bytes frame an entry of a
/// small term and node (version, kind, one byte each for term and node, checksum); version 1
/// spent 34, on a full wire encoding with fixed-width ids, the index and a length prefix: 15 %
/// of what a 128-byte entry costs to store.</para>
/// <para>Version 1 records are still read, so a database written before version 2 opens as it was.</para>
/// </remarks>
public static class LogRecordFormat
{
    /// <summary>The format version written today.</summary>
    public const byte Version = 2;

    /// <summary>The first format: <c>[1 | wire encoding of the entry | checksum]</c>; read, no longer written.</summary>
    public const byte Version1 = 1;

    private const int ChecksumLength = sizeof(uint);

    /// <summary>Version, kind, and the two varints of the leader id, at their longest.</summary>
    private const int MaxHeaderLength = 2 + (2 * WireWriter.MaxVarUInt64Length);

    /// <summary>The exact stored size of <paramref name="entry"/>.</summary>
    public static int RecordSize(in Entry entry)
    {
        int body = entry.Kind switch
        {
            EntryKind.Normal => entry.Data.Length,
            EntryKind.Membership => ModelFormats.MembershipSize(entry.Membership!),
            _ => 0,
        };
        var leader = entry.LogId.LeaderId;
        return 2 + WireWriter.VarUInt64Size(leader.Term) + WireWriter.VarUInt64Size(leader.NodeId) + body + ChecksumLength;
    }

    /// <summary>Appends the record of <paramref name="entry"/> to <paramref name="output"/> and returns its length.</summary>
    public static int Encode(ArrayPoolBufferWriter<byte> output, in Entry entry)
    {
        int start = output.WrittenCount;
        var header = output.GetSpan(MaxHeaderLength);
        header[0] = Version;
        header[1] = (byte)entry.Kind;
        int headerLength = 2 + WireWriter.WriteVarUInt64(header[2..], entry.LogId.LeaderId.Term);
        headerLength += WireWriter.WriteVarUInt64(header[headerLength..], entry.LogId.LeaderId.NodeId);
        output.Advance(headerLength);
        switch (entry.Kind)
        {
            case EntryKind.Normal:
                WireWriter.WriteBytes(output, entry.Data.Span);
                break;
            case EntryKind.Membership:
                ModelFormats.WriteMembership(output, entry.Membership!);
                break;
        }

        uint checksum = Checksum(output.WrittenSpan[start..], entry.Index);
        WireWriter.WriteUInt32(output, checksum);
        return output.WrittenCount - start;
    }

    /// <summary>Decodes and verifies the record of <paramref name="groupId"/> stored at <paramref name="index"/>.</summary>
    /// <exception cref="LogCorruptionException">Unknown version, bad checksum, undecodable body, or (version 1) an entry of another index.</exception>
    public static Entry Decode(ReadOnlySpan<byte> record, ulong groupId, ulong index)
    {
        Verify(record, groupId, index);
        if (record[0] == Version1)
        {
            return DecodeVersion1(record, groupId, index);
        }

        try
        {
            var reader = new WireReader(record[1..^ChecksumLength]);
            var (kind, leader) = ReadHeader(ref reader);
            var logId = new LogId(leader, index);
            switch (kind)
            {
                case EntryKind.Blank:
                    ExpectEnd(ref reader);
                    return Entry.Blank(logId);
                case EntryKind.Normal:
                    return Entry.Normal(logId, reader.ReadRemaining().ToArray());
                default:
                    var membership = ModelFormats.ReadMembership(ref reader);
                    ExpectEnd(ref reader);
                    return Entry.ForMembership(logId, membership);
            }
        }
        catch (CodecException e)
        {
            throw Undecodable(groupId, index, e);
        }
    }

    /// <summary>Reads only the id of the entry stored at <paramref name="index"/>, after verifying the whole record.</summary>
    /// <exception cref="LogCorruptionException">As for <see cref="Decode"/>.</exception>
    public static LogId DecodeLogId(ReadOnlySpan<byte> record, ulong groupId, ulong index)
    {
        Verify(record, groupId, index);
        if (record[0] == Version1)
        {
            return DecodeVersion1(record, groupId, index).LogId;
        }

        try
        {
            var reader = new WireReader(record[1..^ChecksumLength]);
            return new LogId(ReadHeader(ref reader).Leader, index);
        }
        catch (CodecException e)
        {
            throw Undecodable(groupId, index, e);
        }
    }

    /// <summary>Checks the version and checksum of a record without decoding it.</summary>
    /// <exception cref="LogCorruptionException">The check fails.</exception>
    public static void Verify(ReadOnlySpan<byte> record, ulong groupId, ulong index)
    {
        // The shortest record of either version: version 2's blank entry of term 0, node 0.
        const int ShortestRecord = 4 + ChecksumLength;
        if (record.Length < ShortestRecord)
        {
            throw new LogCorruptionException(groupId, index, $"the record is {record.Length} bytes long, shorter than its framing");
        }

        if (record[0] is not (Version or Version1))
        {
            throw new LogCorruptionException(groupId, index, $"format version {record[0]}, expected {Version} (or {Version1})");
        }

        int payloadEnd = record.Length - ChecksumLength;
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(record[payloadEnd..]);
        uint actual = Checksum(record[..payloadEnd], index);
        if (stored != actual)
        {
            throw new LogCorruptionException(groupId, index, $"checksum mismatch (stored {stored:x8}, computed {actual:x8})");
        }
    }

    /// <summary>Reads the kind (one of the three known) and the leader id that follow the version byte.</summary>
    private static (EntryKind Kind, LeaderId Leader) ReadHeader(ref WireReader reader)
    {
        var kind = (EntryKind)reader.ReadByte();
        if (kind is not (EntryKind.Blank or EntryKind.Normal or EntryKind.Membership))
        {
            throw WireReader.Invalid($"Unknown entry kind {(byte)kind}.");
        }

        return (kind, new LeaderId(reader.ReadVarUInt64(), reader.ReadVarUInt64()));
    }

    private static LogCorruptionException Undecodable(ulong groupId, ulong index, CodecException error) =>
        new(groupId, index, $"the payload does not decode ({error.Message})");

    private static void ExpectEnd(ref WireReader reader)
    {
        if (reader.Remaining != 0)
        {
            throw new CodecException(CodecErrorKind.TrailingBytes, $"{reader.Remaining} bytes follow the entry.");
        }
    }

    private static Entry DecodeVersion1(ReadOnlySpan<byte> record, ulong groupId, ulong index)
    {
        Entry entry;
        try
        {
            entry = WireCodec.Decode(Version1, record[..^ChecksumLength], ModelFormats.Entry);
        }
        catch (CodecException e)
        {
            throw Undecodable(groupId, index, e);
        }

        if (entry.Index != index)
        {
            throw new LogCorruptionException(groupId, index, $"the record holds the entry of index {entry.Index}");
        }

        return entry;
    }

    private static uint Checksum(ReadOnlySpan<byte> framed, ulong index) => (uint)XxHash3.HashToUInt64(framed, unchecked((long)index));
}
