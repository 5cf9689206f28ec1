using RaftToolkit.Core.Codec;
using RaftToolkit.Core.Model;
using RaftToolkit.Native.Keys;
using RaftToolkit.Native.Records;
using static RaftToolkit.Native.Tests.TestEntries;

namespace RaftToolkit.Native.Tests.Records;

/// <summary>A database written in an earlier record format, opened by today's store.</summary>
public sealed class FormatUpgradeTests : IDisposable
{
    private const ulong Group = 5;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A record as format 1 wrote it: <c>[1 | wire encoding of the entry | XxHash3 of both, seeded with the index]</c>.</summary>
    private static byte[] Version1Record(in Entry entry)
    {
        var framed = WireCodec.Encode(1, entry, ModelFormats.Entry);
        var record = new byte[framed.Length + sizeof(uint)];
        framed.CopyTo(record, 0);
        return RecordChecksum.ResealBeforeVersion3(record, entry.Index);
    }

    /// <summary>A record as format 2 wrote it: today's layout under version byte 2, its checksum over everything before it, seeded with the index.</summary>
    private static byte[] Version2Record(in Entry entry)
    {
        var record = LogRecordFormat.Encode(entry, LogKeySpace.GroupPrefixed, Group);
        record[0] = 2;
        return RecordChecksum.ResealBeforeVersion3(record, entry.Index);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task AGroupWrittenInAnEarlierFormatLoadsReadsAndTakesNewAppendsInTodays(int version)
    {
        string path = _dir.Sub("db");
        var old = Range(term: 1, first: 0, count: 3);
        using (var db = RocksDbLogStore.OpenDatabase(path, new RocksDbLogStoreOptions()))
        {
            var family = db.GetColumnFamily(RocksDbLogStoreOptions.DefaultLogColumnFamily);
            var key = new byte[LogKeys.MaxKeyLength];
            foreach (var entry in old)
            {
                int length = LogKeys.WriteLogKey(key, LogKeySpace.GroupPrefixed, Group, entry.Index);
                db.Put(key[..length], version == 1 ? Version1Record(entry) : Version2Record(entry), family);
            }
        }

        await using var store = RocksDbLogStore.Open(path);
        var log = store.ForGroup(Group);
        Assert.Equal(old[^1].LogId, (await log.GetLogStateAsync()).LastLogId);
        Assert.Equal(old[1].LogId, await log.GetLogIdAsync(1));

        var appended = Range(term: 2, first: 3, count: 2);
        await log.AppendAsync(appended, IgnoringCallback.Instance);
        Assert.Equal([.. old, .. appended], await log.TryGetLogEntriesAsync(0, 5));
        var newKey = new byte[LogKeys.MaxKeyLength];
        int newKeyLength = LogKeys.WriteLogKey(newKey, LogKeySpace.GroupPrefixed, Group, 3);
        var stored = store.Database.Get(newKey[..newKeyLength], store.Database.GetColumnFamily(RocksDbLogStoreOptions.DefaultLogColumnFamily));
        Assert.Equal(LogRecordFormat.Version, stored[0]);
    }

    [Fact]
    public async Task MetaValuesWrittenInTheFirstFormatReadAndAreRewrittenInTheSecondWhenSaved()
    {
        string path = _dir.Sub("meta");
        var vote = new Vote(new LeaderId(3, 2), true);
        var purged = new LogId(2, 1, 4);
        using (var db = RocksDbLogStore.OpenDatabase(path, new RocksDbLogStoreOptions()))
        {
            var family = db.GetColumnFamily(RocksDbLogStoreOptions.DefaultMetaColumnFamily);
            db.Put(MetaKey(MetaLabel.Vote), WireCodec.Encode(MetaRecordFormat.Version1, vote, ModelFormats.Vote), family);
            db.Put(MetaKey(MetaLabel.LastPurged), WireCodec.Encode(MetaRecordFormat.Version1, (LogId?)purged, ModelFormats.OptionalLogId), family);
        }

        await using var store = RocksDbLogStore.Open(path);
        var log = store.ForGroup(Group);
        Assert.Equal(vote, await log.ReadVoteAsync());
        Assert.Equal(new LogState(purged, purged), await log.GetLogStateAsync());

        var next = new Vote(new LeaderId(4, 1), false);
        await log.SaveVoteAsync(next);
        var stored = store.Database.Get(MetaKey(MetaLabel.Vote), store.Database.GetColumnFamily(RocksDbLogStoreOptions.DefaultMetaColumnFamily));
        Assert.Equal(MetaRecordFormat.Version, stored[0]);
        Assert.Equal(next, await log.ReadVoteAsync());
    }

    private static byte[] MetaKey(MetaLabel label)
    {
        var key = new byte[LogKeys.MaxKeyLength];
        return key[..LogKeys.WriteMetaKey(key, LogKeySpace.GroupPrefixed, Group, label)];
    }
}
