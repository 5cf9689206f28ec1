using System.Buffers;
using RaftToolkit.Core.Model;

namespace RaftToolkit.Core.Codec;

/// <summary>
/// Hand-written encoders for the toolkit's own types, little-endian, fixed-width ids.
/// Encoding into a reused buffer writer allocates nothing; decoding allocates only the objects
/// it returns (membership sets, application bytes).
/// </summary>
public static class ModelFormats
{
    /// <summary>Size of an encoded <see cref="LogId"/>: term, node, index.</summary>
    public const int LogIdSize = 24;

    /// <summary>Serializer for <see cref="LeaderId"/>.</summary>
    public static IWireSerializer<LeaderId> LeaderId { get; } = new LeaderIdSerializer();

    /// <summary>Serializer for <see cref="Vote"/>.</summary>
    public static IWireSerializer<Vote> Vote { get; } = new VoteSerializer();

    /// <summary>Serializer for <see cref="LogId"/>.</summary>
    public static IWireSerializer<LogId> LogId { get; } = new LogIdSerializer();

    /// <summary>Serializer for an optional <see cref="LogId"/>.</summary>
    public static IWireSerializer<LogId?> OptionalLogId { get; } = new OptionalLogIdSerializer();

    /// <summary>Serializer for <see cref="Membership"/>.</summary>
    public static IWireSerializer<Membership> Membership { get; } = new MembershipSerializer();

    /// <summary>Serializer for <see cref="StoredMembership"/>.</summary>
    public static IWireSerializer<StoredMembership> StoredMembership { get; } = new StoredMembershipSerializer();

    /// <summary>Serializer for <see cref="Entry"/>.</summary>
    public static IWireSerializer<Entry> Entry { get; } = new EntrySerializer();

    /// <summary>Serializer for <see cref="LogState"/>.</summary>
    public static IWireSerializer<LogState> LogState { get; } = new LogStateSerializer();

    /// <summary>Serializer for <see cref="SnapshotMeta"/>.</summary>
    public static IWireSerializer<SnapshotMeta> SnapshotMeta { get; } = new SnapshotMetaSerializer();

    /// <summary>Writes a leader id.</summary>
    public static void WriteLeaderId(IBufferWriter<byte> output, LeaderId value)
    {
        WireWriter.WriteUInt64(output, value.Term);
        WireWriter.WriteUInt64(output, value.NodeId);
    }

    /// <summary>Reads a leader id.</summary>
    public static LeaderId ReadLeaderId(ref WireReader reader) => new(reader.ReadUInt64(), reader.ReadUInt64());

    /// <summary>Writes a log id.</summary>
    public static void WriteLogId(IBufferWriter<byte> output, LogId value)
    {
        WriteLeaderId(output, value.LeaderId);
        WireWriter.WriteUInt64(output, value.Index);
    }

    /// <summary>Reads a log id.</summary>
    public static LogId ReadLogId(ref WireReader reader) => new(ReadLeaderId(ref reader), reader.ReadUInt64());

    /// <summary>Writes an optional log id: a presence flag, then the id.</summary>
    public static void WriteOptionalLogId(IBufferWriter<byte> output, LogId? value)
    {
        WireWriter.WriteBoolean(output, value.HasValue);
        if (value is { } id)
        {
            WriteLogId(output, id);
        }
    }

    /// <summary>Reads an optional log id.</summary>
    public static LogId? ReadOptionalLogId(ref WireReader reader) => reader.ReadBoolean() ? ReadLogId(ref reader) : null;

    /// <summary>Writes a vote.</summary>
    public static void WriteVote(IBufferWriter<byte> output, Vote value)
    {
        WriteLeaderId(output, value.LeaderId);
        WireWriter.WriteBoolean(output, value.Committed);
    }

    /// <summary>Reads a vote.</summary>
    public static Vote ReadVote(ref WireReader reader) => new(ReadLeaderId(ref reader), reader.ReadBoolean());

