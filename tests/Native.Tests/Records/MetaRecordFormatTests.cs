using CommunityToolkit.HighPerformance.Buffers;
using CsCheck;
using RaftToolkit.Core.Codec;
using RaftToolkit.Core.Model;
using RaftToolkit.Native.Keys;
using RaftToolkit.Native.Records;

namespace RaftToolkit.Native.Tests.Records;

/// <summary>
/// The stored form of a group's vote, committed and last purged ids: that it round-trips, that
/// every damage is caught, and that records of the first format (no checksum) still read.
/// CsCheck prints the seed of a failing case; set CsCheck_Seed to it to replay.
/// </summary>
public sealed class MetaRecordFormatTests
{
    private const ulong Group = 11;

    private static readonly Gen<ulong> Ids = Gen.Frequency((3, Gen.ULong[0, 300]), (1, Gen.ULong));

    private static byte[] EncodeVote(Vote vote)
    {
        using var output = new ArrayPoolBufferWriter<byte>();
        Assert.Equal(MetaRecordFormat.EncodeVote(output, vote), output.WrittenCount);
        return output.WrittenSpan.ToArray();
    }

    private static byte[] EncodeLogId(LogId? logId, MetaLabel label)
    {
        using var output = new ArrayPoolBufferWriter<byte>();
        Assert.Equal(MetaRecordFormat.EncodeLogId(output, logId, label), output.WrittenCount);
        return output.WrittenSpan.ToArray();
    }

    [Fact]
    public void EveryVoteAndLogIdRoundTrips()
    {
        Gen.Select(Ids, Ids, Gen.Bool).Sample((term, node, committed) =>
        {
            var vote = new Vote(new LeaderId(term, node), committed);
            Assert.Equal(vote, MetaRecordFormat.DecodeVote(EncodeVote(vote), Group));
        });
        Gen.Select(Ids, Ids, Ids, Gen.Bool).Sample((term, node, index, none) =>
        {
            LogId? logId = none ? null : new LogId(term, node, index);
            Assert.Equal(logId, MetaRecordFormat.DecodeLogId(EncodeLogId(logId, MetaLabel.Committed), Group, MetaLabel.Committed));
        });
    }

    [Fact]
    public void EverySingleFlippedBitOfAVoteIsCaughtAsCorruptionNamingGroupAndLabel()
    {
        var record = EncodeVote(new Vote(new LeaderId(7, 3), true));
        for (int bit = 0; bit < record.Length * 8; bit++)
        {
            var damaged = (byte[])record.Clone();
            damaged[bit / 8] ^= (byte)(1 << (bit % 8));
            var error = Assert.Throws<MetaRecordCorruptionException>(() => MetaRecordFormat.DecodeVote(damaged, Group));
            Assert.Equal(Group, error.GroupId);
            Assert.Equal(MetaLabel.Vote, error.Label);
        }
    }

    [Fact]
    public void ALogIdReadUnderAnotherLabelFailsItsChecksum()
    {
        var committed = EncodeLogId(new LogId(2, 1, 40), MetaLabel.Committed);
        var error = Assert.Throws<MetaRecordCorruptionException>(() => MetaRecordFormat.DecodeLogId(committed, Group, MetaLabel.LastPurged));
        Assert.Contains("Checksum mismatch", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4)]
    public void ARecordShorterThanItsFramingIsCorruption(int length)
    {
        var record = EncodeLogId(null, MetaLabel.Committed)[..length];
        Assert.Throws<MetaRecordCorruptionException>(() => MetaRecordFormat.DecodeLogId(record, Group, MetaLabel.Committed));
    }

    [Fact]
    public void AnUnknownVersionIsCorruption()
    {
        var record = EncodeVote(new Vote(new LeaderId(1, 1), false));
        record[0] = 9;
        var error = Assert.Throws<MetaRecordCorruptionException>(() => MetaRecordFormat.DecodeVote(record, Group));
        Assert.Contains("9", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RecordsOfTheFirstFormatStillRead()
    {
        var vote = new Vote(new LeaderId(5, 2), true);
        var logId = new LogId(3, 1, 17);
        Assert.Equal(vote, MetaRecordFormat.DecodeVote(WireCodec.Encode(MetaRecordFormat.Version1, vote, ModelFormats.Vote), Group));
        Assert.Equal(logId, MetaRecordFormat.DecodeLogId(WireCodec.Encode(MetaRecordFormat.Version1, (LogId?)logId, ModelFormats.OptionalLogId), Group, MetaLabel.LastPurged));
    }
}
