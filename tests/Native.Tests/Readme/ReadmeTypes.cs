// The README's "Type configuration" example opens with its own using directives, as a user's
// file would. Usings can only follow a namespace declaration inside a block-scoped one, so this
// file, unlike the project's others, declares its namespace with a block: the example stays
// word for word what the README shows, and its types stay out of the global namespace, where
// `KvSnapshot` would shadow the test kit's in every file of this project.
namespace RaftToolkit.Native.Tests.Readme
{
    #region readme-type-configuration
    using System.Buffers;
    using RaftToolkit.Core.Codec;
    using RaftToolkit.Core.Types;

    public readonly record struct Node(string Address);
    public readonly record struct Put(string Key, string Value);
    public readonly record struct PutResult(string? Previous);
    public sealed record KvSnapshot(IReadOnlyDictionary<string, string> Data);

    public sealed class KvTypes : RaftTypeConfig<Node, Put, PutResult, KvSnapshot>
    {
        public override IWireSerializer<Node> Node => NodeSerializer.Instance;
        public override IWireSerializer<Put> AppData => PutSerializer.Instance;
        public override IWireSerializer<PutResult> AppDataResponse => PutResultSerializer.Instance;
        public override IWireSerializer<KvSnapshot> SnapshotData => KvSnapshotSerializer.Instance;
    }

    // A serializer writes with WireWriter into a (pooled) IBufferWriter<byte> and reads with a
    // WireReader, which turns every short read into a typed CodecException.
    public sealed class PutSerializer : IWireSerializer<Put>
    {
        public static PutSerializer Instance { get; } = new();

        public void Write(IBufferWriter<byte> output, Put value)
        {
            WireWriter.WriteString(output, value.Key);
            WireWriter.WriteString(output, value.Value);
        }

        public Put Read(ref WireReader reader) => new(reader.ReadString(), reader.ReadString());
    }
    #endregion

    // The serializers the example names but leaves to the reader, written the way it shows.

    public sealed class NodeSerializer : IWireSerializer<Node>
    {
        public static NodeSerializer Instance { get; } = new();

        public void Write(IBufferWriter<byte> output, Node value) => WireWriter.WriteString(output, value.Address);

        public Node Read(ref WireReader reader) => new(reader.ReadString());
    }

    public sealed class PutResultSerializer : IWireSerializer<PutResult>
    {
        public static PutResultSerializer Instance { get; } = new();

        public void Write(IBufferWriter<byte> output, PutResult value)
        {
            WireWriter.WriteBoolean(output, value.Previous is not null);
            if (value.Previous is { } previous)
            {
                WireWriter.WriteString(output, previous);
            }
        }

        public PutResult Read(ref WireReader reader) => new(reader.ReadBoolean() ? reader.ReadString() : null);
    }

    public sealed class KvSnapshotSerializer : IWireSerializer<KvSnapshot>
    {
        public static KvSnapshotSerializer Instance { get; } = new();

        public void Write(IBufferWriter<byte> output, KvSnapshot value)
        {
            WireWriter.WriteUInt32(output, (uint)value.Data.Count);
            foreach (var (key, data) in value.Data)
            {
                WireWriter.WriteString(output, key);
                WireWriter.WriteString(output, data);
            }
        }

        public KvSnapshot Read(ref WireReader reader)
        {
            int count = reader.ReadCount(2 * sizeof(uint));
            var data = new Dictionary<string, string>(count, StringComparer.Ordinal);
            for (int i = 0; i < count; i++)
            {
                string key = reader.ReadString();
                if (!data.TryAdd(key, reader.ReadString()))
                {
                    throw WireReader.Invalid($"Key '{key}' appears twice in a snapshot.");
                }
            }

            return new KvSnapshot(data);
        }
    }
}
