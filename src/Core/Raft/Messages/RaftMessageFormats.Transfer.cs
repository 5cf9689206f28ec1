using System.Buffers;
using RaftToolkit.Core.Codec;
using RaftToolkit.Core.Model;

namespace RaftToolkit.Core.Raft.Messages;

/// <summary>Serializers of the leadership-transfer and quiescence messages.</summary>
public static partial class RaftMessageFormats
{
    /// <summary>Serializer for <see cref="Messages.TimeoutNowRequest"/>.</summary>
    public static IWireSerializer<TimeoutNowRequest> TimeoutNowRequest { get; } = new TimeoutNowRequestSerializer();

    /// <summary>Serializer for <see cref="Messages.QuiesceNotice"/>.</summary>
    public static IWireSerializer<QuiesceNotice> QuiesceNotice { get; } = new QuiesceNoticeSerializer();

    private sealed class TimeoutNowRequestSerializer : IWireSerializer<TimeoutNowRequest>
    {
        public void Write(IBufferWriter<byte> output, TimeoutNowRequest value)
        {
            WriteEnds(output, value);
            ModelFormats.WriteVote(output, value.Vote);
        }

        public TimeoutNowRequest Read(ref WireReader reader) =>
            new(reader.ReadUInt64(), reader.ReadUInt64(), ModelFormats.ReadVote(ref reader));
    }

    private sealed class QuiesceNoticeSerializer : IWireSerializer<QuiesceNotice>
    {
        public void Write(IBufferWriter<byte> output, QuiesceNotice value)
        {
            WriteEnds(output, value);
            ModelFormats.WriteVote(output, value.Vote);
            ModelFormats.WriteOptionalLogId(output, value.LastLogId);
            ModelFormats.WriteOptionalLogId(output, value.LeaderCommit);
        }

        public QuiesceNotice Read(ref WireReader reader) =>
            new(reader.ReadUInt64(), reader.ReadUInt64(), ModelFormats.ReadVote(ref reader), ModelFormats.ReadOptionalLogId(ref reader), ModelFormats.ReadOptionalLogId(ref reader));
    }
}
