using Microsoft.Extensions.Logging;
using RaftToolkit.Native.Keys;
using RocksDbSharp;

namespace RaftToolkit.Native;

/// <summary>When a write counts as durable.</summary>
public enum LogSyncMode
{
    /// <summary>Every coalesced write is fsynced before any of its callers is told it is durable (the default).</summary>
    Sync,

    /// <summary>
    /// Writes reach the WAL in the OS page cache but are not fsynced: survives a process crash,
    /// not a power loss. For tests and benchmarks only.
    /// </summary>
    NoSync,
}

/// <summary>
/// Configures a <see cref="RocksDbLogStore"/>: key space, column families, RocksDB tuning, WAL,
/// durability and the write coalescer. <see cref="Validate"/> is called when a store opens.
/// </summary>
public sealed class RocksDbLogStoreOptions
{
    /// <summary>Default name of the column family holding log records.</summary>
    public const string DefaultLogColumnFamily = "raft_log";

    /// <summary>Default name of the column family holding votes, committed and purged ids.</summary>
    public const string DefaultMetaColumnFamily = "raft_meta";

    /// <summary>
    /// How keys are laid out: <see cref="LogKeySpace.GroupPrefixed"/> (default) for many groups
    /// in one database, <see cref="LogKeySpace.Flat"/> for one group per database. Fixed for the
    /// database's life: opening it in the other key space throws <see cref="KeySpaceMismatchException"/>.
    /// </summary>
    public LogKeySpace KeySpace { get; set; } = LogKeySpace.GroupPrefixed;

    /// <summary>
    /// With <see cref="LogKeySpace.Flat"/>, the id of the one group the database holds: it names
    /// the group in errors and is the only id <see cref="RocksDbLogStore.ForGroup"/> accepts.
    /// It is not stored in keys. Ignored for <see cref="LogKeySpace.GroupPrefixed"/>.
    /// </summary>
    public ulong FlatGroupId { get; set; }

    /// <summary>Name of the column family holding log records (default <c>raft_log</c>).</summary>
    public string LogColumnFamily { get; set; } = DefaultLogColumnFamily;

    /// <summary>Name of the column family holding votes, committed and purged ids (default <c>raft_meta</c>).</summary>
    public string MetaColumnFamily { get; set; } = DefaultMetaColumnFamily;

    /// <summary>
    /// When opening by path: create the database and the two column families if missing
    /// (default true). When false, a missing database is a <see cref="StoreOpenException"/> (and nothing is made at its path), and a missing column family a <see cref="ColumnFamilyNotFoundException"/>.
    /// </summary>
    public bool CreateIfMissing { get; set; } = true;

    /// <summary>
    /// Memtable size of each column family, in bytes (default 64 MiB; between 64 KiB and 64 GiB,
    /// the range RocksDB accepts). Larger memtables absorb more appends before a flush, and let
    /// purges delete entries that never reached an SST.
    /// </summary>
    public ulong WriteBufferSize { get; set; } = 64UL << 20;

    /// <summary>Memtables per column family, active plus immutable (default 4): how much write burst is absorbed while one flushes.</summary>
    public int MaxWriteBufferNumber { get; set; } = 4;

    /// <summary>
    /// Most bytes of live WAL files before RocksDB flushes the column families that hold the
    /// oldest one (default null: <see cref="WriteBufferSize"/> × <see cref="MaxWriteBufferNumber"/>,
    /// 256 MiB). The meta column family takes a few small writes (votes, commit and purge
    /// marks) and rarely fills a memtable, yet a WAL file is freed only when every column family
    /// with data in it has flushed. RocksDB's own bound is four times the memtables of all
    /// column families (2 GiB here), so without this the meta family would keep up to 2 GiB of
    /// WAL alive: that much disk, that much to replay after a crash, and no finished WAL to
    /// reuse (see <see cref="WalRecycleFileCount"/>). With
    /// <see cref="FlushColumnFamiliesTogether"/> (the default), the meta family flushes with the
    /// log, and this bound is the backstop.
    /// </summary>
    public ulong? MaxTotalWalSize { get; set; }

