using System.Diagnostics.Metrics;

namespace RaftToolkit.Native.Diagnostics;

/// <summary>
/// The store's instruments, on the meter <see cref="MeterName"/>. Recording is tag-free so the
/// write path allocates nothing when a listener is attached.
/// </summary>
public static class StorageMetrics
{
    /// <summary>The meter's name: <c>RaftToolkit.Storage</c>.</summary>
    public const string MeterName = "RaftToolkit.Storage";

    private static readonly Meter StorageMeter = new(MeterName);

    /// <summary>Entries appended and acknowledged durable.</summary>
    internal static readonly Counter<long> Appends = StorageMeter.CreateCounter<long>("raftkit.storage.appends", "{entry}", "Log entries appended and made durable.");

    /// <summary>Bytes (keys and values) written in acknowledged writes.</summary>
    internal static readonly Counter<long> Bytes = StorageMeter.CreateCounter<long>("raftkit.storage.bytes", "By", "Key and value bytes written in successful writes.");

    /// <summary>Native writes issued by the coalescer (synced unless the store runs without sync).</summary>
    internal static readonly Counter<long> SyncedWrites = StorageMeter.CreateCounter<long>("raftkit.storage.synced_writes", "{write}", "RocksDB writes issued by the write coalescer.");

    /// <summary>Entries carried by each native write.</summary>
    internal static readonly Histogram<int> EntriesPerWrite = StorageMeter.CreateHistogram<int>("raftkit.storage.entries_per_write", "{entry}", "Log entries carried by one coalesced RocksDB write.");

    /// <summary>Duration of each native write, fsync included.</summary>
    internal static readonly Histogram<double> WriteLatency = StorageMeter.CreateHistogram<double>("raftkit.storage.write_latency", "ms", "Duration of one coalesced RocksDB write, fsync included.");

    /// <summary>Failed native writes (each stops the store).</summary>
    internal static readonly Counter<long> Errors = StorageMeter.CreateCounter<long>("raftkit.storage.errors", "{error}", "RocksDB writes that failed and stopped the store.");
}
