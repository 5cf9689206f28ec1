using System.Buffers;
using RaftToolkit.Core.Codec;

namespace RaftToolkit.Testing.KeyValue;

/// <summary>
/// A key-value snapshot in its serialized form: a count, then (key, value) pairs sorted by
/// key. A received snapshot is written into one chunk by chunk (<see cref="Append"/>), then
/// decoded once, at install time (<see cref="ReadPairs"/>).
/// </summary>
/// <remarks>Not thread-safe: one receiver fills it.</remarks>
public sealed class KvSnapshot
{
    private readonly ArrayBufferWriter<byte> _bytes = new();

    /// <summary>Serializes snapshots as their length-prefixed bytes.</summary>
    public static IWireSerializer<KvSnapshot> Serializer { get; } = new SnapshotSerializer();

    /// <summary>The snapshot's bytes so far.</summary>
    public ReadOnlyMemory<byte> Bytes => _bytes.WrittenMemory;

    /// <summary>A snapshot of <paramref name="pairs"/>.</summary>
    public static KvSnapshot Capture(IEnumerable<KeyValuePair<string, string>> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var sorted = new List<KeyValuePair<string, string>>(pairs);
        sorted.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        var snapshot = new KvSnapshot();
        WireWriter.WriteUInt32(snapshot._bytes, (uint)sorted.Count);
        foreach (var (key, value) in sorted)
        {
            WireWriter.WriteString(snapshot._bytes, key);
            WireWriter.WriteString(snapshot._bytes, value);
        }

        return snapshot;
    }

    /// <summary>Adds the next received chunk.</summary>
    public void Append(ReadOnlySpan<byte> chunk) => WireWriter.WriteBytes(_bytes, chunk);

    /// <summary>Decodes the pairs.</summary>
    /// <exception cref="CodecException">The bytes are not a complete, valid snapshot.</exception>
    public Dictionary<string, string> ReadPairs()
    {
        var reader = new WireReader(_bytes.WrittenSpan);
        int count = reader.ReadCount(2 * sizeof(uint));
        var pairs = new Dictionary<string, string>(count, StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            string key = reader.ReadString();
            if (!pairs.TryAdd(key, reader.ReadString()))
            {
                throw WireReader.Invalid($"Key '{key}' appears twice in a snapshot.");
            }
        }

        if (reader.Remaining != 0)
        {
            throw new CodecException(CodecErrorKind.TrailingBytes, $"{reader.Remaining} trailing bytes after a key-value snapshot.");
        }

        return pairs;
    }

    private sealed class SnapshotSerializer : IWireSerializer<KvSnapshot>
    {
        public void Write(IBufferWriter<byte> output, KvSnapshot value) => WireWriter.WriteLengthPrefixed(output, value._bytes.WrittenSpan);

        public KvSnapshot Read(ref WireReader reader)
        {
            var snapshot = new KvSnapshot();
            snapshot.Append(reader.ReadLengthPrefixed());
            return snapshot;
        }
    }
}
