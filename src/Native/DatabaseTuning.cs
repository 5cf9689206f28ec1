using RaftToolkit.Native.Interop;
using RaftToolkit.Native.Keys;
using RocksDbSharp;

namespace RaftToolkit.Native;

/// <summary>Turns <see cref="RocksDbLogStoreOptions"/> into RocksDB database and column family options.</summary>
internal static class DatabaseTuning
{
    /// <summary>Length of the group id prefix the prefix extractor cuts from group-prefixed keys.</summary>
    private const ulong GroupPrefixLength = sizeof(ulong);

    public static DbOptions CreateDbOptions(RocksDbLogStoreOptions options)
    {
        var db = new DbOptions()
            .SetCreateIfMissing(options.CreateIfMissing)
            .SetCreateMissingColumnFamilies(options.CreateIfMissing)
            .SetWalRecoveryMode(options.WalRecoveryMode)
            .SetRecycleLogFileNum(options.WalRecycleFileCount)
            .SetMaxTotalWalSize(options.EffectiveMaxTotalWalSize)
            .SetKeepLogFileNum(options.InfoLogFilesKept)
            .SetBytesPerSync(options.BytesPerSync)
            .IncreaseParallelism(Math.Max(2, Environment.ProcessorCount))
            .SetMaxBackgroundFlushes(Math.Max(1, Environment.ProcessorCount / 4));
        if (options.WalDirectory is { } walDirectory)
        {
            db.SetWalDir(walDirectory);
        }

        if (options.FlushColumnFamiliesTogether)
        {
            RocksDbSharp.Native.Instance.rocksdb_options_set_atomic_flush(db.Handle, 1);
        }

        if (options.EnablePipelinedWrite)
        {
            RocksDbSharp.Native.Instance.rocksdb_options_set_enable_pipelined_write(db.Handle, 1);
        }

        options.ConfigureDbOptions?.Invoke(db);
        return db;
    }

    /// <summary>The block cache the column families of one database share; null when disabled.</summary>
    public static Cache? CreateBlockCache(RocksDbLogStoreOptions options) => options.BlockCacheSize > 0 ? Cache.CreateLru(options.BlockCacheSize) : null;

    public static ColumnFamilyOptions CreateColumnFamilyOptions(RocksDbLogStoreOptions options, string name, Cache? blockCache)
    {
        bool groupPrefixed = options.KeySpace == LogKeySpace.GroupPrefixed;
        var family = new ColumnFamilyOptions();
        if (groupPrefixed && options.UseMemtableInsertHints)
        {
            // The binding has no setter for this option; RocksDB's option-string parser has. It
            // comes first, while the options are still defaults, so every setting below stays.
            RocksDbNative.InitializeOptions(family.Handle, $"memtable_insert_with_hint_prefix_extractor=rocksdb.FixedPrefix.{GroupPrefixLength}");
        }

        family
            .SetWriteBufferSize(options.WriteBufferSize)
            .SetMaxWriteBufferNumber(options.MaxWriteBufferNumber)
            .SetCompression(options.Compression)
            .SetCompactionStyle(options.CompactionStyleOf(name));
        if (options.MaxRangeDeletionsPerMemtable > 0)
        {
            RocksDbSharp.Native.Instance.rocksdb_options_set_memtable_max_range_deletions(family.Handle, (uint)options.MaxRangeDeletionsPerMemtable);
        }

        var table = new BlockBasedTableOptions();
        if (blockCache is not null)
        {
            table.SetBlockCache(blockCache);
        }
        else
        {
            table.SetNoBlockCache(true);
        }

        if (options.BloomBitsPerKey > 0)
        {
            table.SetFilterPolicy(BloomFilterPolicy.Create(options.BloomBitsPerKey, false));
        }

        if (groupPrefixed && options.UseGroupPrefixExtractor)
        {
            family.SetPrefixExtractor(SliceTransform.CreateFixedPrefix(GroupPrefixLength));
            table.SetWholeKeyFiltering(true);
        }

        family.SetBlockBasedTableFactory(table);
        options.ConfigureColumnFamilyOptions?.Invoke(name, family);
        return family;
    }
}
