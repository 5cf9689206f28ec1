using System.Text.RegularExpressions;
using RaftToolkit.Core.Model;
using static RaftToolkit.Native.Tests.TestEntries;

namespace RaftToolkit.Native.Tests.Crash;

/// <summary>
/// A write is durable when its completion fires only if RocksDB synced the WAL before the write
/// returned. A killed process loses nothing the OS already holds, synced or not, so the crash
/// tests cannot tell the two apart; a power cut can. RocksDB counts the WAL writes and syncs it
/// performed, and these tests read that count.
/// </summary>
public sealed partial class SyncedWalTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>RocksDB's count of WAL writes and syncs since the database opened (its "Cumulative WAL" line).</summary>
    private static (long Writes, long Syncs) WalCounts(RocksDbLogStore store)
    {
        string stats = store.Database.GetProperty("rocksdb.dbstats");
        var line = CumulativeWal().Match(stats);
        Assert.True(line.Success, $"no cumulative WAL line in RocksDB's statistics:\n{stats}");
        return (long.Parse(line.Groups[1].Value), long.Parse(line.Groups[2].Value));
    }

    [GeneratedRegex(@"Cumulative WAL: (\d+) writes, (\d+) syncs")]
    private static partial Regex CumulativeWal();

    /// <summary>Writes one of each kind, each awaited before the next: seven writes.</summary>
    private static async Task WriteOneOfEachKind(RocksDbLogStore store)
    {
        var log = store.ForGroup(1);
        await log.AppendAsync(Range(1, 0, 3), IgnoringCallback.Instance);
        await log.AppendAsync(Range(1, 3, 3), IgnoringCallback.Instance);
        await log.SaveVoteAsync(new Vote(1, 0));
        await log.SaveCommittedAsync(Id(1, 2));
        await log.TruncateAfterAsync(Id(1, 4));
        await log.PurgeAsync(Id(1, 1));
        var batch = new Core.Storage.LogWriteBatch();
        batch.Append(2, Range(1, 0, 1));
        batch.SaveVote(3, new Vote(2, 0));
        await store.WriteAsync(batch);
    }

    [Fact]
    public async Task EveryWriteIsSyncedToTheWalBeforeItCompletes()
    {
        await using var store = RocksDbLogStore.Open(_dir.Sub("db"));
        var before = WalCounts(store);
        await WriteOneOfEachKind(store);
        var after = WalCounts(store);

        Assert.Equal(7, after.Writes - before.Writes);
        Assert.True(after.Syncs - before.Syncs == 7, $"RocksDB synced the WAL {after.Syncs - before.Syncs} times for 7 writes, each reported durable");
    }

    /// <summary>The count the test above reads does tell: without syncing, it stays where it was.</summary>
    [Fact]
    public async Task WritesOfAStoreOpenedWithoutSyncAreNotSynced()
    {
        await using var store = RocksDbLogStore.Open(_dir.Sub("db"), new RocksDbLogStoreOptions { SyncMode = LogSyncMode.NoSync });
        var before = WalCounts(store);
        await WriteOneOfEachKind(store);
        var after = WalCounts(store);

        Assert.Equal(7, after.Writes - before.Writes);
        Assert.Equal(0, after.Syncs - before.Syncs);
    }
}
