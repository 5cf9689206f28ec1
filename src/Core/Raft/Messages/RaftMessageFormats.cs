using System.Buffers;
using RaftToolkit.Core.Codec;
using RaftToolkit.Core.Model;

namespace RaftToolkit.Core.Raft.Messages;

/// <summary>
/// Wire serializers of the Raft messages, for use through <see cref="WireCodec"/> with
/// <see cref="Version"/>: <c>[version | payload]</c>. <see cref="Message"/> writes a kind tag
/// before the payload so any message decodes without knowing its type in advance; the
/// per-type serializers write the payload alone. Fields are little-endian, ids fixed-width.
/// </summary>
public static partial class RaftMessageFormats
{
    /// <summary>The format version of every Raft message encoding.</summary>
    public const byte Version = 1;

    /// <summary>Any message, tagged with its <see cref="RaftMessageKind"/>.</summary>
    public static IWireSerializer<RaftMessage> Message { get; } = new TaggedSerializer();

    /// <summary>Serializer for <see cref="Messages.VoteRequest"/>.</summary>
    public static IWireSerializer<VoteRequest> VoteRequest { get; } = new VoteRequestSerializer();

    /// <summary>Serializer for <see cref="Messages.VoteResponse"/>.</summary>
    public static IWireSerializer<VoteResponse> VoteResponse { get; } = new VoteResponseSerializer();

    /// <summary>Serializer for <see cref="Messages.PreVoteRequest"/>.</summary>
    public static IWireSerializer<PreVoteRequest> PreVoteRequest { get; } = new PreVoteRequestSerializer();

    /// <summary>Serializer for <see cref="Messages.PreVoteResponse"/>.</summary>
    public static IWireSerializer<PreVoteResponse> PreVoteResponse { get; } = new PreVoteResponseSerializer();

    /// <summary>Serializer for <see cref="Messages.AppendEntriesRequest"/>.</summary>
    public static IWireSerializer<AppendEntriesRequest> AppendEntriesRequest { get; } = new AppendEntriesRequestSerializer();

    /// <summary>Serializer for <see cref="Messages.AppendEntriesResponse"/>.</summary>
    public static IWireSerializer<AppendEntriesResponse> AppendEntriesResponse { get; } = new AppendEntriesResponseSerializer();

    private static void WriteEnds(IBufferWriter<byte> output, RaftMessage message)
    {
        WireWriter.WriteUInt64(output, message.From);
        WireWriter.WriteUInt64(output, message.To);
    }

    private sealed class TaggedSerializer : IWireSerializer<RaftMessage>
    {
        public void Write(IBufferWriter<byte> output, RaftMessage value)
        {
            ArgumentNullException.ThrowIfNull(value);
            WireWriter.WriteByte(output, (byte)value.Kind);
            switch (value)
            {
                case Messages.VoteRequest m: VoteRequest.Write(output, m); break;
                case Messages.VoteResponse m: VoteResponse.Write(output, m); break;
                case Messages.PreVoteRequest m: PreVoteRequest.Write(output, m); break;
                case Messages.PreVoteResponse m: PreVoteResponse.Write(output, m); break;
                case Messages.AppendEntriesRequest m: AppendEntriesRequest.Write(output, m); break;
                case Messages.AppendEntriesResponse m: AppendEntriesResponse.Write(output, m); break;
                case Messages.TimeoutNowRequest m: TimeoutNowRequest.Write(output, m); break;
                case Messages.QuiesceNotice m: QuiesceNotice.Write(output, m); break;
                case Messages.InstallSnapshotRequest m: InstallSnapshotRequest.Write(output, m); break;
                case Messages.InstallSnapshotResponse m: InstallSnapshotResponse.Write(output, m); break;
                case Messages.ReadIndexRequest m: ReadIndexRequest.Write(output, m); break;
                case Messages.ReadIndexResponse m: ReadIndexResponse.Write(output, m); break;
                case Messages.LeadershipConfirmRequest m: LeadershipConfirmRequest.Write(output, m); break;
                case Messages.LeadershipConfirmResponse m: LeadershipConfirmResponse.Write(output, m); break;
                default: throw new ArgumentException($"Unknown message type {value.GetType().Name}.", nameof(value));
            }
        }

