using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native.Keys;
using RaftToolkit.Native.Records;
using RocksDbSharp;
using static RaftToolkit.Native.Tests.TestEntries;

namespace RaftToolkit.Native.Tests.Records;

public sealed class CorruptionTests : IDisposable
{
    private const ulong Group = 42;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static byte[] Key(LogKeySpace space, ulong index) => StoreDamage.LogKey(space, Group, index);

    /// <summary>Rewrites the stored record at <paramref name="index"/> behind the store's back.</summary>
    private static void Tamper(RocksDbLogStore store, LogKeySpace space, ulong index, Action<byte[]> change) =>
        StoreDamage.Tamper(store, space, Group, index, change);

    /// <summary>Flips a bit of the group's stored <paramref name="label"/> record behind the store's back.</summary>
    private static void TamperMeta(RocksDbLogStore store, MetaLabel label) => StoreDamage.TamperMeta(store, LogKeySpace.GroupPrefixed, Group, label);

    /// <summary>
    /// Keys that are not log keys, in the group's log range after its entries 0..2: one byte
    /// short (the group id and seven index bytes, sorting after entry 255), and one byte long
    /// (entry 3's key and a zero), holding a record that is valid for entry 3.
    /// </summary>
    private static byte[] MalformedKey(LogKeySpace space, bool shorter)
    {
        if (!shorter)
        {
            return [.. Key(space, 3), 0];
        }

        var key = Key(space, 1 << 8);
        return key[..^1];
    }

    /// <summary>
    /// A group-prefixed store, written by <paramref name="write"/> and flushed to a table file
    /// stored uncompressed, then damaged where that file holds <paramref name="marker"/> (so in
    /// the block holding the entry it is the payload of), and reopened.
    /// </summary>
    private async Task<RocksDbLogStore> ReopenedWithDamageAt(byte[] marker, Func<RocksDbLogStore, Task> write)
    {
        string path = _dir.Sub(Guid.NewGuid().ToString("N"));
        var options = new RocksDbLogStoreOptions { KeySpace = LogKeySpace.GroupPrefixed, Compression = Compression.No };
        await using (var store = RocksDbLogStore.Open(path, options))
        {
            await write(store);
            StoreDamage.FlushLog(store);
        }

        await StoreDamage.FlipByteOf(path, marker);
        return RocksDbLogStore.Open(path, options);
    }

    private async Task<RocksDbLogStore> StoreWithEntries(LogKeySpace space)
    {
        var store = RocksDbLogStore.Open(_dir.Sub(space.ToString()), new RocksDbLogStoreOptions { KeySpace = space, FlatGroupId = Group });
        await store.ForGroup(Group).AppendAsync(Range(1, 0, 3, payloadBytes: 32), IgnoringCallback.Instance);
        return store;
    }

