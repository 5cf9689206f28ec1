using RaftToolkit.Core.Codec;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft.Messages;
using Xunit;

namespace RaftToolkit.Core.Tests.Raft;

/// <summary>Every Raft message round-trips through <see cref="WireCodec"/> and damaged frames fail with a typed error.</summary>
public sealed class RaftMessageCodecTests
{
    private static readonly Vote Leader = new Vote(7, 3).Commit();

    public static TheoryData<string, RaftMessage> Messages => new()
    {
        { "vote request", new VoteRequest(1, 2, new Vote(5, 1), new LogId(4, 2, 17)) },
        { "vote request, empty log", new VoteRequest(1, 2, new Vote(1, 1), null) },
        { "vote response", new VoteResponse(2, 1, new Vote(5, 1), true, new LogId(4, 2, 16)) },
        { "pre-vote request", new PreVoteRequest(1, 3, new Vote(6, 1), new LogId(4, 2, 17)) },
        { "pre-vote response", new PreVoteResponse(3, 1, new Vote(6, 1), false, Leader) },
        { "heartbeat", new AppendEntriesRequest(3, 1, Leader, new LogId(7, 3, 9), ReadOnlyMemory<Entry>.Empty, new LogId(7, 3, 8)) },
        {
            "append with entries",
            new AppendEntriesRequest(3, 2, Leader, new LogId(7, 3, 9), new[]
            {
                Entry.Normal(new LogId(7, 3, 10), new byte[] { 1, 2, 3 }),
                Entry.Blank(new LogId(7, 3, 11)),
                Entry.ForMembership(new LogId(7, 3, 12), Membership.FromVoters(1, 2, 3)),
            }, null)
        },
        { "append from the start", new AppendEntriesRequest(3, 2, Leader, null, new[] { Entry.Blank(new LogId(7, 3, 0)) }, null) },
        { "append success", new AppendEntriesResponse(2, 3, Leader, AppendEntriesOutcome.Success, new LogId(7, 3, 12), 0, null) },
        { "append conflict", new AppendEntriesResponse(2, 3, Leader, AppendEntriesOutcome.Conflict, null, 9, new LogId(5, 1, 6)) },
        { "append higher vote", new AppendEntriesResponse(2, 3, new Vote(8, 2), AppendEntriesOutcome.HigherVote, null, 0, null) },
    };

    [Theory]
    [MemberData(nameof(Messages))]
    public void EveryMessageRoundTripsThroughTheTaggedSerializer(string name, RaftMessage message)
    {
        _ = name;
        var bytes = WireCodec.Encode(RaftMessageFormats.Version, message, RaftMessageFormats.Message);
        Assert.Equal(RaftMessageFormats.Version, bytes[0]);
        var decoded = WireCodec.Decode(RaftMessageFormats.Version, bytes, RaftMessageFormats.Message);
        AssertSame(message, decoded);
    }

