using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native.Keys;
using static RaftToolkit.Native.Tests.TestEntries;

namespace RaftToolkit.Native.Tests;

/// <summary>A database remembers the key space its log was written in, and refuses the other one.</summary>
public sealed class KeySpaceMarkerTests : IDisposable
{
    private const ulong Group = 3;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static RocksDbLogStoreOptions In(LogKeySpace space) => new() { KeySpace = space, FlatGroupId = Group };

    private async Task<string> DatabaseWrittenIn(LogKeySpace space)
    {
        string path = _dir.Sub(space.ToString());
        await using var store = RocksDbLogStore.Open(path, In(space));
        var log = store.ForGroup(Group);
        await log.AppendAsync(Range(2, 0, 3), IgnoringCallback.Instance);
        await log.SaveVoteAsync(new Vote(new LeaderId(2, 1), true));
        return path;
    }

    [Theory]
    [InlineData(LogKeySpace.GroupPrefixed, LogKeySpace.Flat)]
    [InlineData(LogKeySpace.Flat, LogKeySpace.GroupPrefixed)]
    public async Task OpeningInTheOtherKeySpaceIsRefusedAndChangesNothing(LogKeySpace written, LogKeySpace requested)
    {
        string path = await DatabaseWrittenIn(written);

        var error = Assert.Throws<KeySpaceMismatchException>(() => RocksDbLogStore.Open(path, In(requested)));
        Assert.Equal(written, error.Stored);
        Assert.Equal(requested, error.Requested);
        Assert.Contains(written.ToString(), error.Message, StringComparison.Ordinal);

        await using var store = RocksDbLogStore.Open(path, In(written));
        var log = store.ForGroup(Group);
        Assert.Equal(Id(2, 2), (await log.GetLogStateAsync()).LastLogId);
        Assert.Equal(new Vote(new LeaderId(2, 1), true), await log.ReadVoteAsync());
    }

    [Fact]
    public async Task AttachingInTheOtherKeySpaceIsRefusedToo()
    {
        string path = await DatabaseWrittenIn(LogKeySpace.GroupPrefixed);
        using var db = RocksDbLogStore.OpenDatabase(path, In(LogKeySpace.GroupPrefixed));
        Assert.Throws<KeySpaceMismatchException>(() => RocksDbLogStore.Attach(db, In(LogKeySpace.Flat)));
    }

    [Fact]
    public async Task ADatabaseWithoutAMarkerTakesTheKeySpaceItIsFirstOpenedIn()
    {
        string path = await DatabaseWrittenIn(LogKeySpace.GroupPrefixed);
        using (var db = RocksDbLogStore.OpenDatabase(path, In(LogKeySpace.GroupPrefixed)))
        {
            db.Remove(LogKeys.KeySpaceMarkerKey.ToArray(), db.GetColumnFamily(RocksDbLogStoreOptions.DefaultMetaColumnFamily));
        }

        await using (var store = RocksDbLogStore.Open(path, In(LogKeySpace.GroupPrefixed)))
        {
            Assert.Equal(Id(2, 2), (await store.ForGroup(Group).GetLogStateAsync()).LastLogId);
        }

        Assert.Throws<KeySpaceMismatchException>(() => RocksDbLogStore.Open(path, In(LogKeySpace.Flat)));
    }

