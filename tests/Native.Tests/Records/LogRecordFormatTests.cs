using CommunityToolkit.HighPerformance.Buffers;
using CsCheck;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native.Records;
using static RaftToolkit.Native.Tests.Records.RecordChecksum;

namespace RaftToolkit.Native.Tests.Records;

/// <summary>
/// The stored form of a log entry, byte for byte: what it costs, that it round-trips, that every
/// damage is caught, and that records of the first format still read. CsCheck prints the seed of
/// a failing case; set the CsCheck_Seed environment variable to it to replay.
/// </summary>
public sealed class LogRecordFormatTests
{
    private const ulong Group = 7;

    private static readonly Gen<ulong> Ids = Gen.Frequency((3, Gen.ULong[0, 300]), (1, Gen.ULong));

    private static readonly Gen<Entry> Entries = Gen.Select(Ids, Ids, Gen.ULong, Gen.Int[0, 2], Gen.Byte.Array[0, 2048], (term, node, index, kind, data) =>
    {
        var id = new LogId(term, node, index);
        return kind switch
        {
            0 => Entry.Blank(id),
            1 => Entry.Normal(id, data),
            // node, node ^ 1 and node ^ 2 are three distinct ids for any node.
            _ => Entry.ForMembership(id, Membership.FromVoters([node, node ^ 1], [node ^ 2])),
        };
    });

    private static byte[] Encode(in Entry entry)
    {
        using var output = new ArrayPoolBufferWriter<byte>();
        int length = LogRecordFormat.Encode(output, entry);
        Assert.Equal(output.WrittenCount, length);
        return output.WrittenSpan.ToArray();
    }

    [Fact]
    public void EveryEntryRoundTripsUnderItsIndexAtTheSizeRecordSizeStates()
    {
        Entries.Sample(entry =>
        {
            var record = Encode(entry);
            Assert.Equal(LogRecordFormat.RecordSize(entry), record.Length);
            Assert.Equal(entry, LogRecordFormat.Decode(record, Group, entry.Index));
            Assert.Equal(entry.LogId, LogRecordFormat.DecodeLogId(record, Group, entry.Index));
        });
    }

    [Fact]
    public void ANormalEntryOfASmallTermAndNodeCostsEightBytesOfFraming()
    {
        var entry = Entry.Normal(new LogId(3, 2, 1_000_000), new byte[128]);
        Assert.Equal(128 + 8, Encode(entry).Length);
    }

    [Fact]
    public void TheLayoutIsVersionKindTermNodeBodyAndAChecksumSeededWithTheIndex()
    {
        var record = Encode(Entry.Normal(new LogId(300, 2, 7), "abc"u8.ToArray()));
        Assert.Equal("0201AC0202616263", Convert.ToHexString(record.AsSpan(0, record.Length - 4)));
        Assert.Equal(record, Reseal((byte[])record.Clone(), 7));
    }

    [Fact]
    public void EverySingleFlippedBitIsCaughtAsCorruptionNamingGroupAndIndex()
    {
        var entry = Entry.ForMembership(new LogId(4, 1, 9), Membership.FromVoters([1, 2], [3]));
        var record = Encode(entry);
        for (int bit = 0; bit < record.Length * 8; bit++)
        {
            var damaged = (byte[])record.Clone();
            damaged[bit / 8] ^= (byte)(1 << (bit % 8));
            var error = Assert.Throws<LogCorruptionException>(() => LogRecordFormat.Decode(damaged, Group, 9));
            Assert.Equal(Group, error.GroupId);
            Assert.Equal(9UL, error.Index);
        }
    }