        public RaftMessage Read(ref WireReader reader)
        {
            byte kind = reader.ReadByte();
            return (RaftMessageKind)kind switch
            {
                RaftMessageKind.VoteRequest => VoteRequest.Read(ref reader),
                RaftMessageKind.VoteResponse => VoteResponse.Read(ref reader),
                RaftMessageKind.PreVoteRequest => PreVoteRequest.Read(ref reader),
                RaftMessageKind.PreVoteResponse => PreVoteResponse.Read(ref reader),
                RaftMessageKind.AppendEntriesRequest => AppendEntriesRequest.Read(ref reader),
                RaftMessageKind.AppendEntriesResponse => AppendEntriesResponse.Read(ref reader),
                RaftMessageKind.TimeoutNowRequest => TimeoutNowRequest.Read(ref reader),
                RaftMessageKind.QuiesceNotice => QuiesceNotice.Read(ref reader),
                RaftMessageKind.InstallSnapshotRequest => InstallSnapshotRequest.Read(ref reader),
                RaftMessageKind.InstallSnapshotResponse => InstallSnapshotResponse.Read(ref reader),
                RaftMessageKind.ReadIndexRequest => ReadIndexRequest.Read(ref reader),
                RaftMessageKind.ReadIndexResponse => ReadIndexResponse.Read(ref reader),
                RaftMessageKind.LeadershipConfirmRequest => LeadershipConfirmRequest.Read(ref reader),
                RaftMessageKind.LeadershipConfirmResponse => LeadershipConfirmResponse.Read(ref reader),
                _ => throw WireReader.Invalid($"Unknown Raft message kind {kind}."),
            };
        }
    }

    private sealed class VoteRequestSerializer : IWireSerializer<VoteRequest>
    {
        public void Write(IBufferWriter<byte> output, VoteRequest value)
        {
            WriteEnds(output, value);
            ModelFormats.WriteVote(output, value.Vote);
            ModelFormats.WriteOptionalLogId(output, value.LastLogId);
            WireWriter.WriteBoolean(output, value.LeadershipTransfer);
        }

        public VoteRequest Read(ref WireReader reader) =>
            new(reader.ReadUInt64(), reader.ReadUInt64(), ModelFormats.ReadVote(ref reader), ModelFormats.ReadOptionalLogId(ref reader), reader.ReadBoolean());
    }

    private sealed class VoteResponseSerializer : IWireSerializer<VoteResponse>
    {
        public void Write(IBufferWriter<byte> output, VoteResponse value)
        {
            WriteEnds(output, value);
            ModelFormats.WriteVote(output, value.Vote);
            WireWriter.WriteBoolean(output, value.Granted);
            ModelFormats.WriteOptionalLogId(output, value.LastLogId);
        }

        public VoteResponse Read(ref WireReader reader) =>
            new(reader.ReadUInt64(), reader.ReadUInt64(), ModelFormats.ReadVote(ref reader), reader.ReadBoolean(), ModelFormats.ReadOptionalLogId(ref reader));
    }

    private sealed class PreVoteRequestSerializer : IWireSerializer<PreVoteRequest>
    {
        public void Write(IBufferWriter<byte> output, PreVoteRequest value)
        {
            WriteEnds(output, value);
            ModelFormats.WriteVote(output, value.ProposedVote);
            ModelFormats.WriteOptionalLogId(output, value.LastLogId);
        }

        public PreVoteRequest Read(ref WireReader reader) =>
            new(reader.ReadUInt64(), reader.ReadUInt64(), ModelFormats.ReadVote(ref reader), ModelFormats.ReadOptionalLogId(ref reader));
    }

