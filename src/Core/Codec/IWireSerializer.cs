using System.Buffers;

namespace RaftToolkit.Core.Codec;

/// <summary>
/// Writes and reads one type's payload (without the version byte, which <see cref="WireCodec"/>
/// adds). The toolkit's own types have hand-written serializers in <see cref="ModelFormats"/>;
/// application types (Node, AppData, AppDataResponse, SnapshotData) bring theirs through the
/// type configuration.
/// </summary>
/// <typeparam name="T">The serialized type.</typeparam>
public interface IWireSerializer<T>
{
    /// <summary>Appends <paramref name="value"/>'s payload to <paramref name="output"/>.</summary>
    void Write(IBufferWriter<byte> output, T value);

    /// <summary>
    /// Reads one value. Must throw only <see cref="CodecException"/> on bad input;
    /// <see cref="WireReader"/> does so for every short read.
    /// </summary>
    T Read(ref WireReader reader);
}