    /// <summary>The WAL bound in force: <see cref="MaxTotalWalSize"/>, or the memtable budget of one column family.</summary>
    internal ulong EffectiveMaxTotalWalSize => MaxTotalWalSize ?? (WriteBufferSize * (ulong)MaxWriteBufferNumber);

    /// <summary>
    /// Compression of SST blocks (default <see cref="Compression.Lz4"/>: cheap enough not to slow
    /// flushes, and log payloads often compress). <see cref="Compression.Xpress"/> exists only in
    /// RocksDB's Windows builds and is refused elsewhere.
    /// </summary>
    public Compression Compression { get; set; } = Compression.Lz4;

    /// <summary>
    /// How RocksDB compacts the log column family (default <see cref="Compaction.Universal"/>);
    /// the meta column family is always compacted by level.
    /// </summary>
    /// <remarks>
    /// <para>A log entry is written once and deleted by a purge; compaction only moves it until
    /// then. Universal compaction merges whole sorted runs of similar size, so an entry is
    /// rewritten a few times over its life, where levelled compaction rewrites it once per level
    /// it moves down. On a log that only grows (1,000 groups, 16 GiB of 1 KiB entries, unsynced),
    /// the store appended at 235 against 122 MiB/s, spent 96 against 161 s of CPU and wrote
    /// 2.01× against 2.63× the appended bytes to disk; with purges keeping 1,024 entries a group,
    /// the two cost the same, and universal compaction kept fewer table files (0.56× against
    /// 0.93× of the live entries at the end). On few cores, the CPU compaction leaves free is
    /// what concurrent synced appends run on. The benchmark <c>compaction</c> measures both
    /// styles; docs/TUNING.md has the numbers.</para>
    /// <para>The cost: a compaction of all runs needs room for a second copy of what it
    /// rewrites, runs after a purge keep its entries until they are merged with it, and on a log
    /// that only grows, a read of old entries merges more runs (380 against 237 µs for 64).
    /// <see cref="Compaction.Level"/> compacts in small steps and bounds all three more tightly. A
    /// database switches between the two at its next open. <see cref="Compaction.Fifo"/> deletes
    /// the oldest table files, and acknowledged entries with them, and is refused.</para>
    /// </remarks>
    public Compaction LogCompactionStyle { get; set; } = Compaction.Universal;

    /// <summary>How the column family named <paramref name="family"/> is compacted: as <see cref="LogCompactionStyle"/> says for the log's, by level for any other.</summary>
    internal Compaction CompactionStyleOf(string family) => family == LogColumnFamily ? LogCompactionStyle : Compaction.Level;

    /// <summary>Shared LRU block cache for both column families, in bytes (default 64 MiB); 0 disables it.</summary>
    public ulong BlockCacheSize { get; set; } = 64UL << 20;

    /// <summary>Bloom filter bits per key (default 10, about 1% false positives); 0 disables the filter.</summary>
    public int BloomBitsPerKey { get; set; } = 10;

    /// <summary>
    /// With <see cref="LogKeySpace.GroupPrefixed"/>: install a fixed 8-byte (group id) prefix
    /// extractor on both column families (default true), so bloom filters are per group and a
    /// group's reads skip files holding none of its keys.
    /// </summary>
    public bool UseGroupPrefixExtractor { get; set; } = true;

    /// <summary>
    /// With <see cref="LogKeySpace.GroupPrefixed"/>: keep, in each memtable, the last insert
    /// position of every group (RocksDB's <c>memtable_insert_with_hint_prefix_extractor</c>, on the
    /// 8-byte group id), so an append lands next to its group's previous entry instead of
    /// searching the skip list from the top (default true).
    /// </summary>
    /// <remarks>
    /// A group's log is appended in index order, which is the case the hint is made for. On raw
    /// RocksDB, an unsynced 64-entry write across 64 of 10,000 groups took 46 µs with the hint
    /// against 88 µs without (docs/TUNING.md). The cost is memory: about 250 bytes per group
    /// that wrote to a memtable, for as long as that memtable lives, most of it in the memtable's
    /// own arena (so it counts toward <see cref="WriteBufferSize"/>). RocksDB ignores the hint
    /// for writes that insert into a memtable concurrently, which the store never does.
    /// </remarks>
    public bool UseMemtableInsertHints { get; set; } = true;

