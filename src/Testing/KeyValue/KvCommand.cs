using System.Buffers;
using RaftToolkit.Core.Codec;

namespace RaftToolkit.Testing.KeyValue;

/// <summary>What a <see cref="KvCommand"/> does.</summary>
public enum KvOperation : byte
{
    /// <summary>Sets a key to a value.</summary>
    Set = 1,

    /// <summary>Reads a key (through the log, so the read is linearizable).</summary>
    Get = 2,

    /// <summary>Deletes a key.</summary>
    Delete = 3,
}

/// <summary>A proposal to the key-value state machine: the test workload's AppData.</summary>
/// <param name="Operation">What to do.</param>
/// <param name="Key">The key it addresses.</param>
/// <param name="Value">The value to set (Set only).</param>
public readonly record struct KvCommand(KvOperation Operation, string Key, string? Value)
{
    /// <summary>Serializes commands: operation byte, key, then the value for Set.</summary>
    public static IWireSerializer<KvCommand> Serializer { get; } = new CommandSerializer();

    /// <summary>Sets <paramref name="key"/> to <paramref name="value"/>.</summary>
    public static KvCommand Set(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        return new(KvOperation.Set, key, value);
    }

    /// <summary>Reads <paramref name="key"/>.</summary>
    public static KvCommand Get(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return new(KvOperation.Get, key, null);
    }

    /// <summary>Deletes <paramref name="key"/>.</summary>
    public static KvCommand Delete(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return new(KvOperation.Delete, key, null);
    }

    private sealed class CommandSerializer : IWireSerializer<KvCommand>
    {
        public void Write(IBufferWriter<byte> output, KvCommand value)
        {
            WireWriter.WriteByte(output, (byte)value.Operation);
            WireWriter.WriteString(output, value.Key);
            if (value.Operation == KvOperation.Set)
            {
                WireWriter.WriteString(output, value.Value ?? string.Empty);
            }
        }

        public KvCommand Read(ref WireReader reader)
        {
            byte operation = reader.ReadByte();
            return (KvOperation)operation switch
            {
                KvOperation.Set => new KvCommand(KvOperation.Set, reader.ReadString(), reader.ReadString()),
                KvOperation.Get => new KvCommand(KvOperation.Get, reader.ReadString(), null),
                KvOperation.Delete => new KvCommand(KvOperation.Delete, reader.ReadString(), null),
                _ => throw WireReader.Invalid($"Unknown key-value operation {operation}."),
            };
        }
    }
}

/// <summary>
/// What applying a <see cref="KvCommand"/> returns: the key's value before the command
/// (Set, Delete) or its current value (Get); null when the key had none.
/// </summary>
/// <param name="Value">The value, if the key had one.</param>
public readonly record struct KvResponse(string? Value)
{
    /// <summary>The response to an entry that is not a command (a membership change).</summary>
    public static KvResponse None => default;

    /// <summary>Serializes responses: a presence flag, then the value.</summary>
    public static IWireSerializer<KvResponse> Serializer { get; } = new ResponseSerializer();

    private sealed class ResponseSerializer : IWireSerializer<KvResponse>
    {
        public void Write(IBufferWriter<byte> output, KvResponse value)
        {
            WireWriter.WriteBoolean(output, value.Value is not null);
            if (value.Value is { } v)
            {
                WireWriter.WriteString(output, v);
            }
        }

        public KvResponse Read(ref WireReader reader) => new(reader.ReadBoolean() ? reader.ReadString() : null);
    }
}

/// <summary>What the key-value cluster knows about a member: where to reach it.</summary>
/// <param name="Address">The member's address (for example "127.0.0.1:5001").</param>
public readonly record struct KvNode(string Address)
{
    /// <summary>Serializes node data: the address.</summary>
    public static IWireSerializer<KvNode> Serializer { get; } = new NodeSerializer();

    private sealed class NodeSerializer : IWireSerializer<KvNode>
    {
        public void Write(IBufferWriter<byte> output, KvNode value) => WireWriter.WriteString(output, value.Address ?? string.Empty);

        public KvNode Read(ref WireReader reader) => new(reader.ReadString());
    }
}