    private sealed class PreVoteResponseSerializer : IWireSerializer<PreVoteResponse>
    {
        public void Write(IBufferWriter<byte> output, PreVoteResponse value)
        {
            WriteEnds(output, value);
            ModelFormats.WriteVote(output, value.ProposedVote);
            WireWriter.WriteBoolean(output, value.Granted);
            ModelFormats.WriteVote(output, value.CurrentVote);
        }

        public PreVoteResponse Read(ref WireReader reader) =>
            new(reader.ReadUInt64(), reader.ReadUInt64(), ModelFormats.ReadVote(ref reader), reader.ReadBoolean(), ModelFormats.ReadVote(ref reader));
    }

    private sealed class AppendEntriesRequestSerializer : IWireSerializer<AppendEntriesRequest>
    {
        public void Write(IBufferWriter<byte> output, AppendEntriesRequest value)
        {
            WriteEnds(output, value);
            ModelFormats.WriteVote(output, value.Vote);
            ModelFormats.WriteOptionalLogId(output, value.PrevLogId);
            ModelFormats.WriteOptionalLogId(output, value.LeaderCommit);
            var entries = value.Entries.Span;
            WireWriter.WriteUInt32(output, (uint)entries.Length);
            for (int i = 0; i < entries.Length; i++)
            {
                ModelFormats.WriteEntry(output, entries[i]);
            }
        }

        public AppendEntriesRequest Read(ref WireReader reader)
        {
            ulong from = reader.ReadUInt64();
            ulong to = reader.ReadUInt64();
            var vote = ModelFormats.ReadVote(ref reader);
            var prev = ModelFormats.ReadOptionalLogId(ref reader);
            var commit = ModelFormats.ReadOptionalLogId(ref reader);

            // The smallest entry is a blank one: a log id and a kind byte.
            int count = reader.ReadCount(ModelFormats.LogIdSize + 1);
            var entries = count == 0 ? [] : new Entry[count];
            ulong expected = prev.NextIndex();
            for (int i = 0; i < count; i++)
            {
                // An index past the largest one wraps to 0, where the check below would meet
                // the wrapped expectation: no entry may follow the largest index.
                if (expected == 0 && (i > 0 || prev is not null))
                {
                    throw WireReader.Invalid("Entries run past the largest log index.");
                }

                entries[i] = ModelFormats.ReadEntry(ref reader);
                if (entries[i].Index != expected)
                {
                    throw WireReader.Invalid($"Entries must follow the previous log id contiguously: expected index {expected}, found {entries[i].Index}.");
                }

                expected++;
            }

            return new(from, to, vote, prev, entries, commit);
        }
    }

    private sealed class AppendEntriesResponseSerializer : IWireSerializer<AppendEntriesResponse>
    {
        public void Write(IBufferWriter<byte> output, AppendEntriesResponse value)
        {
            WriteEnds(output, value);
            ModelFormats.WriteVote(output, value.Vote);
            WireWriter.WriteByte(output, (byte)value.Outcome);
            ModelFormats.WriteOptionalLogId(output, value.Matched);
            WireWriter.WriteUInt64(output, value.RejectedPrevIndex);
            ModelFormats.WriteOptionalLogId(output, value.ConflictHint);
        }

        public AppendEntriesResponse Read(ref WireReader reader)
        {
            ulong from = reader.ReadUInt64();
            ulong to = reader.ReadUInt64();
            var vote = ModelFormats.ReadVote(ref reader);
            byte outcome = reader.ReadByte();
            if (outcome > (byte)AppendEntriesOutcome.HigherVote)
            {
                throw WireReader.Invalid($"Unknown append outcome {outcome}.");
            }

            return new(from, to, vote, (AppendEntriesOutcome)outcome, ModelFormats.ReadOptionalLogId(ref reader), reader.ReadUInt64(), ModelFormats.ReadOptionalLogId(ref reader));
        }
    }
}
