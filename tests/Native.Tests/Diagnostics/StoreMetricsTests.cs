using static RaftToolkit.Native.Tests.TestEntries;

namespace RaftToolkit.Native.Tests.Diagnostics;

/// <summary>Runs alone: the store's instruments are process-wide, so exact counts need no other test writing meanwhile.</summary>
[CollectionDefinition(nameof(StoreMetricsTests), DisableParallelization = true)]
public sealed class StoreMetricsCollection;

[Collection(nameof(StoreMetricsTests))]
public sealed class StoreMetricsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A write is counted as synced only when it synced: a store without sync counts none, though every write carries its entries.</summary>
    [Theory]
    [InlineData(LogSyncMode.Sync, 1)]
    [InlineData(LogSyncMode.NoSync, 0)]
    public async Task OnlySyncedWritesAreCountedAsSynced(LogSyncMode mode, long synced)
    {
        await using var store = RocksDbLogStore.Open(_dir.Sub(mode.ToString()), new RocksDbLogStoreOptions { SyncMode = mode });
        await store.ForGroup(1).AppendAsync(Range(1, 0, 1), IgnoringCallback.Instance);

        using var measured = new StorageMeasurements();

        await store.ForGroup(1).AppendAsync(Range(1, 1, 3), IgnoringCallback.Instance);

        Assert.Equal(synced, measured.Sum("raftkit.storage.synced_writes"));
        Assert.Equal(3, measured.Sum("raftkit.storage.appends"));
        Assert.Equal([3], measured.EntriesPerWrite);
    }
}
