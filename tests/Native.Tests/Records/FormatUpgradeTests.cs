using RaftToolkit.Core.Codec;
using RaftToolkit.Core.Model;
using RaftToolkit.Native.Keys;
using static RaftToolkit.Native.Tests.TestEntries;

namespace RaftToolkit.Native.Tests.Records;

/// <summary>A database written in the first record format, opened by today's store.</summary>
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
        return RecordChecksum.Reseal(record, entry.Index);
    }

    [Fact]
    public async Task AGroupWrittenInTheFirstFormatLoadsReadsAndTakesNewAppendsInTheSecond()
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
                db.Put(key[..length], Version1Record(entry), family);
            }
        }

        await using var store = RocksDbLogStore.Open(path);
        var log = store.ForGroup(Group);
        Assert.Equal(old[^1].LogId, (await log.GetLogStateAsync()).LastLogId);
        Assert.Equal(old[1].LogId, await log.GetLogIdAsync(1));

        var appended = Range(term: 2, first: 3, count: 2);
        await log.AppendAsync(appended, IgnoringCallback.Instance);
        Assert.Equal([.. old, .. appended], await log.TryGetLogEntriesAsync(0, 5));
    }
}
