using System.Buffers.Binary;
using System.IO.Hashing;

namespace RaftToolkit.Native.Tests.Records;

/// <summary>The log record checksums, restated from their definitions so tests can build records by hand.</summary>
internal static class RecordChecksum
{
    /// <summary>
    /// Rewrites the last four bytes of a version 3 <paramref name="record"/> to its checksum when
    /// stored at <paramref name="index"/> under a key naming <paramref name="keyGroup"/> (0 in a
    /// flat key space), and returns the record: a deliberately malformed body then passes the
    /// checksum check and reaches the decoder.
    /// </summary>
    /// <remarks>
    /// Version 3: a normal entry's data (what follows the version, kind and two varints of the
    /// leader id) is hashed with XxHash3, seeded with the XxHash3 of the bytes before it (seeded
    /// with the index) XOR the group; any other kind's data is empty, and every byte before the
    /// checksum is framing. Low 32 bits, little-endian.
    /// </remarks>
    public static byte[] Reseal(byte[] record, ulong keyGroup, ulong index)
    {
        var sealedPart = record.AsSpan(0, record.Length - sizeof(uint));
        int dataAt = sealedPart.Length;
        if (record[1] == 1 && VarintLength(sealedPart[2..]) is > 0 and var term && VarintLength(sealedPart[(2 + term)..]) is > 0 and var node)
        {
            dataAt = 2 + term + node;
        }

        ulong framing = XxHash3.HashToUInt64(sealedPart[..dataAt], unchecked((long)index));
        uint checksum = (uint)XxHash3.HashToUInt64(sealedPart[dataAt..], unchecked((long)(framing ^ keyGroup)));
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(record.Length - sizeof(uint)), checksum);
        return record;
    }

    /// <summary>
    /// Rewrites the last four bytes of a version 1 or 2 <paramref name="record"/> to the checksum
    /// of everything before them under <paramref name="index"/> (XxHash3 seeded with the index,
    /// low 32 bits, little-endian), and returns the record.
    /// </summary>
    public static byte[] ResealBeforeVersion3(byte[] record, ulong index)
    {
        uint checksum = (uint)XxHash3.HashToUInt64(record.AsSpan(0, record.Length - sizeof(uint)), unchecked((long)index));
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(record.Length - sizeof(uint)), checksum);
        return record;
    }

    /// <summary>
    /// The length of the LEB128 varint of a 64-bit value at the start of <paramref name="bytes"/>;
    /// 0 when there is none (cut short, or past 64 bits), and then no data is split off.
    /// </summary>
    private static int VarintLength(ReadOnlySpan<byte> bytes)
    {
        for (int length = 1; length <= Math.Min(bytes.Length, 10); length++)
        {
            byte current = bytes[length - 1];
            if ((current & 0x80) == 0)
            {
                return length < 10 || current <= 1 ? length : 0;
            }
        }

        return 0;
    }
}