    /// <summary>Writes a membership: the voter sets, then the node map.</summary>
    public static void WriteMembership(IBufferWriter<byte> output, Membership value)
    {
        WireWriter.WriteByte(output, (byte)value.Configs.Length);
        foreach (var set in value.Configs)
        {
            WireWriter.WriteUInt32(output, (uint)set.Length);
            foreach (var voter in set)
            {
                WireWriter.WriteUInt64(output, voter);
            }
        }

        WireWriter.WriteUInt32(output, (uint)value.Nodes.Count);
        foreach (var (id, data) in value.Nodes)
        {
            WireWriter.WriteUInt64(output, id);
            WireWriter.WriteLengthPrefixed(output, data.Span);
        }
    }

    /// <summary>Reads a membership, validating it as <see cref="Model.Membership.Create"/> does.</summary>
    public static Membership ReadMembership(ref WireReader reader)
    {
        int configCount = reader.ReadByte();
        if (configCount is < 1 or > 2)
        {
            throw WireReader.Invalid($"A membership has 1 or 2 voter sets, found {configCount}.");
        }

        var configs = new ulong[configCount][];
        for (int c = 0; c < configCount; c++)
        {
            int voters = reader.ReadCount(sizeof(ulong));
            var set = new ulong[voters];
            for (int i = 0; i < voters; i++)
            {
                set[i] = reader.ReadUInt64();
                if (i > 0 && set[i] <= set[i - 1])
                {
                    throw WireReader.Invalid("Voter ids must be strictly increasing.");
                }
            }

            configs[c] = set;
        }

        int nodeCount = reader.ReadCount(sizeof(ulong) + sizeof(uint));
        var nodes = new KeyValuePair<ulong, ReadOnlyMemory<byte>>[nodeCount];
        for (int i = 0; i < nodeCount; i++)
        {
            ulong id = reader.ReadUInt64();
            if (i > 0 && id <= nodes[i - 1].Key)
            {
                throw WireReader.Invalid("Node ids must be strictly increasing.");
            }

            nodes[i] = new(id, reader.ReadLengthPrefixed().ToArray());
        }

        var nodeIds = new ulong[nodeCount];
        for (int i = 0; i < nodeCount; i++)
        {
            nodeIds[i] = nodes[i].Key;
        }

        foreach (var set in configs)
        {
            foreach (var voter in set)
            {
                if (Array.BinarySearch(nodeIds, voter) < 0)
                {
                    throw WireReader.Invalid($"Voter {voter} is missing from the node map.");
                }
            }
        }

        return Model.Membership.Create(configs, nodes);
    }

    /// <summary>Writes a stored membership.</summary>
    public static void WriteStoredMembership(IBufferWriter<byte> output, StoredMembership value)
    {
        WriteOptionalLogId(output, value.LogId);
        WriteMembership(output, value.Membership);
    }

    /// <summary>Reads a stored membership.</summary>
    public static StoredMembership ReadStoredMembership(ref WireReader reader) =>
        new(ReadOptionalLogId(ref reader), ReadMembership(ref reader));

    /// <summary>Writes an entry: its id, its kind, then the payload of that kind.</summary>
    public static void WriteEntry(IBufferWriter<byte> output, in Entry value)
    {
        WriteLogId(output, value.LogId);
        WireWriter.WriteByte(output, (byte)value.Kind);
        switch (value.Kind)
        {
            case EntryKind.Normal:
                WireWriter.WriteLengthPrefixed(output, value.Data.Span);
                break;
            case EntryKind.Membership:
                WriteMembership(output, value.Membership!);
                break;
        }
    }

    /// <summary>Reads an entry; application data is copied out of the source.</summary>
    public static Entry ReadEntry(ref WireReader reader)
    {
        var logId = ReadLogId(ref reader);
        byte kind = reader.ReadByte();
        return (EntryKind)kind switch
        {
            EntryKind.Blank => Model.Entry.Blank(logId),
            EntryKind.Normal => Model.Entry.Normal(logId, reader.ReadLengthPrefixed().ToArray()),
            EntryKind.Membership => Model.Entry.ForMembership(logId, ReadMembership(ref reader)),
            _ => throw WireReader.Invalid($"Unknown entry kind {kind}."),
        };
    }

