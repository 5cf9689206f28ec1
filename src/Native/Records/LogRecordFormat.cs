using CommunityToolkit.HighPerformance.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using RaftToolkit.Core.Codec;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native.Keys;

namespace RaftToolkit.Native.Records;

/// <summary>
/// The stored form of one log entry (format version 3):
/// <c>[version: 1 byte | kind: 1 byte | term: varint | leader node: varint | body | checksum: u32 LE]</c>,
/// where the body is nothing for a blank entry, the application data (up to the checksum) for a
/// normal entry, and the membership's encoding for a membership entry.
/// </summary>
/// <remarks>
/// <para>The index is not stored: the key holds it. The checksum seals the record to its key: it
/// is the low 32 bits of XxHash3 over a normal entry's application data, seeded with the XxHash3
/// of everything else before the checksum (seeded with the index) combined with the group the
/// key names (0 in a flat key space). So a record copied under another index, or another group's
/// key, fails its check as surely as a flipped bit. A record failing the version, checksum or
/// decoding check is reported as <see cref="LogCorruptionException"/> and never returned as data.</para>
/// <para>Why the data is hashed on its own: the store hands RocksDB a normal entry's data, when
/// it is long (<see cref="Coalescing.WriteRequest.CallerDataMinBytes"/>), from where the caller
/// keeps it, between framing staged in its own buffer (see <see cref="EncodeFraming"/>). Copying each entry into a staging buffer first, and zeroing that
/// buffer for its next use, wrote every appended byte twice more, to memory a round of a thousand
/// appenders has long evicted from the cache.</para>
/// <para>Why this layout: a log entry is often small, and every byte of framing is written to the
/// WAL, the memtable and every compaction that rewrites it. Eight bytes frame an entry of a
/// small term and node (version, kind, one byte each for term and node, checksum); version 1
/// spent 34, on a full wire encoding with fixed-width ids, the index and a length prefix: 15 %
/// of what a 128-byte entry costs to store.</para>
/// <para>Older records are still read, so a database written by an earlier version opens as it
/// was: version 2 (this layout, its checksum over everything before it, seeded with the index) and
/// version 1.</para>
/// </remarks>
public static class LogRecordFormat
{
    /// <summary>The format version written today.</summary>
    public const byte Version = 3;

    /// <summary>The second format: this layout, its checksum seeded with the index only; read, no longer written.</summary>
    public const byte Version2 = 2;

    /// <summary>The first format: <c>[1 | wire encoding of the entry | checksum]</c>; read, no longer written.</summary>
    public const byte Version1 = 1;

    private const int ChecksumLength = sizeof(uint);

    /// <summary>Version, kind, and the two varints of the leader id, at their longest.</summary>
    private const int MaxHeaderLength = 2 + (2 * WireWriter.MaxVarUInt64Length);

    /// <summary>The exact stored size of <paramref name="entry"/>.</summary>
    public static int RecordSize(in Entry entry) => FramingSize(entry) + DataOf(entry).Length;

    /// <summary>The bytes of <paramref name="entry"/>'s record that <see cref="EncodeFraming"/> stages: all but a normal entry's data.</summary>
    public static int FramingSize(in Entry entry)
    {
        int body = entry.Kind == EntryKind.Membership ? ModelFormats.MembershipSize(entry.Membership!) : 0;
        var leader = entry.LogId.LeaderId;
        return 2 + WireWriter.VarUInt64Size(leader.Term) + WireWriter.VarUInt64Size(leader.NodeId) + body + ChecksumLength;
    }

    /// <summary>A normal entry's application data (empty for other kinds): the part of its record <see cref="EncodeFraming"/> leaves out.</summary>
    public static ReadOnlyMemory<byte> DataOf(in Entry entry) => entry.Kind == EntryKind.Normal ? entry.Data : default;

    /// <summary>
    /// Appends the record of <paramref name="entry"/>, stored in <paramref name="space"/> under
    /// <paramref name="groupId"/>, to <paramref name="output"/>, all but the entry's
    /// <see cref="DataOf">data</see>, and returns the length appended. The record is the first
    /// <paramref name="dataAt"/> bytes appended, then the data, then the rest.
    /// </summary>
    public static int EncodeFraming(ArrayPoolBufferWriter<byte> output, in Entry entry, LogKeySpace space, ulong groupId, out int dataAt) =>
        Write(output, entry, space, groupId, withData: false, out dataAt);

    /// <summary>Appends the whole record of <paramref name="entry"/>, stored in <paramref name="space"/> under <paramref name="groupId"/>, to <paramref name="output"/>, and returns its length.</summary>
    public static int Encode(ArrayPoolBufferWriter<byte> output, in Entry entry, LogKeySpace space, ulong groupId) =>
        Write(output, entry, space, groupId, withData: true, out _);

    /// <summary>The whole record of <paramref name="entry"/>, stored in <paramref name="space"/> under <paramref name="groupId"/>, in one array (for tools and tests).</summary>
    public static byte[] Encode(in Entry entry, LogKeySpace space, ulong groupId)
    {
        using var output = new ArrayPoolBufferWriter<byte>(RecordSize(entry));
        Encode(output, entry, space, groupId);
        return output.WrittenSpan.ToArray();
    }

