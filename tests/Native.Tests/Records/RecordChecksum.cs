using System.Buffers.Binary;
using System.IO.Hashing;

namespace RaftToolkit.Native.Tests.Records;

/// <summary>The log record checksum, restated from its definition so tests can build records by hand.</summary>
internal static class RecordChecksum
{
    /// <summary>
    /// Rewrites the last four bytes of <paramref name="record"/> to the checksum of everything
    /// before them under <paramref name="index"/> (XxHash3 seeded with the index, low 32 bits,
    /// little-endian), and returns the record: a deliberately malformed body then passes the
    /// checksum check and reaches the decoder.
    /// </summary>
    public static byte[] Reseal(byte[] record, ulong index)
    {
        uint checksum = (uint)XxHash3.HashToUInt64(record.AsSpan(0, record.Length - sizeof(uint)), unchecked((long)index));
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(record.Length - sizeof(uint)), checksum);
        return record;
    }
}