    /// <summary>The exact encoded size of <paramref name="value"/>, without encoding it.</summary>
    /// <exception cref="ArgumentException">The encoding would not fit in one buffer (2 GiB).</exception>
    public static int EntrySize(in Entry value) => value.Kind switch
    {
        EntryKind.Normal => Fits(LogIdSize + 1L + sizeof(uint) + value.Data.Length, "entry"),
        EntryKind.Membership => Fits(LogIdSize + 1L + MembershipSize(value.Membership!), "entry"),
        _ => LogIdSize + 1,
    };

    /// <summary>The exact encoded size of <paramref name="value"/>.</summary>
    /// <exception cref="ArgumentException">The encoding would not fit in one buffer (2 GiB).</exception>
    public static int MembershipSize(Membership value)
    {
        // Summed wide: nodes may share one large data buffer, and an int sum would wrap to a
        // negative size that passes every bound after it.
        long size = 1 + sizeof(uint);
        foreach (var set in value.Configs)
        {
            size += sizeof(uint) + ((long)set.Length * sizeof(ulong));
        }

        foreach (var (_, data) in value.Nodes)
        {
            size += sizeof(ulong) + sizeof(uint) + data.Length;
        }

        return Fits(size, "membership");
    }

    private static int Fits(long size, string what) => size <= Array.MaxLength
        ? (int)size
        : throw new ArgumentException($"The {what}'s encoding would take {size:N0} bytes, more than one buffer holds ({Array.MaxLength:N0}).", "value");

    private sealed class LeaderIdSerializer : IWireSerializer<LeaderId>
    {
        public void Write(IBufferWriter<byte> output, LeaderId value) => WriteLeaderId(output, value);

        public LeaderId Read(ref WireReader reader) => ReadLeaderId(ref reader);
    }

    private sealed class VoteSerializer : IWireSerializer<Vote>
    {
        public void Write(IBufferWriter<byte> output, Vote value) => WriteVote(output, value);

        public Vote Read(ref WireReader reader) => ReadVote(ref reader);
    }

    private sealed class LogIdSerializer : IWireSerializer<LogId>
    {
        public void Write(IBufferWriter<byte> output, LogId value) => WriteLogId(output, value);

        public LogId Read(ref WireReader reader) => ReadLogId(ref reader);
    }

    private sealed class OptionalLogIdSerializer : IWireSerializer<LogId?>
    {
        public void Write(IBufferWriter<byte> output, LogId? value) => WriteOptionalLogId(output, value);

        public LogId? Read(ref WireReader reader) => ReadOptionalLogId(ref reader);
    }

    private sealed class MembershipSerializer : IWireSerializer<Membership>
    {
        public void Write(IBufferWriter<byte> output, Membership value) => WriteMembership(output, value);

        public Membership Read(ref WireReader reader) => ReadMembership(ref reader);
    }

    private sealed class StoredMembershipSerializer : IWireSerializer<StoredMembership>
    {
        public void Write(IBufferWriter<byte> output, StoredMembership value) => WriteStoredMembership(output, value);

        public StoredMembership Read(ref WireReader reader) => ReadStoredMembership(ref reader);
    }

    private sealed class EntrySerializer : IWireSerializer<Entry>
    {
        public void Write(IBufferWriter<byte> output, Entry value) => WriteEntry(output, value);

        public Entry Read(ref WireReader reader) => ReadEntry(ref reader);
    }

    private sealed class LogStateSerializer : IWireSerializer<LogState>
    {
        public void Write(IBufferWriter<byte> output, LogState value)
        {
            WriteOptionalLogId(output, value.LastPurgedLogId);
            WriteOptionalLogId(output, value.LastLogId);
        }

        public LogState Read(ref WireReader reader) => new(ReadOptionalLogId(ref reader), ReadOptionalLogId(ref reader));
    }

    private sealed class SnapshotMetaSerializer : IWireSerializer<SnapshotMeta>
    {
        public void Write(IBufferWriter<byte> output, SnapshotMeta value)
        {
            WriteOptionalLogId(output, value.LastLogId);
            WriteStoredMembership(output, value.LastMembership);
            WireWriter.WriteString(output, value.SnapshotId);
        }

        public SnapshotMeta Read(ref WireReader reader) =>
            new(ReadOptionalLogId(ref reader), ReadStoredMembership(ref reader), reader.ReadString());
    }
}
