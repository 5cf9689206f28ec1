using RaftToolkit.Native.Keys;
using static RaftToolkit.Native.Tests.TestEntries;

namespace RaftToolkit.Native.Tests;

public sealed class RocksDbLogStoreOptionsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task WalDirectoryReceivesTheWriteAheadLog()
    {
        string wal = _dir.Sub("wal");
        await using (var store = RocksDbLogStore.Open(_dir.Sub("db"), new RocksDbLogStoreOptions { WalDirectory = wal }))
        {
            await store.ForGroup(1).AppendAsync(Range(1, 0, 3), IgnoringCallback.Instance);
        }

        Assert.NotEmpty(Directory.GetFiles(wal, "*.log"));
        Assert.Empty(Directory.GetFiles(_dir.Sub("db"), "*.log"));
    }

    [Fact]
    public async Task RawTuningCallbacksSeeTheDatabaseAndEveryColumnFamilyByName()
    {
        int dbCalls = 0;
        var families = new List<string>();
        var options = new RocksDbLogStoreOptions
        {
            ConfigureDbOptions = _ => dbCalls++,
            ConfigureColumnFamilyOptions = (name, _) => families.Add(name),
        };
        await using (RocksDbLogStore.Open(_dir.Sub("db"), options))
        {
        }

        Assert.Equal(1, dbCalls);
        Assert.Contains(RocksDbLogStoreOptions.DefaultLogColumnFamily, families);
        Assert.Contains(RocksDbLogStoreOptions.DefaultMetaColumnFamily, families);
    }

    [Fact]
    public async Task StoreKeepsItsOwnCopyOfTheOptions()
    {
        var options = new RocksDbLogStoreOptions { KeySpace = LogKeySpace.Flat, FlatGroupId = 3 };
        await using var store = RocksDbLogStore.Open(_dir.Sub("db"), options);
        options.FlatGroupId = 4;
        Assert.Same(store.ForGroup(3), store.GetReader());
    }

    [Fact]
    public async Task TheDefaultWalSettingsReachRocksDbUnchanged()
    {
        // RocksDB sanitizes conflicting options silently (it once turned WAL reuse off under
        // point-in-time recovery); the OPTIONS file it writes shows what it really runs with.
        await using (RocksDbLogStore.Open(_dir.Sub("db")))
        {
        }

        string written = File.ReadAllText(Directory.GetFiles(_dir.Sub("db"), "OPTIONS-*").Max()!);
        Assert.Contains("wal_recovery_mode=kPointInTimeRecovery", written, StringComparison.Ordinal);
        Assert.Contains("recycle_log_file_num=2", written, StringComparison.Ordinal);
        Assert.Contains($"max_total_wal_size={256 << 20}", written, StringComparison.Ordinal);
    }

    [Fact]
    public void AWalBoundBelowOneWriteBufferIsRefused()
    {
        var options = new RocksDbLogStoreOptions { WriteBufferSize = 8 << 20, MaxTotalWalSize = 4 << 20 };
        var error = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
        Assert.Equal(nameof(RocksDbLogStoreOptions.MaxTotalWalSize), error.ParamName);
    }

    [Fact]
    public void DefaultsAreValid() => new RocksDbLogStoreOptions().Validate();

    [Fact]
    public void TheDefaultColumnFamilyIsRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => new RocksDbLogStoreOptions { MetaColumnFamily = "default" }.Validate());
        Assert.Equal(nameof(RocksDbLogStoreOptions.MetaColumnFamily), error.ParamName);
    }
}