    /// <summary>
    /// A database written before the marker existed still tells its key space, by the length of
    /// its log keys: opened in the other one, it is refused before the marker is written, and
    /// opens in its own.
    /// </summary>
    [Theory]
    [InlineData(LogKeySpace.GroupPrefixed, LogKeySpace.Flat)]
    [InlineData(LogKeySpace.Flat, LogKeySpace.GroupPrefixed)]
    public async Task ADatabaseWithoutAMarkerIsRefusedTheKeySpaceItsLogKeysContradict(LogKeySpace written, LogKeySpace requested)
    {
        string path = await DatabaseWrittenIn(written);
        using (var db = RocksDbLogStore.OpenDatabase(path, In(written)))
        {
            db.Remove(LogKeys.KeySpaceMarkerKey.ToArray(), db.GetColumnFamily(RocksDbLogStoreOptions.DefaultMetaColumnFamily));
        }

        var error = Assert.Throws<KeySpaceMismatchException>(() => RocksDbLogStore.Open(path, In(requested)));
        Assert.Equal((written, requested), (error.Stored, error.Requested));
        Assert.Contains($"its keys in column family 'raft_log' are {LogKeys.LogKeyLength(written)} bytes long", error.Message, StringComparison.Ordinal);

        await using var store = RocksDbLogStore.Open(path, In(written));
        Assert.Equal(Id(2, 2), (await store.ForGroup(Group).GetLogStateAsync()).LastLogId);
    }

    /// <summary>
    /// Log keys tell the key space only without a marker, and only when the first and last
    /// agree: one stray key of the other length at the start of a group-prefixed log (reads
    /// report such keys where they lie) must not lock the database out of its own key space.
    /// </summary>
    [Fact]
    public async Task OneStrayKeyOfTheOtherLengthLocksNoDatabaseOutOfItsKeySpace()
    {
        string path = await DatabaseWrittenIn(LogKeySpace.GroupPrefixed);
        using (var db = RocksDbLogStore.OpenDatabase(path, In(LogKeySpace.GroupPrefixed)))
        {
            db.Put(new byte[LogKeys.LogKeyLength(LogKeySpace.Flat)], new byte[] { 0 }, db.GetColumnFamily(RocksDbLogStoreOptions.DefaultLogColumnFamily));
        }

        await using (var store = RocksDbLogStore.Open(path, In(LogKeySpace.GroupPrefixed)))
        {
            Assert.Equal(Id(2, 2), (await store.ForGroup(Group).GetLogStateAsync()).LastLogId);
        }

        // Without the marker too: the last key is a group-prefixed one.
        using (var db = RocksDbLogStore.OpenDatabase(path, In(LogKeySpace.GroupPrefixed)))
        {
            db.Remove(LogKeys.KeySpaceMarkerKey.ToArray(), db.GetColumnFamily(RocksDbLogStoreOptions.DefaultMetaColumnFamily));
        }

        await using var reopened = RocksDbLogStore.Open(path, In(LogKeySpace.GroupPrefixed));
        Assert.Equal(Id(2, 2), (await reopened.ForGroup(Group).GetLogStateAsync()).LastLogId);
    }

    /// <summary>
    /// The marker lives in the meta column family. A log opened beside another meta family (one
    /// created by this very open, with no marker) is still checked, by its own keys.
    /// </summary>
    [Fact]
    public async Task ALogOpenedBesideAnotherMetaFamilyIsCheckedByItsOwnKeys()
    {
        string path = await DatabaseWrittenIn(LogKeySpace.GroupPrefixed);
        var besideAnotherMeta = In(LogKeySpace.Flat);
        besideAnotherMeta.MetaColumnFamily = "other_meta";

        var error = Assert.Throws<KeySpaceMismatchException>(() => RocksDbLogStore.Open(path, besideAnotherMeta));
        Assert.Equal(LogKeySpace.GroupPrefixed, error.Stored);
    }

    /// <summary>
    /// A refused open changes nothing, not even by the column families it creates: a flat
    /// database opened group-prefixed, with a log family it does not have yet, is refused (by the
    /// marker) and left with the families it had.
    /// </summary>
    [Fact]
    public async Task ARefusedOpenLeavesNoColumnFamilyItCreated()
    {
        string path = await DatabaseWrittenIn(LogKeySpace.Flat);
        var inANewLogFamily = In(LogKeySpace.GroupPrefixed);
        inANewLogFamily.LogColumnFamily = "new_log";

        Assert.Throws<KeySpaceMismatchException>(() => RocksDbLogStore.Open(path, inANewLogFamily));

        Assert.Equal(["default", "raft_log", "raft_meta"], RocksDbSharp.RocksDb.ListColumnFamilies(new RocksDbSharp.DbOptions(), path).Order());
        await using var store = RocksDbLogStore.Open(path, In(LogKeySpace.Flat));
        Assert.Equal(Id(2, 2), (await store.ForGroup(Group).GetLogStateAsync()).LastLogId);
    }