    private static int Write(ArrayPoolBufferWriter<byte> output, in Entry entry, LogKeySpace space, ulong groupId, bool withData, out int dataAt)
    {
        int start = output.WrittenCount;
        var header = output.GetSpan(MaxHeaderLength);
        header[0] = Version;
        header[1] = (byte)entry.Kind;
        int headerLength = 2 + WireWriter.WriteVarUInt64(header[2..], entry.LogId.LeaderId.Term);
        headerLength += WireWriter.WriteVarUInt64(header[headerLength..], entry.LogId.LeaderId.NodeId);
        output.Advance(headerLength);
        if (entry.Kind == EntryKind.Membership)
        {
            ModelFormats.WriteMembership(output, entry.Membership!);
        }

        dataAt = output.WrittenCount - start;
        var data = DataOf(entry).Span;
        uint checksum = Checksum(output.WrittenSpan[start..], data, KeyGroup(space, groupId), entry.Index);
        if (withData)
        {
            WireWriter.WriteBytes(output, data);
        }

        WireWriter.WriteUInt32(output, checksum);
        return output.WrittenCount - start;
    }

    /// <summary>Decodes and verifies the record of <paramref name="groupId"/> stored in <paramref name="space"/> at <paramref name="index"/>.</summary>
    /// <exception cref="LogCorruptionException">Unknown version, bad checksum, undecodable body, or (version 1) an entry of another index.</exception>
    public static Entry Decode(ReadOnlySpan<byte> record, LogKeySpace space, ulong groupId, ulong index)
    {
        Verify(record, space, groupId, index);
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
    public static LogId DecodeLogId(ReadOnlySpan<byte> record, LogKeySpace space, ulong groupId, ulong index)
    {
        Verify(record, space, groupId, index);
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

    /// <summary>Checks the version and checksum of a record without decoding its body (a version 3 header is read to find where the data starts).</summary>
    /// <exception cref="LogCorruptionException">The check fails.</exception>
    public static void Verify(ReadOnlySpan<byte> record, LogKeySpace space, ulong groupId, ulong index)
    {
        // The shortest record of any version: a blank entry of term 0, node 0.
        const int ShortestRecord = 4 + ChecksumLength;
        if (record.Length < ShortestRecord)
        {
            throw new LogCorruptionException(groupId, index, $"the record is {record.Length} bytes long, shorter than its framing");
        }

        byte version = record[0];
        if (version is not (Version or Version2 or Version1))
        {
            throw new LogCorruptionException(groupId, index, $"format version {version}, expected {Version} (or {Version2} or {Version1})");
        }

        var sealedPart = record[..^ChecksumLength];
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(record[^ChecksumLength..]);
        uint actual;
        if (version == Version)
        {
            int dataAt = DataAt(sealedPart);
            actual = Checksum(sealedPart[..dataAt], sealedPart[dataAt..], KeyGroup(space, groupId), index);
        }
        else
        {
            actual = ChecksumBeforeVersion3(sealedPart, index);
        }

        if (stored != actual)
        {
            throw new LogCorruptionException(groupId, index, $"checksum mismatch (stored {stored:x8}, computed {actual:x8})");
        }
    }

    /// <summary>
    /// Where a normal entry's data starts in a version 3 record without its checksum: after the
    /// header; the end for other kinds, which keep their body in the framing.
    /// </summary>
    /// <remarks>Read before the checksum is checked: damage here moves the split, and the check
    /// fails as for any other damage. A header that does not even parse splits nothing off.</remarks>
    private static int DataAt(ReadOnlySpan<byte> sealedPart)
    {
        var reader = new WireReader(sealedPart[1..]);
        try
        {
            var (kind, _) = ReadHeader(ref reader);
            return kind == EntryKind.Normal ? sealedPart.Length - reader.Remaining : sealedPart.Length;
        }
        catch (CodecException)
        {
            return sealedPart.Length;
        }
    }

    /// <summary>The group a key of <paramref name="space"/> names: the group itself, or 0 where keys carry none.</summary>
    private static ulong KeyGroup(LogKeySpace space, ulong groupId) => space == LogKeySpace.GroupPrefixed ? groupId : 0;

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

    /// <summary>Version 3's checksum: the data's XxHash3, seeded with the framing's (itself seeded with the index) and the key's group.</summary>
    private static uint Checksum(ReadOnlySpan<byte> framing, ReadOnlySpan<byte> data, ulong keyGroup, ulong index)
    {
        ulong framingHash = XxHash3.HashToUInt64(framing, unchecked((long)index));
        return (uint)XxHash3.HashToUInt64(data, unchecked((long)(framingHash ^ keyGroup)));
    }

    /// <summary>Versions 1 and 2: XxHash3 of everything before the checksum, seeded with the index.</summary>
    private static uint ChecksumBeforeVersion3(ReadOnlySpan<byte> sealedPart, ulong index) => (uint)XxHash3.HashToUInt64(sealedPart, unchecked((long)index));
}
