using RaftToolkit.Core.Codec;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft.Messages;
using Xunit;

namespace RaftToolkit.Core.Tests.Raft;

/// <summary>The leadership-transfer and quiescence messages round-trip through the tagged serializer.</summary>
public sealed class RaftTransferAndQuiescenceCodecTests
{
    public static TheoryData<string, RaftMessage> Messages => new()
    {
        { "timeout now", new TimeoutNowRequest(1, 2, new Vote(5, 1).Commit()) },
        { "quiesce notice", new QuiesceNotice(1, 3, new Vote(5, 1).Commit(), new LogId(5, 1, 40), new LogId(5, 1, 40)) },
        { "quiesce notice, empty log", new QuiesceNotice(1, 3, new Vote(1, 1).Commit(), null, null) },
        { "vote request for a transfer", new VoteRequest(2, 3, new Vote(6, 2), new LogId(5, 1, 40), LeadershipTransfer: true) },
    };

    [Theory]
    [MemberData(nameof(Messages))]
    public void TransferAndQuiescenceMessagesRoundTrip(string name, RaftMessage message)
    {
        var bytes = WireCodec.Encode(RaftMessageFormats.Version, message, RaftMessageFormats.Message);

        var decoded = WireCodec.Decode(RaftMessageFormats.Version, bytes, RaftMessageFormats.Message);

        Assert.True(message.Equals(decoded), $"{name}: {message} decoded as {decoded}");
    }

    [Fact]
    public void TheirKindTagsFollowTheMembershipAndTransferRange()
    {
        Assert.Equal(20, (int)RaftMessageKind.TimeoutNowRequest);
        Assert.Equal(21, (int)RaftMessageKind.QuiesceNotice);
    }
}