    [Fact]
    public void EachMessageTypeRoundTripsThroughItsOwnSerializer()
    {
        var vote = new VoteRequest(1, 2, new Vote(5, 1), null);
        Assert.Equal(vote, RoundTrip(vote, RaftMessageFormats.VoteRequest));
        var voteResponse = new VoteResponse(2, 1, new Vote(5, 1), true, null);
        Assert.Equal(voteResponse, RoundTrip(voteResponse, RaftMessageFormats.VoteResponse));
        var preVote = new PreVoteRequest(1, 2, new Vote(5, 1), new LogId(1, 1, 1));
        Assert.Equal(preVote, RoundTrip(preVote, RaftMessageFormats.PreVoteRequest));
        var preVoteResponse = new PreVoteResponse(2, 1, new Vote(5, 1), true, Leader);
        Assert.Equal(preVoteResponse, RoundTrip(preVoteResponse, RaftMessageFormats.PreVoteResponse));
        var append = new AppendEntriesRequest(3, 2, Leader, null, new[] { Entry.Normal(new LogId(7, 3, 0), new byte[] { 5 }) }, null);
        AssertSame(append, RoundTrip(append, RaftMessageFormats.AppendEntriesRequest));
        var appendResponse = new AppendEntriesResponse(2, 3, Leader, AppendEntriesOutcome.Conflict, null, 4, null);
        Assert.Equal(appendResponse, RoundTrip(appendResponse, RaftMessageFormats.AppendEntriesResponse));
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public void EveryTruncationOfAMessageIsRefusedAsTruncatedOrEmpty(string name, RaftMessage message)
    {
        _ = name;
        var bytes = WireCodec.Encode(RaftMessageFormats.Version, message, RaftMessageFormats.Message);
        for (int length = 0; length < bytes.Length; length++)
        {
            var error = Assert.Throws<CodecException>(() => WireCodec.Decode(RaftMessageFormats.Version, bytes.AsSpan(0, length), RaftMessageFormats.Message));
            Assert.Equal(length == 0 ? CodecErrorKind.Empty : CodecErrorKind.Truncated, error.Kind);
        }
    }

    [Fact]
    public void AnotherVersionIsRefusedAsAVersionMismatch()
    {
        var bytes = WireCodec.Encode(RaftMessageFormats.Version, new VoteRequest(1, 2, new Vote(1, 1), null), RaftMessageFormats.Message);
        bytes[0] = RaftMessageFormats.Version + 1;
        var error = Assert.Throws<CodecException>(() => WireCodec.Decode(RaftMessageFormats.Version, bytes, RaftMessageFormats.Message));
        Assert.Equal(CodecErrorKind.VersionMismatch, error.Kind);
    }

    [Fact]
    public void UnknownKindTagIsRefusedAsInvalid()
    {
        var bytes = WireCodec.Encode(RaftMessageFormats.Version, new VoteRequest(1, 2, new Vote(1, 1), null), RaftMessageFormats.Message);
        bytes[1] = 99;
        var error = Assert.Throws<CodecException>(() => WireCodec.Decode(RaftMessageFormats.Version, bytes, RaftMessageFormats.Message));
        Assert.Equal(CodecErrorKind.Invalid, error.Kind);
    }

    [Fact]
    public void AppendWhoseEntriesDoNotFollowThePreviousIdIsRefusedAsInvalid()
    {
        var gap = new AppendEntriesRequest(3, 2, Leader, new LogId(7, 3, 4), new[] { Entry.Blank(new LogId(7, 3, 6)) }, null);
        var bytes = WireCodec.Encode(RaftMessageFormats.Version, gap, RaftMessageFormats.Message);
        var error = Assert.Throws<CodecException>(() => WireCodec.Decode(RaftMessageFormats.Version, bytes, RaftMessageFormats.Message));
        Assert.Equal(CodecErrorKind.Invalid, error.Kind);
    }

    /// <summary>Indexes are 64-bit and do not wrap: an entry after the largest index (as index 0) is refused, not read as a new log.</summary>
    [Fact]
    public void AppendWhoseEntriesRunPastTheLargestIndexIsRefusedAsInvalid()
    {
        var afterLast = new AppendEntriesRequest(3, 2, Leader, new LogId(7, 3, ulong.MaxValue), new[] { Entry.Blank(new LogId(7, 3, 0)) }, null);
        var acrossLast = new AppendEntriesRequest(3, 2, Leader, new LogId(7, 3, ulong.MaxValue - 1), new[] { Entry.Blank(new LogId(7, 3, ulong.MaxValue)), Entry.Blank(new LogId(7, 3, 0)) }, null);
        foreach (var request in new[] { afterLast, acrossLast })
        {
            var bytes = WireCodec.Encode(RaftMessageFormats.Version, request, RaftMessageFormats.Message);
            var error = Assert.Throws<CodecException>(() => WireCodec.Decode(RaftMessageFormats.Version, bytes, RaftMessageFormats.Message));
            Assert.Equal(CodecErrorKind.Invalid, error.Kind);
        }

        var upToLast = new AppendEntriesRequest(3, 2, Leader, new LogId(7, 3, ulong.MaxValue - 1), new[] { Entry.Blank(new LogId(7, 3, ulong.MaxValue)) }, null);
        Assert.Equal(upToLast.Entries.ToArray(), RoundTrip(upToLast, RaftMessageFormats.AppendEntriesRequest).Entries.ToArray());
    }

    /// <summary>A string with a lone surrogate cannot be carried by UTF-8: refused when written, rather than read back as U+FFFD.</summary>
    [Fact]
    public void AStringWithALoneSurrogateIsRefusedWhenWritten()
    {
        var writer = new System.Buffers.ArrayBufferWriter<byte>();
        Assert.Throws<ArgumentException>(() => WireWriter.WriteString(writer, "s\uD800"));
        WireWriter.WriteString(writer, "snapshot-\u00e9\U0001F600");
        var reader = new WireReader(writer.WrittenSpan);
        Assert.Equal("snapshot-\u00e9\U0001F600", reader.ReadString());
    }

    [Fact]
    public void TrailingBytesAreRefused()
    {
        var bytes = WireCodec.Encode(RaftMessageFormats.Version, new VoteResponse(2, 1, new Vote(1, 1), true, null), RaftMessageFormats.Message);
        var longer = bytes.Concat(new byte[] { 0 }).ToArray();
        var error = Assert.Throws<CodecException>(() => WireCodec.Decode(RaftMessageFormats.Version, longer, RaftMessageFormats.Message));
        Assert.Equal(CodecErrorKind.TrailingBytes, error.Kind);
    }

    private static T RoundTrip<T>(T value, IWireSerializer<T> serializer) =>
        WireCodec.Decode(RaftMessageFormats.Version, WireCodec.Encode(RaftMessageFormats.Version, value, serializer), serializer);

    private static void AssertSame(RaftMessage expected, RaftMessage actual)
    {
        if (expected is AppendEntriesRequest append)
        {
            var decoded = Assert.IsType<AppendEntriesRequest>(actual);
            Assert.Equal(append.Entries.ToArray(), decoded.Entries.ToArray());
            Assert.Equal(append with { Entries = default }, decoded with { Entries = default });
            return;
        }

        Assert.Equal(expected, actual);
    }
}
