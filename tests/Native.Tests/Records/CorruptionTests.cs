using RaftToolkit.Core.Storage;
using RaftToolkit.Native.Keys;
using RocksDbSharp;
using static RaftToolkit.Native.Tests.TestEntries;

namespace RaftToolkit.Native.Tests.Records;

public sealed class CorruptionTests : IDisposable
{
    private const ulong Group = 42;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static byte[] Key(LogKeySpace space, ulong index)
    {
        var key = new byte[16];
        return key[..LogKeys.WriteLogKey(key, space, Group, index)];
    }

    /// <summary>Rewrites the stored record at <paramref name="index"/> behind the store's back.</summary>
    private static void Tamper(RocksDbLogStore store, LogKeySpace space, ulong index, Action<byte[]> change)
    {
        var family = store.Database.GetColumnFamily(RocksDbLogStoreOptions.DefaultLogColumnFamily);
        var key = Key(space, index);
        var record = store.Database.Get(key, family) ?? throw new InvalidOperationException("record missing");
        change(record);
        store.Database.Put(key, record, family);
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
}
