using RaftToolkit.Core.Codec;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Raft.Messages;
using Xunit;

namespace RaftToolkit.Core.Tests.Raft;

/// <summary>The snapshot-transfer and ReadIndex messages round-trip through <see cref="WireCodec"/>; malformed ones fail typed.</summary>
public sealed class SnapshotAndReadIndexMessageCodecTests
{
    private static readonly Vote Leader = new Vote(7, 3).Commit();

    private static readonly SnapshotMeta Meta =
        new(new LogId(6, 2, 40), new StoredMembership(new LogId(5, 1, 3), Membership.FromVoters(1, 2, 3)), "snap-40");

    private static T RoundTrip<T>(T message) where T : RaftMessage
    {
        var bytes = WireCodec.Encode(RaftMessageFormats.Version, (RaftMessage)message, RaftMessageFormats.Message);
        return Assert.IsType<T>(WireCodec.Decode(RaftMessageFormats.Version, bytes, RaftMessageFormats.Message));
    }

    [Fact]
    public void InstallSnapshotRequestRoundTripsWithItsChunk()
    {
        var request = new InstallSnapshotRequest(3, 2, Leader, Meta, 1024, new byte[] { 9, 8, 7 }, true);

        var decoded = RoundTrip(request);

        Assert.Equal(RaftMessageKind.InstallSnapshotRequest, decoded.Kind);
        Assert.Equal((request.From, request.To, request.Vote, request.Meta, request.Offset, request.Done), (decoded.From, decoded.To, decoded.Vote, decoded.Meta, decoded.Offset, decoded.Done));
        Assert.Equal(request.Data.ToArray(), decoded.Data.ToArray());
    }

    [Fact]
    public void InstallSnapshotResponseRoundTrips()
    {
        var response = new InstallSnapshotResponse(2, 3, Leader, "snap-40", 2048, false);
        Assert.Equal(response, RoundTrip(response));
    }

    [Fact]
    public void ReadIndexMessagesRoundTrip()
    {
        var forward = new ReadIndexRequest(2, 3, 77);
        var answer = new ReadIndexResponse(3, 2, 77, ReadIndexStatus.Confirmed, 40);
        var confirm = new LeadershipConfirmRequest(3, 1, Leader, 12);
        var confirmed = new LeadershipConfirmResponse(1, 3, Leader, 12);

        Assert.Equal(forward, RoundTrip(forward));
        Assert.Equal(answer, RoundTrip(answer));
        Assert.Equal(confirm, RoundTrip(confirm));
        Assert.Equal(confirmed, RoundTrip(confirmed));
    }

    [Fact]
    public void ASnapshotThatCoversNoEntryIsRejectedOnDecode()
    {
        var request = new InstallSnapshotRequest(3, 2, Leader, Meta with { LastLogId = null }, 0, new byte[] { 1 }, true);
        var bytes = WireCodec.Encode(RaftMessageFormats.Version, (RaftMessage)request, RaftMessageFormats.Message);

        var error = Assert.Throws<CodecException>(() => WireCodec.Decode(RaftMessageFormats.Version, bytes, RaftMessageFormats.Message));
        Assert.Equal(CodecErrorKind.Invalid, error.Kind);
    }

    [Fact]
    public void AReadAnswerThatIsStillPendingIsRejectedOnDecode()
    {
        var answer = new ReadIndexResponse(3, 2, 1, ReadIndexStatus.Pending, 0);
        var bytes = WireCodec.Encode(RaftMessageFormats.Version, (RaftMessage)answer, RaftMessageFormats.Message);

        var error = Assert.Throws<CodecException>(() => WireCodec.Decode(RaftMessageFormats.Version, bytes, RaftMessageFormats.Message));
        Assert.Equal(CodecErrorKind.Invalid, error.Kind);
    }

    [Fact]
    public void AStepWithASnapshotThatCoversNoEntryIsRefusedBeforeAnythingChanges()
    {
        var node = TestNode.Create(2, [1, 2, 3]);
        var request = new InstallSnapshotRequest(1, 2, Leader, Meta with { LastLogId = null }, 0, new byte[] { 1 }, true);

        Assert.Throws<ArgumentException>(() => node.Raft.Step(request));

        Assert.Equal(default, node.Raft.Vote);
        Assert.Null(node.Raft.Failure);
    }
}