    /// <summary>
    /// Flush a memtable once it holds this many range deletions (RocksDB's
    /// <c>memtable_max_range_deletions</c>); 0 lets them pile up until the memtable fills
    /// (default 1,024).
    /// </summary>
    /// <remarks>
    /// Every purge, truncation and group removal is a range deletion. A read that meets the
    /// memtable after a new range deletion first rebuilds RocksDB's sorted list of all the
    /// memtable's range deletions, so that read costs time in proportion to how many the
    /// memtable holds. With 1,000 groups each purging every 16 entries, 64-entry reads
    /// interleaved with the purges took 3.4 ms on average as a 64 MiB memtable collected tens of
    /// thousands of them, against 27 µs without purges; with this bound at 1,024 they took
    /// 120 µs, at 256 79 µs (docs/TUNING.md). The price is earlier flushes, so smaller table
    /// files: a store that purges rarely never reaches the bound.
    /// </remarks>
    public int MaxRangeDeletionsPerMemtable { get; set; } = 1024;

    /// <summary>Directory for the write-ahead log, e.g. on a faster device; null keeps it with the data (default).</summary>
    public string? WalDirectory { get; set; }

    /// <summary>
    /// How the WAL is replayed after a crash (default <see cref="Recovery.PointInTime"/>: stop at
    /// the first torn or corrupt record, keeping everything before it; a torn tail after a crash
    /// can only hold writes that were never acknowledged). RocksDB turns WAL reuse off under
    /// <see cref="Recovery.AbsoluteConsistency"/> and <see cref="Recovery.TolerateCorruptedTailRecords"/>,
    /// so they are refused unless <see cref="WalRecycleFileCount"/> is 0.
    /// </summary>
    public Recovery WalRecoveryMode { get; set; } = Recovery.PointInTime;

    /// <summary>
    /// How many finished WAL files to keep for reuse (default 2; 0 turns reuse off). A synced
    /// append to a fresh WAL grows the file, so each fsync also journals the file's new size; a
    /// reused WAL is overwritten in place, and its fsync writes the data alone. Once the first
    /// WAL has rolled over, this made 64-entry synced writes about 24-39% cheaper on ext4 (see
    /// docs/TUNING.md). The cost is disk space: up to this many old WAL files, each about one
    /// write buffer, are kept instead of deleted. Point-in-time recovery (the default
    /// <see cref="WalRecoveryMode"/>) works with reused files: RocksDB tells an old file's
    /// leftover records from new ones by the log number each record carries.
    /// </summary>
    public ulong WalRecycleFileCount { get; set; } = 2;

    /// <summary>
    /// Flush both column families whenever either flushes (RocksDB's atomic flush; default
    /// true). A WAL file is freed, and can be reused (<see cref="WalRecycleFileCount"/>), only
    /// once every column family with data in it has flushed. The meta column family takes a few
    /// small writes (votes, commit and purge marks) and seldom fills a memtable, so on its own it
    /// would keep each finished WAL alive until the WAL bound (<see cref="MaxTotalWalSize"/>)
    /// forced it to flush, and most WALs would be new files, whose synced writes cost more. Flushed
    /// with the log, it frees each WAL as soon as the log's memtable is flushed: with a commit
    /// mark saved every millisecond beside 64 concurrent appenders, a synced round took
    /// 269-273 µs instead of 340-344 µs. The cost is one small table file of the meta column
    /// family per write buffer of log.
    /// </summary>
    public bool FlushColumnFamiliesTogether { get; set; } = true;

    /// <summary>
    /// While a flush or compaction writes a table file, have the OS write it out every this many
    /// bytes (RocksDB's <c>bytes_per_sync</c>; default 1 MiB); 0 leaves the file's pages dirty
    /// until the OS writes them back on its own.
    /// </summary>
    /// <remarks>
    /// Every append waits for a synced WAL write, and a synced write that lands while the OS
    /// writes back a burst of table-file pages waits behind it. Left to the OS, a flush leaves a
    /// whole memtable's worth of pages dirty (64 MiB by default) and compactions more, so under
    /// steady load the WAL's syncs keep meeting such bursts; written out a mebibyte at a time,
    /// there is never much queued ahead of them. With 1,024 concurrent appenders of 1 KiB
    /// entries, a synced round took 6.4 ms instead of 7.1 ms on average (raw RocksDB under the
    /// same options: 5.7 ms instead of 6.1 ms; docs/TUNING.md). Small writes that seldom fill a
    /// memtable gain little, and lose nothing.
    /// </remarks>
    public ulong BytesPerSync { get; set; } = 1UL << 20;