    [Fact]
    public void ARecordReadUnderAnotherIndexFailsItsChecksum()
    {
        var record = Encode(Entry.Normal(new LogId(1, 0, 5), new byte[16]));
        var error = Assert.Throws<LogCorruptionException>(() => LogRecordFormat.Decode(record, Group, 6));
        Assert.Contains("checksum", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(7)]
    public void ARecordShorterThanItsFramingIsCorruption(int length)
    {
        var record = Encode(Entry.Blank(new LogId(0, 0, 1)));
        Assert.Equal(8, record.Length);
        var error = Assert.Throws<LogCorruptionException>(() => LogRecordFormat.Decode(record.AsSpan(0, length), Group, 1));
        Assert.Contains("shorter than its framing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnknownKindUnderAValidChecksumIsCorruptionNotData()
    {
        var record = Encode(Entry.Blank(new LogId(1, 1, 3)));
        record[1] = 9;
        Reseal(record, 3);
        var error = Assert.Throws<LogCorruptionException>(() => LogRecordFormat.Decode(record, Group, 3));
        Assert.Contains("does not decode", error.Message, StringComparison.Ordinal);
        Assert.Throws<LogCorruptionException>(() => LogRecordFormat.DecodeLogId(record, Group, 3));
    }

    [Fact]
    public void BytesAfterABlankEntryUnderAValidChecksumAreCorruption()
    {
        var record = Encode(Entry.Blank(new LogId(1, 1, 3)));
        var longer = new byte[record.Length + 1];
        record.AsSpan(0, record.Length - 4).CopyTo(longer);
        var error = Assert.Throws<LogCorruptionException>(() => LogRecordFormat.Decode(Reseal(longer, 3), Group, 3));
        Assert.Contains("does not decode", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ALeaderIdThatDoesNotFit64BitsUnderAValidChecksumIsCorruption()
    {
        var record = Convert.FromHexString("0200FFFFFFFFFFFFFFFFFF0200" + "00000000");
        Assert.Throws<LogCorruptionException>(() => LogRecordFormat.DecodeLogId(Reseal(record, 1), Group, 1));
    }

    /// <summary>Records written by the first format (version byte 1), as that format wrote them.</summary>
    public static TheoryData<string, ulong, Entry> Version1Records => new()
    {
        { "0103000000000000000200000000000000070000000000000001030000006162633FDBCD36", 7, Entry.Normal(new LogId(3, 2, 7), "abc"u8.ToArray()) },
        { "010300000000000000020000000000000008000000000000000087494E49", 8, Entry.Blank(new LogId(3, 2, 8)) },
        {
            "010400000000000000010000000000000009000000000000000201020000000100000000000000020000000000000003000000010000000000000000000000020000000000000000000000030000000000000000000000B04A96D0",
            9,
            Entry.ForMembership(new LogId(4, 1, 9), Membership.FromVoters([1, 2], [3]))
        },
    };

    [Theory]
    [MemberData(nameof(Version1Records))]
    public void RecordsOfTheFirstFormatStillRead(string hex, ulong index, Entry expected)
    {
        var record = Convert.FromHexString(hex);
        Assert.Equal(expected, LogRecordFormat.Decode(record, Group, index));
        Assert.Equal(expected.LogId, LogRecordFormat.DecodeLogId(record, Group, index));
    }

    [Fact]
    public void AFirstFormatRecordHoldingAnotherIndexIsCorruption()
    {
        // The blank entry of index 8 above, resealed under index 9: the checksum passes, the index inside does not.
        var record = Reseal(Convert.FromHexString("010300000000000000020000000000000008000000000000000087494E49"), 9);
        var error = Assert.Throws<LogCorruptionException>(() => LogRecordFormat.Decode(record, Group, 9));
        Assert.Contains("index 8", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(255)]
    public void AnyOtherVersionByteIsCorruptionNamingIt(byte version)
    {
        var record = Encode(Entry.Normal(new LogId(1, 0, 2), new byte[8]));
        record[0] = version;
        var error = Assert.Throws<LogCorruptionException>(() => LogRecordFormat.Decode(Reseal(record, 2), Group, 2));
        Assert.Contains($"version {version}", error.Message, StringComparison.Ordinal);
    }
}
