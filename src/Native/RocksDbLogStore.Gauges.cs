using RaftToolkit.Native.Diagnostics;

namespace RaftToolkit.Native;

/// <summary>What the store's observable gauges read from RocksDB (see <see cref="StorageMetrics"/>).</summary>
public sealed partial class RocksDbLogStore
{
    /// <summary>Gives attached stores, whose path the store is not told, distinct names in metrics.</summary>
    private static int s_attachedStores;

    /// <summary>The value of the <c>raftkit.storage.database</c> tag on this store's gauges: its <see cref="RocksDbLogStoreOptions.Name"/>, else its path, else <c>attached-N</c>.</summary>
    internal string MetricsName { get; }

    /// <summary>How the store's column families are compacted, which decides what counts as a sorted run.</summary>
    private readonly FamilyCompaction _compaction;

    /// <summary>Groups whose log state the store caches.</summary>
    internal long CachedGroups => _groups.Count;

    /// <summary>
    /// An integer RocksDB property: of the whole database, or summed over the store's two column
    /// families when RocksDB counts it <paramref name="perFamily"/>. Null once the store is
    /// closing (a gauge read then reports nothing rather than touch a closed database), or when
    /// RocksDB does not know the property.
    /// </summary>
    internal long? ReadProperty(string property, bool perFamily) =>
        WhileOpen(() => perFamily ? ReadFamilyProperty(_logFamily, property) + ReadFamilyProperty(_metaFamily, property) : ReadDatabaseProperty(property));

    /// <summary>What <paramref name="read"/> reads from the database; null, without reading, once the store is closing.</summary>
    private long? WhileOpen(Func<long?> read)
    {
        if (!TryBeginRead())
        {
            return null;
        }

        try
        {
            return read();
        }
        finally
        {
            EndRead();
        }
    }

    private unsafe long? ReadDatabaseProperty(string property)
    {
        ulong value = 0;

        // SAFETY: the output is a local of this frame; RocksDB writes it before returning.
        return RocksDbSharp.Native.Instance.rocksdb_property_int(_dbHandle, property, (nint)(&value)) == 0 ? (long)value : null;
    }

    /// <summary>
    /// One family's value of an integer property: RocksDB answers some (memtable sizes) as
    /// integers, others (files per level) only as text.
    /// </summary>
    private unsafe long? ReadFamilyProperty(nint family, string property)
    {
        ulong value = 0;

        // SAFETY: the output is a local of this frame; RocksDB writes it before returning.
        if (RocksDbSharp.Native.Instance.rocksdb_property_int_cf(_dbHandle, family, property, (nint)(&value)) == 0)
        {
            return (long)value;
        }

        return long.TryParse(RocksDbSharp.Native.Instance.rocksdb_property_value_cf_string(_dbHandle, family, property), out long parsed) ? parsed : null;
    }

    /// <summary>
    /// The sorted runs RocksDB weighs against its write slowdown and stop triggers, summed over
    /// the store's two column families: level-0 files, and, in a family compacted universally,
    /// every non-empty level below 0 as well (each is one sorted run there). Null once the store
    /// is closing.
    /// </summary>
    /// <remarks>
    /// Level-0 files alone undercount a universally compacted family, and RocksDB's estimate of
    /// pending compaction bytes is 0 for it: this is the count its stall triggers compare.
    /// </remarks>
    internal long? ReadSortedRuns() =>
        WhileOpen(() => SortedRuns(_logFamily, _compaction.Log) + SortedRuns(_metaFamily, _compaction.Meta));

    private long? SortedRuns(nint family, RocksDbSharp.Compaction style)
    {
        long? runs = ReadFamilyProperty(family, LevelFilesProperties[0]);
        if (style == RocksDbSharp.Compaction.Universal)
        {
            // RocksDB answers for the family's levels only (7 unless tuned otherwise).
            for (int level = 1; level < LevelFilesProperties.Length && ReadFamilyProperty(family, LevelFilesProperties[level]) is { } files; level++)
            {
                runs += files > 0 ? 1 : 0;
            }
        }

        return runs;
    }

    /// <summary><c>rocksdb.num-files-at-levelN</c> for every level RocksDB allows.</summary>
    private static readonly string[] LevelFilesProperties = [.. Enumerable.Range(0, 64).Select(level => $"rocksdb.num-files-at-level{level}")];

    private static string AttachedName() => $"attached-{Interlocked.Increment(ref s_attachedStores)}";
}

/// <summary>The compaction styles of the store's log and meta column families.</summary>
/// <remarks>
/// Taken from the options the store opened the families with, after the raw tuning callback had
/// its say; a store attached to a database it did not open assumes what its options configure.
/// </remarks>
internal readonly record struct FamilyCompaction(RocksDbSharp.Compaction Log, RocksDbSharp.Compaction Meta)
{
    public static FamilyCompaction Of(RocksDbSharp.ColumnFamilyOptions log, RocksDbSharp.ColumnFamilyOptions meta) =>
        new(StyleOf(log), StyleOf(meta));

    public static FamilyCompaction AsConfigured(RocksDbLogStoreOptions options) =>
        new(options.CompactionStyleOf(options.LogColumnFamily), options.CompactionStyleOf(options.MetaColumnFamily));

    private static RocksDbSharp.Compaction StyleOf(RocksDbSharp.ColumnFamilyOptions family) =>
        (RocksDbSharp.Compaction)RocksDbSharp.Native.Instance.rocksdb_options_get_compaction_style(family.Handle);
}