    /// <summary>
    /// How many of RocksDB's own text logs (<c>LOG</c>, and <c>LOG.old.*</c> from earlier opens)
    /// to keep in the database directory (default 10). RocksDB starts a new one at every open and
    /// otherwise keeps 1,000, so a store opened and closed often (tools, tests, restarts) would
    /// fill its directory with them.
    /// </summary>
    public ulong InfoLogFilesKept { get; set; } = 10;

    /// <summary>
    /// RocksDB pipelined writes (default false). Only helps many concurrent writers; the write
    /// coalescer already issues one write at a time. RocksDB cannot combine them with atomic
    /// flush, so they are refused unless <see cref="FlushColumnFamiliesTogether"/> is false.
    /// </summary>
    public bool EnablePipelinedWrite { get; set; }

    /// <summary>When a write counts as durable (default <see cref="LogSyncMode.Sync"/>).</summary>
    public LogSyncMode SyncMode { get; set; } = LogSyncMode.Sync;

    /// <summary>
    /// Most bytes (keys plus values) the coalescer puts in one write batch before starting the
    /// next (default 4 MiB). One caller's write is never split, so a single larger write makes a
    /// larger batch.
    /// </summary>
    public int MaxBatchBytes { get; set; } = 4 << 20;

    /// <summary>Most operations (puts, deletes) the coalescer puts in one write batch (default 16,384).</summary>
    public int MaxBatchOperations { get; set; } = 16_384;

    /// <summary>Called last on the database options when opening by path: raw RocksDB tuning.</summary>
    public Action<DbOptions>? ConfigureDbOptions { get; set; }

    /// <summary>
    /// Called last on each column family's options, with the column family's name, when opening
    /// by path: raw RocksDB tuning. RocksDB opens every column family of a database: the
    /// database's other families (the default one, a family of other data) start from RocksDB's
    /// plain options here, so a database shared with other data keeps their settings (a
    /// comparator, a compaction style) only if this callback sets them.
    /// </summary>
    public Action<string, ColumnFamilyOptions>? ConfigureColumnFamilyOptions { get; set; }

    /// <summary>
    /// The store's name in its gauges (the <c>raftkit.storage.database</c> tag) and its log lines.
    /// Default null: the database's path, or <c>attached-N</c> for a database handed to
    /// <see cref="RocksDbLogStore.Attach"/>, where N counts the attaches of the process. Name a
    /// store that is attached again and again (after each restart of a component that shares the
    /// database), so that its metrics stay one series instead of a new one per attach.
    /// </summary>
    public string? Name { get; set; }

