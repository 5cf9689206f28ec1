using System.Diagnostics.Metrics;

namespace RaftToolkit.Native.Diagnostics;

/// <summary>
/// The store's instruments, on the meter <see cref="MeterName"/>. Recording is tag-free so the
/// write path allocates nothing when a listener is attached.
/// </summary>
/// <remarks>
/// Besides what the write path records, observable gauges report each open store's RocksDB
/// state when a listener asks (tagged <c>raftkit.storage.database</c> with the store's name):
/// memtable bytes, immutable memtables waiting for a flush, level-0 files, sorted runs, bytes compaction is
/// behind, live table file bytes, RocksDB's write slowdown and stop, and the groups the store
/// caches. RocksDB slows and then stops writes when flushes or compactions fall behind; these
/// show it coming, where the write latency only shows it once it happened.
/// </remarks>
public static class StorageMetrics
{
    /// <summary>The meter's name: <c>RaftToolkit.Storage</c>.</summary>
    public const string MeterName = "RaftToolkit.Storage";

    private static readonly Meter StorageMeter = new(MeterName);

    /// <summary>Entries appended and acknowledged durable.</summary>
    internal static readonly Counter<long> Appends = StorageMeter.CreateCounter<long>("raftkit.storage.appends", "{entry}", "Log entries appended: written, and durable under LogSyncMode.Sync.");

    /// <summary>Bytes (keys and values) written in acknowledged writes.</summary>
    internal static readonly Counter<long> Bytes = StorageMeter.CreateCounter<long>("raftkit.storage.bytes", "By", "Key and value bytes written in successful writes.");

    /// <summary>Native writes issued by the coalescer (synced unless the store runs without sync).</summary>
    internal static readonly Counter<long> SyncedWrites = StorageMeter.CreateCounter<long>("raftkit.storage.synced_writes", "{write}", "Synced RocksDB writes issued by the write coalescer (none under LogSyncMode.NoSync; entries_per_write counts every write).");

    /// <summary>Entries carried by each native write.</summary>
    internal static readonly Histogram<int> EntriesPerWrite = StorageMeter.CreateHistogram<int>("raftkit.storage.entries_per_write", "{entry}", "Log entries carried by one coalesced RocksDB write.");

    /// <summary>Duration of each native write, fsync included.</summary>
    internal static readonly Histogram<double> WriteLatency = StorageMeter.CreateHistogram<double>("raftkit.storage.write_latency", "ms", "Duration of one coalesced RocksDB write, fsync included.");

    /// <summary>Failed native writes (each stops the store).</summary>
    internal static readonly Counter<long> Errors = StorageMeter.CreateCounter<long>("raftkit.storage.errors", "{error}", "RocksDB writes that failed and stopped the store.");

    /// <summary>The tag naming the store a gauge's measurement is of: its <see cref="RocksDbLogStoreOptions.Name"/>, else its path, else <c>attached-N</c>.</summary>
    public const string DatabaseTag = "raftkit.storage.database";

    /// <summary>The stores the gauges report on; guarded by itself.</summary>
    private static readonly List<RocksDbLogStore> OpenStores = [];

    internal static readonly ObservableGauge<long> MemtableBytes = FamiliesGauge("raftkit.storage.memtable_bytes", "rocksdb.cur-size-all-mem-tables", "By", "Bytes in the store's memtables, active and immutable, both column families.");

    internal static readonly ObservableGauge<long> ImmutableMemtables = FamiliesGauge("raftkit.storage.immutable_memtables", "rocksdb.num-immutable-mem-table", "{memtable}", "Full memtables waiting to be flushed.");

    internal static readonly ObservableGauge<long> Level0Files = FamiliesGauge("raftkit.storage.level0_files", "rocksdb.num-files-at-level0", "{file}", "Table files at level 0; RocksDB slows writes when they pile up.");

    internal static readonly ObservableGauge<long> SortedRuns = StorageMeter.CreateObservableGauge("raftkit.storage.sorted_runs", () => Observe(store => store.ReadSortedRuns()), "{run}", "Sorted runs RocksDB weighs against its write slowdown and stop triggers: level-0 files, plus every non-empty level of a universally compacted family.");

    internal static readonly ObservableGauge<long> PendingCompactionBytes = FamiliesGauge("raftkit.storage.pending_compaction_bytes", "rocksdb.estimate-pending-compaction-bytes", "By", "RocksDB's estimate of the bytes compaction is behind; levelled compaction only (0 for a universally compacted family).");

    internal static readonly ObservableGauge<long> SstBytes = FamiliesGauge("raftkit.storage.sst_bytes", "rocksdb.live-sst-files-size", "By", "Bytes of the store's live table files.");

    internal static readonly ObservableGauge<long> DelayedWriteRate = DatabaseGauge("raftkit.storage.delayed_write_rate", "rocksdb.actual-delayed-write-rate", "By/s", "The rate RocksDB holds writes to while it slows them; 0 while it does not.");

    internal static readonly ObservableGauge<long> WritesStopped = DatabaseGauge("raftkit.storage.writes_stopped", "rocksdb.is-write-stopped", "{boolean}", "1 while RocksDB stops writes until flushes or compactions catch up.");

    internal static readonly ObservableGauge<long> CachedGroups = StorageMeter.CreateObservableGauge("raftkit.storage.cached_groups", () => Observe(store => store.CachedGroups), "{group}", "Groups whose log state the store caches.");

    /// <summary>Starts reporting <paramref name="store"/> on the gauges.</summary>
    internal static void Track(RocksDbLogStore store)
    {
        lock (OpenStores)
        {
            OpenStores.Add(store);
        }
    }

    /// <summary>Stops reporting <paramref name="store"/>, which is closing.</summary>
    internal static void Untrack(RocksDbLogStore store)
    {
        lock (OpenStores)
        {
            OpenStores.Remove(store);
        }
    }

    /// <summary>A gauge of a RocksDB property counted per column family, summed over the store's two.</summary>
    private static ObservableGauge<long> FamiliesGauge(string name, string property, string unit, string description) =>
        StorageMeter.CreateObservableGauge(name, () => Observe(store => store.ReadProperty(property, perFamily: true)), unit, description);

    /// <summary>A gauge of a RocksDB property of the whole database.</summary>
    private static ObservableGauge<long> DatabaseGauge(string name, string property, string unit, string description) =>
        StorageMeter.CreateObservableGauge(name, () => Observe(store => store.ReadProperty(property, perFamily: false)), unit, description);

    /// <summary>One measurement per open store that could be read (a closing store is skipped).</summary>
    private static List<Measurement<long>> Observe(Func<RocksDbLogStore, long?> read)
    {
        RocksDbLogStore[] stores;
        lock (OpenStores)
        {
            stores = [.. OpenStores];
        }

        var measurements = new List<Measurement<long>>(stores.Length);
        foreach (var store in stores)
        {
            if (read(store) is { } value)
            {
                measurements.Add(new Measurement<long>(value, new KeyValuePair<string, object?>(DatabaseTag, store.MetricsName)));
            }
        }

        return measurements;
    }
}
