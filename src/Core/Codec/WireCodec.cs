using System.Buffers;
using CommunityToolkit.HighPerformance.Buffers;

namespace RaftToolkit.Core.Codec;

/// <summary>
/// The framing every stored or sent value uses: <c>[format version: 1 byte | payload]</c>.
/// Decoding checks the version, reads exactly one value and rejects leftovers, so a value is
/// either decoded whole or refused with a <see cref="CodecException"/> naming why.
/// </summary>
public static class WireCodec
{
    /// <summary>Appends <c>[version | payload]</c> to <paramref name="output"/>.</summary>
    public static void Encode<T>(byte version, T value, IWireSerializer<T> serializer, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(serializer);
        ArgumentNullException.ThrowIfNull(output);
        WireWriter.WriteByte(output, version);
        serializer.Write(output, value);
    }

    /// <summary>Returns <c>[version | payload]</c> as a new array (for cold paths and tests).</summary>
    public static byte[] Encode<T>(byte version, T value, IWireSerializer<T> serializer)
    {
        using var buffer = new ArrayPoolBufferWriter<byte>(256);
        Encode(version, value, serializer, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Decodes one value framed with <paramref name="expectedVersion"/>.</summary>
    /// <exception cref="CodecException">Empty input, another version, a truncated or invalid payload, or trailing bytes.</exception>
    public static T Decode<T>(byte expectedVersion, ReadOnlySpan<byte> bytes, IWireSerializer<T> serializer)
    {
        ArgumentNullException.ThrowIfNull(serializer);
        if (bytes.IsEmpty)
        {
            throw new CodecException(CodecErrorKind.Empty, "Nothing to decode: the input is empty.");
        }

        if (bytes[0] != expectedVersion)
        {
            throw CodecException.VersionMismatch(expectedVersion, bytes[0]);
        }

        var reader = new WireReader(bytes[1..]);
        T value = Read(serializer, ref reader);
        if (reader.Remaining != 0)
        {
            throw new CodecException(CodecErrorKind.TrailingBytes, $"{reader.Remaining} trailing bytes after a {typeof(T).Name} of {reader.Consumed} bytes.");
        }

        return value;
    }

    /// <summary>
    /// Reads one value with <paramref name="serializer"/>. An application serializer that throws
    /// its own error type for bad bytes still surfaces as the codec's typed error, so callers
    /// handle one exception type for them.
    /// </summary>
    /// <exception cref="CodecException">The bytes are not a valid <typeparamref name="T"/>.</exception>
    internal static T Read<T>(IWireSerializer<T> serializer, ref WireReader reader)
    {
        try
        {
            return serializer.Read(ref reader);
        }
        catch (CodecException)
        {
            throw;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or OverflowException or IndexOutOfRangeException)
        {
            throw new CodecException(CodecErrorKind.Invalid, $"The payload is not a valid {typeof(T).Name}: {e.Message}", e);
        }
    }

    /// <summary>Decodes one value from a (possibly multi-segment) network frame.</summary>
    public static T Decode<T>(byte expectedVersion, in ReadOnlySequence<byte> bytes, IWireSerializer<T> serializer)
    {
        if (bytes.IsSingleSegment)
        {
            return Decode(expectedVersion, bytes.FirstSpan, serializer);
        }

        // A frame split over segments is copied once into a pooled buffer; the common single
        // segment case above decodes in place.
        if (bytes.Length > Array.MaxLength)
        {
            throw new CodecException(CodecErrorKind.Invalid, $"A frame of {bytes.Length:N0} bytes is larger than any value this codec decodes.");
        }

        using var owner = MemoryOwner<byte>.Allocate((int)bytes.Length);
        bytes.CopyTo(owner.Span);
        return Decode(expectedVersion, owner.Span, serializer);
    }
}
