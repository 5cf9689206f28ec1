using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text;

namespace RaftToolkit.Core.Codec;

/// <summary>
/// Reads little-endian primitives from a span. Every read checks the length first and throws a
/// <see cref="CodecException"/> (Truncated) rather than an index error, so decoders built on it
/// fail with the codec's typed error and nothing else.
/// </summary>
public ref struct WireReader
{
    private readonly ReadOnlySpan<byte> _buffer;
    private int _position;

    /// <summary>Reads from <paramref name="buffer"/>.</summary>
    public WireReader(ReadOnlySpan<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    /// <summary>Bytes not read yet.</summary>
    public readonly int Remaining => _buffer.Length - _position;

    /// <summary>Bytes read so far.</summary>
    public readonly int Consumed => _position;

    /// <summary>Reads one byte.</summary>
    public byte ReadByte() => Take(1)[0];

    /// <summary>Reads a boolean stored as 0 or 1; any other value is Invalid.</summary>
    public bool ReadBoolean()
    {
        byte value = ReadByte();
        return value switch
        {
            0 => false,
            1 => true,
            _ => throw Invalid($"Expected a boolean (0 or 1), found {value}."),
        };
    }

    /// <summary>Reads a little-endian unsigned 32-bit integer.</summary>
    public uint ReadUInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(sizeof(uint)));

    /// <summary>Reads a little-endian unsigned 64-bit integer.</summary>
    public ulong ReadUInt64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(sizeof(ulong)));

    /// <summary>
    /// Reads an unsigned integer written by <see cref="WireWriter.WriteVarUInt64(System.Buffers.IBufferWriter{byte}, ulong)"/>. A value
    /// that runs past ten bytes or past 64 bits is Invalid; a padded form (a zero high group, as
    /// in <c>80 00</c> for zero) is read as its value.
    /// </summary>
    public ulong ReadVarUInt64()
    {
        ulong value = 0;
        for (int shift = 0; shift < 63; shift += 7)
        {
            byte group = ReadByte();
            value |= (ulong)(group & 0x7F) << shift;
            if (group < 0x80)
            {
                return value;
            }
        }

        // Nine groups carried 63 bits; the tenth may only carry the last one, and must end.
        byte last = ReadByte();
        if (last > 1)
        {
            throw Invalid($"A variable-length integer does not fit 64 bits (its tenth byte is {last}).");
        }

        return value | ((ulong)last << 63);
    }

    /// <summary>Reads a 32-bit length and checks that so many items of <paramref name="itemSize"/> bytes can follow.</summary>
    public int ReadCount(int itemSize)
    {
        uint count = ReadUInt32();
        if ((ulong)count * (ulong)Math.Max(itemSize, 1) > (ulong)Remaining)
        {
            throw Truncated(checked((int)Math.Min(count * (ulong)Math.Max(itemSize, 1), int.MaxValue)));
        }

        return (int)count;
    }

    /// <summary>Reads <paramref name="length"/> raw bytes (a view into the source).</summary>
    public ReadOnlySpan<byte> ReadBytes(int length)
    {
        if (length < 0)
        {
            throw Invalid($"Negative length {length}.");
        }

        return Take(length);
    }

    /// <summary>Reads a 32-bit length, then that many bytes (a view into the source).</summary>
    public ReadOnlySpan<byte> ReadLengthPrefixed() => Take(ReadCount(1));

    /// <summary>
    /// UTF-8 that throws on invalid bytes (decoding) or a lone surrogate (encoding) instead of
    /// substituting U+FFFD, so that what is written reads back exactly; shared, as encodings are
    /// thread-safe.
    /// </summary>
    internal static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Reads a length-prefixed UTF-8 string.</summary>
    public string ReadString()
    {
        var bytes = ReadLengthPrefixed();
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new CodecException(CodecErrorKind.Invalid, "A string is not valid UTF-8.", e);
        }
    }

    /// <summary>Reads every byte left.</summary>
    public ReadOnlySpan<byte> ReadRemaining() => Take(Remaining);

    /// <summary>A typed error for bytes that are complete but not a valid value.</summary>
    public static CodecException Invalid(string message) => new(CodecErrorKind.Invalid, message);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<byte> Take(int length)
    {
        if (length > Remaining)
        {
            ThrowTruncated(length);
        }

        var slice = _buffer.Slice(_position, length);
        _position += length;
        return slice;
    }

    private readonly CodecException Truncated(int needed) =>
        new(CodecErrorKind.Truncated, $"Payload truncated: needed {needed} more bytes at offset {_position}, {Remaining} left.");

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly void ThrowTruncated(int needed) => throw Truncated(needed);
}
