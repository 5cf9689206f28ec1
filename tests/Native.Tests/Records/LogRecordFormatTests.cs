using CommunityToolkit.HighPerformance.Buffers;
using CsCheck;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native.Keys;
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

    private const LogKeySpace Space = LogKeySpace.GroupPrefixed;

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

    private static byte[] Encode(in Entry entry) => LogRecordFormat.Encode(entry, Space, Group);

    [Fact]
    public void EveryEntryRoundTripsUnderItsIndexAtTheSizeRecordSizeStates()
    {
        Entries.Sample(entry =>
        {
            var record = Encode(entry);
            Assert.Equal(LogRecordFormat.RecordSize(entry), record.Length);
            Assert.Equal(entry, LogRecordFormat.Decode(record, Space, Group, entry.Index));
            Assert.Equal(entry.LogId, LogRecordFormat.DecodeLogId(record, Space, Group, entry.Index));
        });
    }

    [Fact]
    public void ANormalEntryOfASmallTermAndNodeCostsEightBytesOfFraming()
    {
        var entry = Entry.Normal(new LogId(3, 2, 1_000_000), new byte[128]);
        Assert.Equal(128 + 8, Encode(entry).Length);
    }

    [Fact]
    public void TheLayoutIsVersionKindTermNodeBodyAndAChecksumSealingItToItsGroupAndIndex()
    {
        var record = Encode(Entry.Normal(new LogId(300, 2, 7), "abc"u8.ToArray()));
        Assert.Equal("0301AC0202616263", Convert.ToHexString(record.AsSpan(0, record.Length - 4)));
        Assert.Equal(record, Reseal((byte[])record.Clone(), Group, 7));
    }

    [Fact]
    public void StagingLeavesOutANormalEntrysDataAndSaysWhereItGoes()
    {
        // The record of the layout test above: header 0301AC0202, data "abc", checksum.
        var expected = Reseal(Convert.FromHexString("0301AC0202616263" + "00000000"), Group, 7);
        using var staged = new ArrayPoolBufferWriter<byte>();
        staged.GetSpan(1)[0] = 0xEE;
        staged.Advance(1);

        int length = LogRecordFormat.EncodeFraming(staged, Entry.Normal(new LogId(300, 2, 7), "abc"u8.ToArray()), Space, Group, out int dataAt);

        Assert.Equal(5, dataAt);
        Assert.Equal(9, length);
        Assert.Equal("EE0301AC0202" + Convert.ToHexString(expected.AsSpan(^4)), Convert.ToHexString(staged.WrittenSpan));
    }

    /// <summary>The store's two ways to write a record, framing around the caller's data and the whole record staged, write the same bytes.</summary>
    [Fact]
    public void FramingWithTheDataSplicedInAtItsPlaceIsTheWholeRecord()
    {
        Entries.Sample(entry =>
        {
            using var framing = new ArrayPoolBufferWriter<byte>();
            int length = LogRecordFormat.EncodeFraming(framing, entry, Space, Group, out int dataAt);
            Assert.Equal(LogRecordFormat.FramingSize(entry), length);
            var staged = framing.WrittenSpan;
            byte[] spliced = [.. staged[..dataAt], .. LogRecordFormat.DataOf(entry).Span, .. staged[dataAt..]];

            using var whole = new ArrayPoolBufferWriter<byte>();
            Assert.Equal(LogRecordFormat.RecordSize(entry), LogRecordFormat.Encode(whole, entry, Space, Group));
            Assert.Equal(whole.WrittenSpan.ToArray(), spliced);
        });
    }

    [Fact]
    public void OtherKindsAreStagedWhole()
    {
        var entry = Entry.ForMembership(new LogId(4, 1, 9), Membership.FromVoters([1, 2], [3]));
        using var staged = new ArrayPoolBufferWriter<byte>();
        int length = LogRecordFormat.EncodeFraming(staged, entry, Space, Group, out int dataAt);
        Assert.Equal(length - 4, dataAt);
        Assert.True(LogRecordFormat.DataOf(entry).IsEmpty);
        Assert.Equal(Encode(entry), staged.WrittenSpan.ToArray());
    }

    public static TheoryData<Entry> OneEntryOfEachKind => new()
    {
        Entry.Blank(new LogId(4, 1, 9)),
        Entry.Normal(new LogId(4, 1, 9), "some application data"u8.ToArray()),
        Entry.ForMembership(new LogId(4, 1, 9), Membership.FromVoters([1, 2], [3])),
    };

    [Theory]
    [MemberData(nameof(OneEntryOfEachKind))]
    public void EverySingleFlippedBitIsCaughtAsCorruptionNamingGroupAndIndex(Entry entry)
    {
        var record = Encode(entry);
        for (int bit = 0; bit < record.Length * 8; bit++)
        {
            var damaged = (byte[])record.Clone();
            damaged[bit / 8] ^= (byte)(1 << (bit % 8));
            var error = Assert.Throws<LogCorruptionException>(() => LogRecordFormat.Decode(damaged, Space, Group, 9));
            Assert.Equal(Group, error.GroupId);
            Assert.Equal(9UL, error.Index);
        }
    }

    [Theory]
    [MemberData(nameof(OneEntryOfEachKind))]
    public void ARecordReadUnderAnotherIndexOrAnotherGroupFailsItsChecksum(Entry entry)
    {
        var record = Encode(entry);
        var underAnotherIndex = Assert.Throws<LogCorruptionException>(() => LogRecordFormat.Decode(record, Space, Group, entry.Index + 1));
        Assert.Contains("checksum", underAnotherIndex.Message, StringComparison.Ordinal);
        var underAnotherGroup = Assert.Throws<LogCorruptionException>(() => LogRecordFormat.Decode(record, Space, Group + 1, entry.Index));
        Assert.Contains("checksum", underAnotherGroup.Message, StringComparison.Ordinal);
        Assert.Equal(Group + 1, underAnotherGroup.GroupId);
    }

    [Fact]
    public void AFlatRecordIsSealedToItsIndexOnlyForFlatKeysNameNoGroup()
    {
        // A flat database's group id is a label in the store's options, not in its keys.
        var entry = Entry.Normal(new LogId(2, 1, 4), new byte[32]);
        var record = LogRecordFormat.Encode(entry, LogKeySpace.Flat, 1);
        Assert.Equal(entry, LogRecordFormat.Decode(record, LogKeySpace.Flat, 99, 4));
        Assert.Throws<LogCorruptionException>(() => LogRecordFormat.Decode(record, LogKeySpace.Flat, 1, 5));
    }

    [Fact]
    public void RecordsOfTheSecondFormatStillRead()
    {
        // Version 2: the same layout, its checksum over everything before it, seeded with the index only.
        var record = ResealBeforeVersion3(Convert.FromHexString("0201AC0202616263" + "00000000"), 7);
        var expected = Entry.Normal(new LogId(300, 2, 7), "abc"u8.ToArray());
        Assert.Equal(expected, LogRecordFormat.Decode(record, Space, Group, 7));
        Assert.Equal(expected, LogRecordFormat.Decode(record, Space, Group + 1, 7));
        Assert.Throws<LogCorruptionException>(() => LogRecordFormat.Decode(record, Space, Group, 8));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(7)]
    public void ARecordShorterThanItsFramingIsCorruption(int length)
    {
        var record = Encode(Entry.Blank(new LogId(0, 0, 1)));
        Assert.Equal(8, record.Length);
        var error = Assert.Throws<LogCorruptionException>(() => LogRecordFormat.Decode(record.AsSpan(0, length), Space, Group, 1));
        Assert.Contains("shorter than its framing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnknownKindUnderAValidChecksumIsCorruptionNotData()
    {
        var record = Encode(Entry.Blank(new LogId(1, 1, 3)));
        record[1] = 9;
        Reseal(record, Group, 3);
        var error = Assert.Throws<LogCorruptionException>(() => LogRecordFormat.Decode(record, Space, Group, 3));
        Assert.Contains("does not decode", error.Message, StringComparison.Ordinal);
        Assert.Throws<LogCorruptionException>(() => LogRecordFormat.DecodeLogId(record, Space, Group, 3));
    }

    [Fact]
    public void BytesAfterABlankEntryUnderAValidChecksumAreCorruption()
    {
        var record = Encode(Entry.Blank(new LogId(1, 1, 3)));
        var longer = new byte[record.Length + 1];
        record.AsSpan(0, record.Length - 4).CopyTo(longer);
        var error = Assert.Throws<LogCorruptionException>(() => LogRecordFormat.Decode(Reseal(longer, Group, 3), Space, Group, 3));
        Assert.Contains("does not decode", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ALeaderIdThatDoesNotFit64BitsUnderAValidChecksumIsCorruption()
    {
        // As a blank entry and as a normal one: the header does not parse, so no data is split off.
        foreach (string kind in new[] { "00", "01" })
        {
            var record = Convert.FromHexString("03" + kind + "FFFFFFFFFFFFFFFFFF0200" + "00000000");
            var error = Assert.Throws<LogCorruptionException>(() => LogRecordFormat.DecodeLogId(Reseal(record, Group, 1), Space, Group, 1));
            Assert.Contains("does not decode", error.Message, StringComparison.Ordinal);
        }
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
        Assert.Equal(expected, LogRecordFormat.Decode(record, Space, Group, index));
        Assert.Equal(expected.LogId, LogRecordFormat.DecodeLogId(record, Space, Group, index));
    }

    [Fact]
    public void AFirstFormatRecordHoldingAnotherIndexIsCorruption()
    {
        // The blank entry of index 8 above, resealed under index 9: the checksum passes, the index inside does not.
        var record = ResealBeforeVersion3(Convert.FromHexString("010300000000000000020000000000000008000000000000000087494E49"), 9);
        var error = Assert.Throws<LogCorruptionException>(() => LogRecordFormat.Decode(record, Space, Group, 9));
        Assert.Contains("index 8", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(255)]
    public void AnyOtherVersionByteIsCorruptionNamingIt(byte version)
    {
        var record = Encode(Entry.Normal(new LogId(1, 0, 2), new byte[8]));
        record[0] = version;
        var error = Assert.Throws<LogCorruptionException>(() => LogRecordFormat.Decode(Reseal(record, Group, 2), Space, Group, 2));
        Assert.Contains($"version {version}", error.Message, StringComparison.Ordinal);
    }
}
