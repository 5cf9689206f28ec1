using System.Buffers;
using RaftToolkit.Core.Codec;
using RaftToolkit.Core.Model;

namespace RaftToolkit.Core.Raft.Messages;

/// <summary>Wire serializers of the snapshot-transfer and ReadIndex messages.</summary>
public static partial class RaftMessageFormats
{
    /// <summary>Serializer for <see cref="Messages.InstallSnapshotRequest"/>.</summary>
    public static IWireSerializer<InstallSnapshotRequest> InstallSnapshotRequest { get; } = new InstallSnapshotRequestSerializer();

    /// <summary>Serializer for <see cref="Messages.InstallSnapshotResponse"/>.</summary>
    public static IWireSerializer<InstallSnapshotResponse> InstallSnapshotResponse { get; } = new InstallSnapshotResponseSerializer();

    /// <summary>Serializer for <see cref="Messages.ReadIndexRequest"/>.</summary>
    public static IWireSerializer<ReadIndexRequest> ReadIndexRequest { get; } = new ReadIndexRequestSerializer();

    /// <summary>Serializer for <see cref="Messages.ReadIndexResponse"/>.</summary>
    public static IWireSerializer<ReadIndexResponse> ReadIndexResponse { get; } = new ReadIndexResponseSerializer();

    /// <summary>Serializer for <see cref="Messages.LeadershipConfirmRequest"/>.</summary>
    public static IWireSerializer<LeadershipConfirmRequest> LeadershipConfirmRequest { get; } = new LeadershipConfirmRequestSerializer();

    /// <summary>Serializer for <see cref="Messages.LeadershipConfirmResponse"/>.</summary>
    public static IWireSerializer<LeadershipConfirmResponse> LeadershipConfirmResponse { get; } = new LeadershipConfirmResponseSerializer();

    private sealed class InstallSnapshotRequestSerializer : IWireSerializer<InstallSnapshotRequest>
    {
        public void Write(IBufferWriter<byte> output, InstallSnapshotRequest value)
        {
            WriteEnds(output, value);
            ModelFormats.WriteVote(output, value.Vote);
            ModelFormats.SnapshotMeta.Write(output, value.Meta);
            WireWriter.WriteUInt64(output, value.Offset);
            WireWriter.WriteLengthPrefixed(output, value.Data.Span);
            WireWriter.WriteBoolean(output, value.Done);
        }

        public InstallSnapshotRequest Read(ref WireReader reader)
        {
            ulong from = reader.ReadUInt64();
            ulong to = reader.ReadUInt64();
            var vote = ModelFormats.ReadVote(ref reader);
            var meta = ModelFormats.SnapshotMeta.Read(ref reader);
            if (meta.LastLogId is null)
            {
                throw WireReader.Invalid("A transferred snapshot must cover at least one entry.");
            }

            ulong offset = reader.ReadUInt64();
            var data = reader.ReadLengthPrefixed().ToArray();
            return new(from, to, vote, meta, offset, data, reader.ReadBoolean());
        }
    }

    private sealed class InstallSnapshotResponseSerializer : IWireSerializer<InstallSnapshotResponse>
    {
        public void Write(IBufferWriter<byte> output, InstallSnapshotResponse value)
        {
            WriteEnds(output, value);
            ModelFormats.WriteVote(output, value.Vote);
            WireWriter.WriteString(output, value.SnapshotId);
            WireWriter.WriteUInt64(output, value.NextOffset);
            WireWriter.WriteBoolean(output, value.Installed);
        }

        public InstallSnapshotResponse Read(ref WireReader reader) =>
            new(reader.ReadUInt64(), reader.ReadUInt64(), ModelFormats.ReadVote(ref reader), reader.ReadString(), reader.ReadUInt64(), reader.ReadBoolean());
    }

    private sealed class ReadIndexRequestSerializer : IWireSerializer<ReadIndexRequest>
    {
        public void Write(IBufferWriter<byte> output, ReadIndexRequest value)
        {
            WriteEnds(output, value);
            WireWriter.WriteUInt64(output, value.RequestId);
        }

        public ReadIndexRequest Read(ref WireReader reader) => new(reader.ReadUInt64(), reader.ReadUInt64(), reader.ReadUInt64());
    }

    private sealed class ReadIndexResponseSerializer : IWireSerializer<ReadIndexResponse>
    {
        public void Write(IBufferWriter<byte> output, ReadIndexResponse value)
        {
            WriteEnds(output, value);
            WireWriter.WriteUInt64(output, value.RequestId);
            WireWriter.WriteByte(output, (byte)value.Status);
            WireWriter.WriteUInt64(output, value.Index);
        }

        public ReadIndexResponse Read(ref WireReader reader)
        {
            ulong from = reader.ReadUInt64();
            ulong to = reader.ReadUInt64();
            ulong requestId = reader.ReadUInt64();
            byte status = reader.ReadByte();
            if (status > (byte)ReadIndexStatus.TimedOut || status == (byte)ReadIndexStatus.Pending)
            {
                throw WireReader.Invalid($"Invalid read status {status} in a ReadIndex answer.");
            }

            return new(from, to, requestId, (ReadIndexStatus)status, reader.ReadUInt64());
        }
    }

    private sealed class LeadershipConfirmRequestSerializer : IWireSerializer<LeadershipConfirmRequest>
    {
        public void Write(IBufferWriter<byte> output, LeadershipConfirmRequest value)
        {
            WriteEnds(output, value);
            ModelFormats.WriteVote(output, value.Vote);
            WireWriter.WriteUInt64(output, value.Round);
        }

        public LeadershipConfirmRequest Read(ref WireReader reader) =>
            new(reader.ReadUInt64(), reader.ReadUInt64(), ModelFormats.ReadVote(ref reader), reader.ReadUInt64());
    }

    private sealed class LeadershipConfirmResponseSerializer : IWireSerializer<LeadershipConfirmResponse>
    {
        public void Write(IBufferWriter<byte> output, LeadershipConfirmResponse value)
        {
            WriteEnds(output, value);
            ModelFormats.WriteVote(output, value.Vote);
            WireWriter.WriteUInt64(output, value.Round);
        }

        public LeadershipConfirmResponse Read(ref WireReader reader) =>
            new(reader.ReadUInt64(), reader.ReadUInt64(), ModelFormats.ReadVote(ref reader), reader.ReadUInt64());
    }
}