    /// <summary>
    /// Where the store logs, under the category <c>RaftToolkit.Storage</c>: opening and closing,
    /// the failed write that stopped it (Critical), and a flush callback that threw (Error).
    /// Nothing per write. Default: no logging.
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>Checks every option; throws before anything is opened.</summary>
    /// <exception cref="ArgumentException">An option is out of range or inconsistent.</exception>
    public void Validate()
    {
        if (!Enum.IsDefined(KeySpace))
        {
            throw new ArgumentOutOfRangeException(nameof(KeySpace), KeySpace, "Unknown key space.");
        }

        if (Name is not null && string.IsNullOrWhiteSpace(Name))
        {
            throw new ArgumentException("The store's name must be null (its path, or attached-N) or hold more than white space.", nameof(Name));
        }

        ValidateName(LogColumnFamily, nameof(LogColumnFamily));
        ValidateName(MetaColumnFamily, nameof(MetaColumnFamily));
        if (LogColumnFamily == MetaColumnFamily)
        {
            throw new ArgumentException($"The log and meta column families must differ; both are '{LogColumnFamily}'.", nameof(MetaColumnFamily));
        }

        if (WriteBufferSize is < (64UL << 10) or > (64UL << 30))
        {
            throw new ArgumentOutOfRangeException(nameof(WriteBufferSize), WriteBufferSize, "The write buffer must be between 64 KiB and 64 GiB.");
        }

        if (MaxTotalWalSize is { } walBound && walBound < WriteBufferSize)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxTotalWalSize), MaxTotalWalSize, "The WAL bound must be at least one write buffer.");
        }

        if (MaxWriteBufferNumber is < 2 or > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxWriteBufferNumber), MaxWriteBufferNumber, "Between 2 and 64 memtables are allowed.");
        }

        if (MaxRangeDeletionsPerMemtable < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRangeDeletionsPerMemtable), MaxRangeDeletionsPerMemtable, "The bound on range deletions per memtable must be 0 (none) or positive.");
        }

        if (!Enum.IsDefined(Compression))
        {
            throw new ArgumentOutOfRangeException(nameof(Compression), Compression, "Unknown compression.");
        }

        if (Compression == Compression.Xpress && !OperatingSystem.IsWindows())
        {
            throw new ArgumentOutOfRangeException(nameof(Compression), Compression, "Xpress compression exists only in RocksDB's Windows builds.");
        }

        if (LogCompactionStyle is not (Compaction.Level or Compaction.Universal))
        {
            throw new ArgumentOutOfRangeException(
                nameof(LogCompactionStyle),
                LogCompactionStyle,
                LogCompactionStyle == Compaction.Fifo
                    ? "FIFO compaction deletes the oldest table files, and the acknowledged log entries in them; use Level or Universal."
                    : "Unknown compaction style.");
        }

        if (BloomBitsPerKey is < 0 or > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(BloomBitsPerKey), BloomBitsPerKey, "Bloom bits per key must be between 0 and 64.");
        }

        if (WalDirectory is not null && string.IsNullOrWhiteSpace(WalDirectory))
        {
            throw new ArgumentException("The WAL directory must be null (keep the WAL with the data) or a path.", nameof(WalDirectory));
        }

        if (!Enum.IsDefined(WalRecoveryMode))
        {
            throw new ArgumentOutOfRangeException(nameof(WalRecoveryMode), WalRecoveryMode, "Unknown WAL recovery mode.");
        }

        if (WalRecycleFileCount > 0 && WalRecoveryMode is Recovery.AbsoluteConsistency or Recovery.TolerateCorruptedTailRecords)
        {
            throw new ArgumentException(
                $"RocksDB turns WAL reuse off under {WalRecoveryMode} recovery; set {nameof(WalRecycleFileCount)} to 0 with it, so that the options say what runs.",
                nameof(WalRecoveryMode));
        }

        if (WalRecycleFileCount > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(WalRecycleFileCount), WalRecycleFileCount, "At most 64 WAL files may be recycled.");
        }

        if (EnablePipelinedWrite && FlushColumnFamiliesTogether)
        {
            throw new ArgumentException(
                $"RocksDB cannot combine pipelined writes with atomic flush; set {nameof(FlushColumnFamiliesTogether)} to false with {nameof(EnablePipelinedWrite)}.",
                nameof(EnablePipelinedWrite));
        }

        if (InfoLogFilesKept < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(InfoLogFilesKept), InfoLogFilesKept, "At least the current RocksDB log file is kept.");
        }

        if (!Enum.IsDefined(SyncMode))
        {
            throw new ArgumentOutOfRangeException(nameof(SyncMode), SyncMode, "Unknown sync mode.");
        }

        if (MaxBatchBytes < 4096)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBatchBytes), MaxBatchBytes, "A write batch must be allowed at least 4 KiB.");
        }

        if (MaxBatchOperations < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBatchOperations), MaxBatchOperations, "A write batch must be allowed at least one operation.");
        }
    }

    /// <summary>A copy, so a store is not affected by later changes to the caller's instance.</summary>
    internal RocksDbLogStoreOptions Clone() => (RocksDbLogStoreOptions)MemberwiseClone();

    private static void ValidateName(string? name, string paramName)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException("A column family name must not be empty.", paramName);
        }

        if (name == ColumnFamilies.DefaultName)
        {
            throw new ArgumentException($"The store needs its own column families, not RocksDB's '{ColumnFamilies.DefaultName}'.", paramName);
        }
    }
}
