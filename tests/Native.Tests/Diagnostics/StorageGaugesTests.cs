using System.Diagnostics.Metrics;
using RaftToolkit.Native.Diagnostics;
using RocksDbSharp;
using static RaftToolkit.Native.Tests.TestEntries;

namespace RaftToolkit.Native.Tests.Diagnostics;

public sealed class StorageGaugesTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Asks every storage gauge for its measurements now; returns those of <paramref name="database"/>, by gauge name.</summary>
    private static Dictionary<string, long> Gauges(string database)
    {
        var seen = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == StorageMetrics.MeterName && instrument is ObservableGauge<long>)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == StorageMetrics.DatabaseTag && (string?)tag.Value == database)
                {
                    Assert.True(seen.TryAdd(instrument.Name, value), $"{instrument.Name} reported the store twice");
                }
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return seen;
    }

    [Fact]
    public async Task GaugesReportEachOpenStoresRocksDbStateUnderItsPath()
    {
        string path = _dir.Sub("db");
        var store = RocksDbLogStore.Open(path);
        for (ulong group = 1; group <= 3; group++)
        {
            await store.ForGroup(group).AppendAsync(Range(1, 0, 10, payloadBytes: 1000), IgnoringCallback.Instance);
        }

        var open = Gauges(path);
        Assert.InRange(open["raftkit.storage.memtable_bytes"], 30 * 1000, long.MaxValue);
        Assert.Equal(3, open["raftkit.storage.cached_groups"]);
        Assert.Equal(0, open["raftkit.storage.immutable_memtables"]);
        Assert.Equal(0, open["raftkit.storage.writes_stopped"]);
        Assert.Equal(0, open["raftkit.storage.delayed_write_rate"]);
        Assert.True(open.ContainsKey("raftkit.storage.pending_compaction_bytes"));

        var database = store.Database;
        var flush = new FlushOptions().SetWaitForFlush(true);
        RocksDbSharp.Native.Instance.rocksdb_flush_cf(database.Handle, flush.Handle, database.GetColumnFamily(RocksDbLogStoreOptions.DefaultLogColumnFamily).Handle, out nint error);
        Assert.Equal(0, error);
        var flushed = Gauges(path);
        Assert.Equal(open["raftkit.storage.level0_files"] + 1, flushed["raftkit.storage.level0_files"]);
        Assert.InRange(flushed["raftkit.storage.sst_bytes"], open["raftkit.storage.sst_bytes"] + 1, long.MaxValue);
        Assert.InRange(flushed["raftkit.storage.memtable_bytes"], 0, open["raftkit.storage.memtable_bytes"] - (30 * 1000));

        await store.DisposeAsync();
        Assert.Empty(Gauges(path));
    }

    [Fact]
    public async Task AttachedStoresAreReportedUnderNamesOfTheirOwn()
    {
        var options = new RocksDbLogStoreOptions();
        using var firstDb = RocksDbLogStore.OpenDatabase(_dir.Sub("a"), options);
        using var secondDb = RocksDbLogStore.OpenDatabase(_dir.Sub("b"), options);
        await using var first = RocksDbLogStore.Attach(firstDb, options);
        await using var second = RocksDbLogStore.Attach(secondDb, options);
        await first.ForGroup(1).AppendAsync(Range(1, 0, 1), IgnoringCallback.Instance);

        Assert.StartsWith("attached-", first.MetricsName, StringComparison.Ordinal);
        Assert.NotEqual(first.MetricsName, second.MetricsName);
        Assert.Equal(1, Gauges(first.MetricsName)["raftkit.storage.cached_groups"]);
        Assert.Equal(0, Gauges(second.MetricsName)["raftkit.storage.cached_groups"]);
    }

    [Fact]
    public async Task AStoreNamedInItsOptionsIsReportedUnderThatNameAcrossAttaches()
    {
        var options = new RocksDbLogStoreOptions { Name = "tenant-logs" };
        using var db = RocksDbLogStore.OpenDatabase(_dir.Sub("db"), options);
        for (int attach = 1; attach <= 2; attach++)
        {
            await using var store = RocksDbLogStore.Attach(db, options);
            await store.ForGroup((ulong)attach).AppendAsync(Range(1, 0, 1), IgnoringCallback.Instance);
            Assert.Equal("tenant-logs", store.MetricsName);
            Assert.Equal(1, Gauges("tenant-logs")["raftkit.storage.cached_groups"]);
        }

        await using (var opened = RocksDbLogStore.Open(_dir.Sub("other"), new RocksDbLogStoreOptions { Name = "by-name" }))
        {
            Assert.True(Gauges("by-name").ContainsKey("raftkit.storage.cached_groups"));
            Assert.Empty(Gauges(_dir.Sub("other")));
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void ABlankNameIsRefused(string name)
    {
        var error = Assert.Throws<ArgumentException>(() => new RocksDbLogStoreOptions { Name = name }.Validate());
        Assert.Equal(nameof(RocksDbLogStoreOptions.Name), error.ParamName);
    }

    /// <summary>
    /// Under universal compaction every non-empty level is a sorted run that RocksDB's stall
    /// triggers count, and its estimate of pending compaction bytes stays 0: level-0 files alone
    /// would not show a stall coming. By level, only level-0 files count.
    /// </summary>
    [Theory]
    [InlineData(Compaction.Universal, 2)]
    [InlineData(Compaction.Level, 1)]
    public async Task SortedRunsCountWhatTheStallTriggersCountInEitherCompactionStyle(Compaction style, long runs)
    {
        var options = new RocksDbLogStoreOptions { LogCompactionStyle = style };
        using var db = RocksDbLogStore.OpenDatabase(_dir.Sub("db"), options);
        await using var store = RocksDbLogStore.Attach(db, options);
        var gauges = await GaugesWithABottomRunAndALevel0File(store);

        Assert.Equal(1, gauges["raftkit.storage.level0_files"]);
        Assert.Equal(runs, gauges["raftkit.storage.sorted_runs"]);
    }

    /// <summary>The style the raw tuning callback sets is the one RocksDB compacts by, and the one the gauge counts by.</summary>
    [Theory]
    [InlineData(Compaction.Level, Compaction.Universal, 2)]
    [InlineData(Compaction.Universal, Compaction.Level, 1)]
    public async Task SortedRunsCountByTheStyleTheRawTuningCallbackSet(Compaction configured, Compaction set, long runs)
    {
        var options = new RocksDbLogStoreOptions
        {
            LogCompactionStyle = configured,
            ConfigureColumnFamilyOptions = (name, family) =>
            {
                if (name == RocksDbLogStoreOptions.DefaultLogColumnFamily)
                {
                    family.SetCompactionStyle(set);
                }
            },
        };
        await using var store = RocksDbLogStore.Open(_dir.Sub("db"), options);
        var gauges = await GaugesWithABottomRunAndALevel0File(store);

        Assert.Equal(1, gauges["raftkit.storage.level0_files"]);
        Assert.Equal(runs, gauges["raftkit.storage.sorted_runs"]);
    }

    /// <summary>The gauges once group 1's log is one run at the bottom level and one level-0 file above it.</summary>
    private static async Task<Dictionary<string, long>> GaugesWithABottomRunAndALevel0File(RocksDbLogStore store)
    {
        var db = store.Database;
        var logFamily = db.GetColumnFamily(RocksDbLogStoreOptions.DefaultLogColumnFamily);
        var log = store.ForGroup(1);
        await log.AppendAsync(Range(1, 0, 10), IgnoringCallback.Instance);
        // Both families to their bottom level: flushes are atomic, so the meta family's first
        // table file (the key-space marker) comes with the log's.
        db.CompactRange((byte[]?)null, null, logFamily);
        db.CompactRange((byte[]?)null, null, db.GetColumnFamily(RocksDbLogStoreOptions.DefaultMetaColumnFamily));
        await log.AppendAsync(Range(1, 10, 10), IgnoringCallback.Instance);
        var flush = new FlushOptions().SetWaitForFlush(true);
        RocksDbSharp.Native.Instance.rocksdb_flush_cf(db.Handle, flush.Handle, logFamily.Handle, out nint error);
        Assert.Equal(0, error);
        return Gauges(store.MetricsName);
    }
}