    /// <summary>A database without a marker, opened read-only (as a tool inspecting a running host's store does): a typed error, not the binding's.</summary>
    [Fact]
    public async Task AttachingWithoutAMarkerToADatabaseOpenedReadOnlyIsATypedError()
    {
        string path = await DatabaseWrittenIn(LogKeySpace.GroupPrefixed);
        using (var db = RocksDbLogStore.OpenDatabase(path, In(LogKeySpace.GroupPrefixed)))
        {
            db.Remove(LogKeys.KeySpaceMarkerKey.ToArray(), db.GetColumnFamily(RocksDbLogStoreOptions.DefaultMetaColumnFamily));
        }

        var families = new RocksDbSharp.ColumnFamilies
        {
            { RocksDbLogStoreOptions.DefaultLogColumnFamily, new RocksDbSharp.ColumnFamilyOptions() },
            { RocksDbLogStoreOptions.DefaultMetaColumnFamily, new RocksDbSharp.ColumnFamilyOptions() },
        };
        using (var readOnly = RocksDbSharp.RocksDb.OpenReadOnly(new RocksDbSharp.DbOptions(), path, families, false))
        {
            var error = Assert.Throws<RaftStorageException>(() => RocksDbLogStore.Attach(readOnly, In(LogKeySpace.GroupPrefixed)));
            Assert.Contains("key-space marker", error.Message, StringComparison.Ordinal);
        }

        await using var store = RocksDbLogStore.Open(path, In(LogKeySpace.GroupPrefixed));
        Assert.Equal(Id(2, 2), (await store.ForGroup(Group).GetLogStateAsync()).LastLogId);
    }

    [Fact]
    public async Task AnUnreadableMarkerIsATypedErrorNamingTheColumnFamily()
    {
        string path = await DatabaseWrittenIn(LogKeySpace.Flat);
        using (var db = RocksDbLogStore.OpenDatabase(path, In(LogKeySpace.Flat)))
        {
            db.Put(LogKeys.KeySpaceMarkerKey.ToArray(), new byte[] { 9, 9 }, db.GetColumnFamily(RocksDbLogStoreOptions.DefaultMetaColumnFamily));
        }

        var error = Assert.Throws<RaftStorageException>(() => RocksDbLogStore.Open(path, In(LogKeySpace.Flat)));
        Assert.Contains(RocksDbLogStoreOptions.DefaultMetaColumnFamily, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheMarkerIsNotAGroup()
    {
        string path = await DatabaseWrittenIn(LogKeySpace.GroupPrefixed);
        await using var store = RocksDbLogStore.Open(path, In(LogKeySpace.GroupPrefixed));
        Assert.Equal([Group], await store.ListGroupsAsync());
    }

    [Fact]
    public async Task ANewDatabasesMarkerLeavesNoWriteInTheMemtableToPinItsFirstWal()
    {
        // A write in a column family's memtable keeps the WAL holding it alive, and a live WAL
        // cannot be reused: the marker, the meta column family's only write until a vote, would
        // keep every WAL after the first from being a reused one.
        using var db = RocksDbLogStore.OpenDatabase(_dir.Sub("new"), In(LogKeySpace.GroupPrefixed));
        await using (RocksDbLogStore.Attach(db, In(LogKeySpace.GroupPrefixed)))
        {
        }

        var meta = db.GetColumnFamily(RocksDbLogStoreOptions.DefaultMetaColumnFamily);
        Assert.Equal("0", db.GetProperty("rocksdb.num-entries-active-mem-table", meta));
        Assert.Equal([1, 1], db.Get(LogKeys.KeySpaceMarkerKey.ToArray(), meta));
    }
}