    [Theory]
    [InlineData(LogKeySpace.Flat)]
    [InlineData(LogKeySpace.GroupPrefixed)]
    public async Task AFlippedByteInARecordIsReportedAsCorruptionNamingGroupAndIndex(LogKeySpace space)
    {
        await using var store = await StoreWithEntries(space);
        Tamper(store, space, 1, record => record[record.Length / 2] ^= 0x10);

        var error = await Assert.ThrowsAsync<LogCorruptionException>(async () => await store.ForGroup(Group).TryGetLogEntriesAsync(0, 3));
        Assert.Equal(Group, error.GroupId);
        Assert.Equal(1UL, error.Index);
        Assert.Contains("checksum", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(LogKeySpace.Flat)]
    [InlineData(LogKeySpace.GroupPrefixed)]
    public async Task AWrongVersionByteIsReportedAsCorruptionNamingGroupAndIndex(LogKeySpace space)
    {
        await using var store = await StoreWithEntries(space);
        Tamper(store, space, 2, record => record[0] = 9);

        var error = await Assert.ThrowsAsync<LogCorruptionException>(async () => await store.ForGroup(Group).GetLogIdAsync(2));
        Assert.Equal(Group, error.GroupId);
        Assert.Equal(2UL, error.Index);
        Assert.Contains("version 9", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARecordCopiedUnderAnotherIndexIsReportedAsCorruption()
    {
        await using var store = await StoreWithEntries(LogKeySpace.GroupPrefixed);
        var family = store.Database.GetColumnFamily(RocksDbLogStoreOptions.DefaultLogColumnFamily);
        store.Database.Put(Key(LogKeySpace.GroupPrefixed, 1), store.Database.Get(Key(LogKeySpace.GroupPrefixed, 0), family), family);

        var error = await Assert.ThrowsAsync<LogCorruptionException>(async () => await store.ForGroup(Group).TryGetLogEntriesAsync(1, 2));
        Assert.Equal(1UL, error.Index);
    }

    [Fact]
    public async Task ARecordCopiedUnderAnotherGroupsKeyAtTheSameIndexIsReportedAsCorruptionNamingThatGroup()
    {
        // Same index, same term and payload: only the group the key names tells the records apart.
        const ulong OtherGroup = Group + 1;
        await using var store = await StoreWithEntries(LogKeySpace.GroupPrefixed);
        var family = store.Database.GetColumnFamily(RocksDbLogStoreOptions.DefaultLogColumnFamily);
        var key = new byte[LogKeys.MaxKeyLength];
        int length = LogKeys.WriteLogKey(key, LogKeySpace.GroupPrefixed, OtherGroup, 1);
        store.Database.Put(key[..length], store.Database.Get(Key(LogKeySpace.GroupPrefixed, 1), family), family);

        var error = await Assert.ThrowsAsync<LogCorruptionException>(async () => await store.ForGroup(OtherGroup).GetLogIdAsync(1));
        Assert.Equal(OtherGroup, error.GroupId);
        Assert.Equal(1UL, error.Index);
        Assert.Contains("checksum", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACorruptLastRecordFailsLoadingTheGroupRatherThanGuessingItsEnd()
    {
        string path;
        await using (var store = await StoreWithEntries(LogKeySpace.GroupPrefixed))
        {
            Tamper(store, LogKeySpace.GroupPrefixed, 2, record => record[^1] ^= 1);
            path = _dir.Sub(nameof(LogKeySpace.GroupPrefixed));
        }

        await using var reopened = RocksDbLogStore.Open(path);
        var error = await Assert.ThrowsAsync<LogCorruptionException>(async () => await reopened.ForGroup(Group).GetLogStateAsync());
        Assert.Equal(2UL, error.Index);
    }

    /// <summary>
    /// The way back from a damaged group is to drop it and replicate it afresh: removal needs
    /// neither of the group's ends, so damage to them does not stand in its way, and the group
    /// takes new entries from index 0 afterwards, in this store and after a reopen.
    /// </summary>
    [Theory]
    [InlineData("last entry")]
    [InlineData("purge mark")]
    public async Task AGroupWhoseStoredEndsAreDamagedCanBeRemovedAndWrittenAfresh(string damaged)
    {
        string path;
        await using (var store = await StoreWithEntries(LogKeySpace.GroupPrefixed))
        {
            path = _dir.Sub(nameof(LogKeySpace.GroupPrefixed));
            if (damaged == "last entry")
            {
                Tamper(store, LogKeySpace.GroupPrefixed, 2, record => record[^1] ^= 1);
            }
            else
            {
                await store.ForGroup(Group).PurgeAsync(Id(1, 0));
                TamperMeta(store, MetaLabel.LastPurged);
            }
        }

        await using (var reopened = RocksDbLogStore.Open(path))
        {
            await Assert.ThrowsAnyAsync<RaftStorageException>(async () => await reopened.ForGroup(Group).GetLogStateAsync());
            await reopened.RemoveGroupAsync(Group);
            Assert.DoesNotContain(Group, await reopened.ListGroupsAsync());
            await reopened.ForGroup(Group).AppendAsync(Range(2, 0, 1), IgnoringCallback.Instance);
        }

        await using var again = RocksDbLogStore.Open(path);
        Assert.Equal(new LogState(null, Id(2, 0)), await again.ForGroup(Group).GetLogStateAsync());
        Assert.Equal(Range(2, 0, 1), await again.ForGroup(Group).TryGetLogEntriesAsync(0, 10));
    }

    /// <summary>
    /// Damage below the record format: a flipped byte in a table file on disk. RocksDB's block
    /// checksum catches it, and the store reports it as corruption of the first entry it could
    /// not read, for range and point reads alike; the other groups in the same file read on.
    /// </summary>
    [Fact]
    public async Task AFlippedByteInATableFileIsReportedAsCorruptionNamingGroupAndIndex()
    {
        string path = _dir.Sub("table");
        var options = new RocksDbLogStoreOptions { KeySpace = LogKeySpace.GroupPrefixed };
        await using (var store = RocksDbLogStore.Open(path, options))
        {
            for (ulong group = 1; group <= 3; group++)
            {
                await store.ForGroup(group).AppendAsync(Range(1, 0, 200, payloadBytes: 100), IgnoringCallback.Instance);
            }

            StoreDamage.FlushLog(store);
        }

        // The log's table is the largest (the meta family holds a few bytes), and its first data
        // block holds group 1's first entries: keys sort by group, then index.
        string table = Directory.GetFiles(path, "*.sst").MaxBy(file => new FileInfo(file).Length)!;
        var bytes = await File.ReadAllBytesAsync(table);
        bytes[10] ^= 0x40;
        await File.WriteAllBytesAsync(table, bytes);

        await using var reopened = RocksDbLogStore.Open(path, options);
        var range = await Assert.ThrowsAsync<LogCorruptionException>(async () => await reopened.ForGroup(1).TryGetLogEntriesAsync(0, 200));
        Assert.Equal(1UL, range.GroupId);
        Assert.Equal(0UL, range.Index);
        Assert.Contains("block checksum mismatch", range.Message, StringComparison.Ordinal);

        var point = await Assert.ThrowsAsync<LogCorruptionException>(async () => await reopened.ForGroup(1).GetLogIdAsync(3));
        Assert.Equal(3UL, point.Index);

        Assert.Equal(200, (await reopened.ForGroup(3).TryGetLogEntriesAsync(0, 200)).Count);
    }

    /// <summary>
    /// Loading a group finds its last entry by one backward seek, which cannot tell which entry a
    /// damaged block held. The store then reads the group's log forward, and names the first
    /// entry of the damaged block, as a range read does.
    /// </summary>
    [Fact]
    public async Task ADamagedBlockHoldingAGroupsLastEntriesFailsLoadingItNamingTheFirstEntryItHolds()
    {
        var marker = "the last entry of group 1"u8.ToArray();
        await using var reopened = await ReopenedWithDamageAt(marker, async store =>
        {
            await store.ForGroup(1).AppendAsync(Range(1, 0, 199, payloadBytes: 100), IgnoringCallback.Instance);
            await store.ForGroup(1).AppendAsync(new[] { Entry.Normal(new LogId(1, 0, 199), marker) }, IgnoringCallback.Instance);
            await store.ForGroup(3).AppendAsync(Range(1, 0, 200, payloadBytes: 100), IgnoringCallback.Instance);
        });
        var error = await Assert.ThrowsAsync<LogCorruptionException>(async () => await reopened.ForGroup(1).GetLogStateAsync());
        Assert.Equal(1UL, error.GroupId);
        Assert.InRange(error.Index, 1UL, 199UL);
        Assert.Contains("block checksum mismatch", error.Message, StringComparison.Ordinal);

        // The damaged block starts at the named entry: everything before it reads.
        Assert.Equal((int)error.Index, (await reopened.ForGroup(1).TryGetLogEntriesAsync(0, error.Index)).Count);
        Assert.Equal(new LogId(1, 0, 199), (await reopened.ForGroup(3).GetLogStateAsync()).LastLogId);
    }

    /// <summary>
    /// The backward seek that finds a group's last entry can land in the next group's first
    /// block. Damage there belongs to the next group: this group still loads, and only reads of
    /// the damaged group fail.
    /// </summary>
    [Fact]
    public async Task ADamagedBlockOfTheNextGroupDoesNotStopAGroupFromLoading()
    {
        var marker = "the first entry of group 2"u8.ToArray();
        await using var reopened = await ReopenedWithDamageAt(marker, async store =>
        {
            await store.ForGroup(1).SaveVoteAsync(new Vote(new LeaderId(1, 1), false));
            await store.ForGroup(2).AppendAsync(new[] { Entry.Normal(new LogId(1, 0, 0), marker) }, IgnoringCallback.Instance);
            await store.ForGroup(2).AppendAsync(Range(1, 1, 99, payloadBytes: 100), IgnoringCallback.Instance);
        });
        var state = await reopened.ForGroup(1).GetLogStateAsync();
        Assert.Null(state.LastLogId);
        await reopened.ForGroup(1).AppendAsync(Range(2, 0, 1), IgnoringCallback.Instance);

        var error = await Assert.ThrowsAsync<LogCorruptionException>(async () => await reopened.ForGroup(2).TryGetLogEntriesAsync(0, 10));
        Assert.Equal((2UL, 0UL), (error.GroupId, error.Index));
    }

    /// <summary>
    /// A key of the wrong length among a group's log keys is not an entry, even one holding a
    /// record valid for the index it starts with: a read that meets it fails as corruption
    /// naming the group and the index it was due to read, and returns none of it.
    /// </summary>
    [Theory]
    [InlineData(LogKeySpace.Flat, true)]
    [InlineData(LogKeySpace.Flat, false)]
    [InlineData(LogKeySpace.GroupPrefixed, true)]
    [InlineData(LogKeySpace.GroupPrefixed, false)]
    public async Task AKeyOfTheWrongLengthAmongAGroupsEntriesIsReportedAsCorruptionNamingWhereItLies(LogKeySpace space, bool shorter)
    {
        await using var store = await StoreWithEntries(space);
        StoreDamage.PutLogKey(store, MalformedKey(space, shorter), LogRecordFormat.Encode(Range(1, 3, 1, payloadBytes: 32)[0], space, Group));

        var error = await Assert.ThrowsAsync<LogCorruptionException>(async () => await store.ForGroup(Group).TryGetLogEntriesAsync(0, 1000));
        Assert.Equal((Group, 3UL), (error.GroupId, error.Index));
        Assert.Contains($"a key of {MalformedKey(space, shorter).Length} bytes", error.Message, StringComparison.Ordinal);

        // Reads that stop before it are not affected.
        Assert.Equal(Range(1, 0, 3, payloadBytes: 32), await store.ForGroup(Group).TryGetLogEntriesAsync(0, 3));
    }

    /// <summary>
    /// Loading a group finds its last entry by one backward seek. A key of the group that is
    /// not a log key, sorting after its last entry, must not pass for "no entries" (the group
    /// would load empty, and take appends from index 0 over its entries): the load reads the
    /// log forward instead, and fails naming where the stray key lies.
    /// </summary>
    [Theory]
    [InlineData(LogKeySpace.Flat)]
    [InlineData(LogKeySpace.GroupPrefixed)]
    public async Task AStrayKeyAfterAGroupsLastEntryFailsLoadingItRatherThanHidingItsEntries(LogKeySpace space)
    {
        string path = _dir.Sub(space.ToString());
        var options = new RocksDbLogStoreOptions { KeySpace = space, FlatGroupId = Group };
        await using (var store = RocksDbLogStore.Open(path, options))
        {
            await store.ForGroup(Group).AppendAsync(Range(1, 0, 5), IgnoringCallback.Instance);

            // The group's prefix (none in the flat space) and one 0xff byte: after every entry
            // below 0xff00..., and below the probe's key.
            StoreDamage.PutLogKey(store, [.. Key(space, 0)[..^sizeof(ulong)], 0xff], [0]);
        }

        await using var reopened = RocksDbLogStore.Open(path, options);
        var error = await Assert.ThrowsAsync<LogCorruptionException>(async () => await reopened.ForGroup(Group).GetLogStateAsync());
        Assert.Equal((Group, 5UL), (error.GroupId, error.Index));
        await Assert.ThrowsAsync<LogCorruptionException>(async () => await reopened.ForGroup(Group).AppendAsync(Range(1, 0, 1), IgnoringCallback.Instance));
    }

    /// <summary>
    /// A read may start below a group's log (the contract allows holes at the ends). When the
    /// first block it meets is damaged, the error names the first index the log can hold, the
    /// one after its last purged index, not the read's start: that entry is in the block.
    /// </summary>
    [Fact]
    public async Task ADamagedBlockMetByAReadStartingBelowTheLogIsNamedByTheLogsFirstIndex()
    {
        var marker = "the first entry of group 42 after its purge"u8.ToArray();
        await using var reopened = await ReopenedWithDamageAt(marker, async store =>
        {
            var log = store.ForGroup(Group);
            await log.PurgeAsync(new LogId(1, 0, 99));
            await log.AppendAsync(new[] { Entry.Normal(new LogId(1, 0, 100), marker) }, IgnoringCallback.Instance);
            await log.AppendAsync(Range(1, 101, 199, payloadBytes: 100), IgnoringCallback.Instance);
        });

        var error = await Assert.ThrowsAsync<LogCorruptionException>(async () => await reopened.ForGroup(Group).TryGetLogEntriesAsync(0, 300));
        Assert.Equal((Group, 100UL), (error.GroupId, error.Index));
        Assert.Contains("block checksum mismatch", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFlippedBitInAStoredVoteIsReportedAsCorruptionNamingGroupAndValue()
    {
        await using var store = await StoreWithEntries(LogKeySpace.GroupPrefixed);
        await store.ForGroup(Group).SaveVoteAsync(new Vote(new LeaderId(9, 2), true));
        TamperMeta(store, MetaLabel.Vote);

        var error = await Assert.ThrowsAsync<MetaRecordCorruptionException>(async () => await store.ForGroup(Group).ReadVoteAsync());
        Assert.Equal(Group, error.GroupId);
        Assert.Equal(MetaLabel.Vote, error.Label);
    }
}
