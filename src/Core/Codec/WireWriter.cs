using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace RaftToolkit.Core.Codec;

/// <summary>
/// Little-endian writes into an <see cref="IBufferWriter{T}"/>: the counterpart of
/// <see cref="WireReader"/>. Writing into a reused (pooled) buffer writer allocates nothing.
/// </summary>
public static class WireWriter
{
    /// <summary>Writes one byte.</summary>
    public static void WriteByte(IBufferWriter<byte> output, byte value)
    {
        output.GetSpan(1)[0] = value;
        output.Advance(1);
    }

    /// <summary>Writes a boolean as 0 or 1.</summary>
    public static void WriteBoolean(IBufferWriter<byte> output, bool value) => WriteByte(output, value ? (byte)1 : (byte)0);

    /// <summary>Writes a little-endian unsigned 32-bit integer.</summary>
    public static void WriteUInt32(IBufferWriter<byte> output, uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(output.GetSpan(sizeof(uint)), value);
        output.Advance(sizeof(uint));
    }

    /// <summary>Writes a little-endian unsigned 64-bit integer.</summary>
    public static void WriteUInt64(IBufferWriter<byte> output, ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(output.GetSpan(sizeof(ulong)), value);
        output.Advance(sizeof(ulong));
    }

    /// <summary>The most bytes <see cref="WriteVarUInt64(IBufferWriter{byte}, ulong)"/> writes: ten, for values of 2^63 and up.</summary>
    public const int MaxVarUInt64Length = 10;

    /// <summary>
    /// Writes an unsigned integer in LEB128 form: seven bits a byte, low bits first, the high bit
    /// set on every byte but the last. Values under 128 take one byte, so small numbers (terms,
    /// node ids) cost one or two bytes instead of eight.
    /// </summary>
    public static void WriteVarUInt64(IBufferWriter<byte> output, ulong value) =>
        output.Advance(WriteVarUInt64(output.GetSpan(MaxVarUInt64Length), value));

    /// <summary>
    /// Writes <paramref name="value"/> as <see cref="WriteVarUInt64(IBufferWriter{byte}, ulong)"/>
    /// does, at the start of <paramref name="destination"/>, and returns the bytes written: for a
    /// caller that fills one span with several fields and advances its writer once.
    /// </summary>
    /// <exception cref="IndexOutOfRangeException"><paramref name="destination"/> is shorter than the value needs.</exception>
    public static int WriteVarUInt64(Span<byte> destination, ulong value)
    {
        int length = 0;
        while (value >= 0x80)
        {
            destination[length++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[length++] = (byte)value;
        return length;
    }

    /// <summary>The bytes <see cref="WriteVarUInt64(IBufferWriter{byte}, ulong)"/> writes for <paramref name="value"/>.</summary>
    public static int VarUInt64Size(ulong value) => Math.Max(1, (64 - BitOperations.LeadingZeroCount(value) + 6) / 7);

    /// <summary>Writes raw bytes.</summary>
    public static void WriteBytes(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        if (!bytes.IsEmpty)
        {
            bytes.CopyTo(output.GetSpan(bytes.Length));
            output.Advance(bytes.Length);
        }
    }

    /// <summary>Writes a 32-bit length, then the bytes.</summary>
    public static void WriteLengthPrefixed(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        WriteUInt32(output, (uint)bytes.Length);
        WriteBytes(output, bytes);
    }

    /// <summary>Writes a length-prefixed UTF-8 string.</summary>
    /// <exception cref="ArgumentException"><paramref name="value"/> holds a lone surrogate, which UTF-8 cannot carry (it would read back as U+FFFD).</exception>
    public static void WriteString(IBufferWriter<byte> output, string value)
    {
        int length;
        try
        {
            length = WireReader.StrictUtf8.GetByteCount(value);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException("The string holds a lone surrogate, which UTF-8 cannot carry.", nameof(value), e);
        }

        WriteUInt32(output, (uint)length);
        if (length > 0)
        {
            WireReader.StrictUtf8.GetBytes(value, output.GetSpan(length));
            output.Advance(length);
        }
    }
}
