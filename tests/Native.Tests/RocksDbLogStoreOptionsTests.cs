using RaftToolkit.Core.Model;
using RocksDbSharp;
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

    /// <summary>
    /// Acknowledged writes may live only in the WAL. Reopened with the WAL directory changed
    /// (the default, or another one), RocksDB would start from the table files alone and drop
    /// them, a vote among them, without a word: the open fails instead, and the database,
    /// opened as it was, still holds everything.
    /// </summary>
    [Theory]
    [InlineData(null)]
    [InlineData("another-wal")]
    public async Task ReopeningWithoutTheWalDirectoryHoldingAcknowledgedWritesFailsRatherThanDropThem(string? movedTo)
    {
        string db = _dir.Sub("db");
        var options = new RocksDbLogStoreOptions { WalDirectory = _dir.Sub("wal") };
        await using (var store = RocksDbLogStore.Open(db, options))
        {
            await store.ForGroup(1).AppendAsync(Range(1, 0, 5), IgnoringCallback.Instance);
            await store.ForGroup(1).SaveVoteAsync(new Vote(2, 3));
        }

        var moved = new RocksDbLogStoreOptions { WalDirectory = movedTo is null ? null : _dir.Sub(movedTo) };
        Assert.Throws<StoreOpenException>(() => RocksDbLogStore.Open(db, moved));

        await using var reopened = RocksDbLogStore.Open(db, options);
        Assert.Equal(Range(1, 0, 5), await reopened.ForGroup(1).TryGetLogEntriesAsync(0, 10));
        Assert.Equal(new Vote(2, 3), await reopened.ForGroup(1).ReadVoteAsync());
    }

    /// <summary>A database and a WAL directory whose parents do not exist yet are made, as a new database's own directory is.</summary>
    [Fact]
    public async Task MissingParentsOfTheDatabaseAndWalDirectoriesAreMade()
    {
        string db = Path.Combine(_dir.Sub("data"), "tenants", "db");
        var options = new RocksDbLogStoreOptions { WalDirectory = Path.Combine(_dir.Sub("fast"), "wal", "db") };
        await using (var store = RocksDbLogStore.Open(db, options))
        {
            await store.ForGroup(1).AppendAsync(Range(1, 0, 3), IgnoringCallback.Instance);
        }

        Assert.NotEmpty(Directory.GetFiles(options.WalDirectory, "*.log"));
        await using var reopened = RocksDbLogStore.Open(db, options);
        Assert.Equal(Range(1, 0, 3), await reopened.ForGroup(1).TryGetLogEntriesAsync(0, 10));
    }

    /// <summary>Moving the WAL files along with the setting is how to move a WAL: the database opens with everything.</summary>
    [Fact]
    public async Task MovingTheWalFilesAlongWithTheDirectoryKeepsEveryWrite()
    {
        string db = _dir.Sub("db");
        await using (var store = RocksDbLogStore.Open(db, new RocksDbLogStoreOptions { WalDirectory = _dir.Sub("wal") }))
        {
            await store.ForGroup(1).AppendAsync(Range(1, 0, 5), IgnoringCallback.Instance);
        }

        Directory.Move(_dir.Sub("wal"), _dir.Sub("moved"));
        await using (var moved = RocksDbLogStore.Open(db, new RocksDbLogStoreOptions { WalDirectory = _dir.Sub("moved") }))
        {
            Assert.Equal(Range(1, 0, 5), await moved.ForGroup(1).TryGetLogEntriesAsync(0, 10));
        }

        // And back beside the data.
        foreach (string wal in Directory.GetFiles(_dir.Sub("moved"), "*.log"))
        {
            File.Move(wal, Path.Combine(db, Path.GetFileName(wal)));
        }

        await using var beside = RocksDbLogStore.Open(db);
        Assert.Equal(Range(1, 0, 5), await beside.ForGroup(1).TryGetLogEntriesAsync(0, 10));
    }

    /// <summary>
    /// A tool opening the database itself, read-only beside a running store, finds the WAL where
    /// the store keeps it: opened without it, RocksDB shows none of the writes not yet flushed.
    /// </summary>
    [Fact]
    public async Task ToolsFindTheWalDirectoryTheDatabaseWasLastOpenedWith()
    {
        string db = _dir.Sub("db");
        Assert.Equal(Path.GetFullPath(db), RocksDbLogStore.WalDirectoryOf(db));
        var options = new RocksDbLogStoreOptions { WalDirectory = _dir.Sub("wal") };
        await using var store = RocksDbLogStore.Open(db, options);
        await store.ForGroup(1).AppendAsync(Range(1, 0, 5), IgnoringCallback.Instance);

        Assert.Equal(Path.GetFullPath(options.WalDirectory), RocksDbLogStore.WalDirectoryOf(db));
        Assert.Equal(5, CountLogKeysReadOnly(db, RocksDbLogStore.WalDirectoryOf(db)));
        Assert.Equal(0, CountLogKeysReadOnly(db, walDirectory: null));
    }

    private static int CountLogKeysReadOnly(string path, string? walDirectory)
    {
        var dbOptions = new DbOptions();
        if (walDirectory is not null)
        {
            dbOptions.SetWalDir(walDirectory);
        }

        var families = new ColumnFamilies { { "raft_log", new ColumnFamilyOptions() }, { "raft_meta", new ColumnFamilyOptions() } };
        using var db = RocksDb.OpenReadOnly(dbOptions, path, families, false);
        using var iterator = db.NewIterator(db.GetColumnFamily("raft_log"));
        int keys = 0;
        for (iterator.SeekToFirst(); iterator.Valid(); iterator.Next())
        {
            keys++;
        }

        return keys;
    }

    /// <summary>
    /// A store keeping its WAL beside its data, copied or moved while closed, finds its WAL in its
    /// new directory: a copy opens beside the original (which would otherwise be taken for the
    /// copy's WAL directory and refuse the open), reads its own writes, and keeps them after the
    /// original is written again.
    /// </summary>
    [Fact]
    public async Task AStoreWithItsWalBesideItsDataCanBeCopiedOrMovedAndOpened()
    {
        string original = _dir.Sub("original");
        await using (var store = RocksDbLogStore.Open(original))
        {
            await store.ForGroup(1).AppendAsync(Range(1, 0, 10), IgnoringCallback.Instance);
        }

        string copy = _dir.Sub("copy");
        CopyDirectory(original, copy);
        await using (var store = RocksDbLogStore.Open(original))
        {
            await store.ForGroup(1).TruncateAfterAsync(Id(1, 4));
            await store.ForGroup(1).AppendAsync(Range(2, 5, 10), IgnoringCallback.Instance);
        }

        Assert.Equal(Path.GetFullPath(copy), RocksDbLogStore.WalDirectoryOf(copy));
        await using (var opened = RocksDbLogStore.Open(copy))
        {
            Assert.Equal(Range(1, 0, 10), await opened.ForGroup(1).TryGetLogEntriesAsync(0, 20));
        }

        string moved = _dir.Sub("moved");
        Directory.Move(copy, moved);
        Assert.Equal(Path.GetFullPath(moved), RocksDbLogStore.WalDirectoryOf(moved));
        await using var reopened = RocksDbLogStore.Open(moved);
        Assert.Equal(Range(1, 0, 10), await reopened.ForGroup(1).TryGetLogEntriesAsync(0, 20));
    }

    /// <summary>Copies the files of a closed database's directory (RocksDB keeps no subdirectories there).</summary>
    internal static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
    }

    /// <summary>A database opened before the WAL's directory was recorded kept its WAL beside its data: opened with the WAL elsewhere, it is refused too.</summary>
    [Fact]
    public async Task ADatabaseWithoutARecordOfItsWalDirectoryIsRefusedAWalElsewhere()
    {
        string db = _dir.Sub("db");
        await using (var store = RocksDbLogStore.Open(db))
        {
            await store.ForGroup(1).AppendAsync(Range(1, 0, 5), IgnoringCallback.Instance);
        }

        File.Delete(Path.Combine(db, "RAFTKIT-WAL-DIRECTORY"));
        var error = Assert.Throws<StoreOpenException>(() => RocksDbLogStore.Open(db, new RocksDbLogStoreOptions { WalDirectory = _dir.Sub("wal") }));
        Assert.Contains("write-ahead log is in", error.Message, StringComparison.Ordinal);

        await using var reopened = RocksDbLogStore.Open(db);
        Assert.Equal(Range(1, 0, 5), await reopened.ForGroup(1).TryGetLogEntriesAsync(0, 10));
    }

    /// <summary>
    /// RocksDB opens every column family of a database, the ones of other data too: the raw
    /// tuning callback is told each, so a database shared with other data can keep their settings.
    /// </summary>
    [Fact]
    public async Task TheColumnFamilyCallbackTunesTheDatabasesOtherFamiliesToo()
    {
        string path = _dir.Sub("db");
        await using (RocksDbLogStore.Open(path))
        {
        }

        using (var raw = RocksDbSharp.RocksDb.Open(new DbOptions(), path, new ColumnFamilies { { "raft_log", new ColumnFamilyOptions() }, { "raft_meta", new ColumnFamilyOptions() } }))
        {
            raw.CreateColumnFamily(new ColumnFamilyOptions(), "other_data");
        }

        var told = new List<string>();
        await using (RocksDbLogStore.Open(path, new RocksDbLogStoreOptions { ConfigureColumnFamilyOptions = (name, family) => { told.Add(name); family.SetCompactionStyle(Compaction.Universal); } }))
        {
        }

        Assert.Contains("other_data", told);
        string options = File.ReadAllText(Directory.GetFiles(path, "OPTIONS-*").Max()!);
        string other = options[options.IndexOf("[CFOptions \"other_data\"]", StringComparison.Ordinal)..];
        Assert.Contains("compaction_style=kCompactionStyleUniversal", other[..other.IndexOf("[TableOptions", StringComparison.Ordinal)], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void ABlankWalDirectoryIsRefusedBeforeAnythingIsMade(string blank)
    {
        Assert.Throws<ArgumentException>(() => RocksDbLogStore.Open(_dir.Sub("db"), new RocksDbLogStoreOptions { WalDirectory = blank }));
        Assert.False(Directory.Exists(_dir.Sub("db")));
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
        Assert.Contains("atomic_flush=true", written, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "1048576")]
    [InlineData(0UL, "0")]
    [InlineData(256UL << 10, "262144")]
    public async Task TableFilesAreWrittenOutAsTheyGrowUnlessTurnedOff(ulong? bytesPerSync, string written)
    {
        var options = new RocksDbLogStoreOptions();
        if (bytesPerSync is { } chosen)
        {
            options.BytesPerSync = chosen;
        }

        await using (RocksDbLogStore.Open(_dir.Sub("db"), options))
        {
        }

        string file = File.ReadAllText(Directory.GetFiles(_dir.Sub("db"), "OPTIONS-*").Max()!);
        Assert.Contains($"\n  bytes_per_sync={written}\n", file.ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true, "0")]
    [InlineData(false, "1")]
    public async Task TheMetaColumnFamilyFlushesWithTheLogSoItKeepsNoFinishedWalAlive(bool together, string metaEntriesLeft)
    {
        var options = new RocksDbLogStoreOptions { WriteBufferSize = 64 << 10, FlushColumnFamiliesTogether = together };
        using var db = RocksDbLogStore.OpenDatabase(_dir.Sub("db"), options);
        await using (var store = RocksDbLogStore.Attach(db, options))
        {
            var log = store.ForGroup(1);
            await log.SaveVoteAsync(new Core.Model.Vote(new Core.Model.LeaderId(1, 1), false));

            // Four write buffers of log: the log column family flushes at least three times.
            for (ulong first = 0; first < 64; first += 8)
            {
                await log.AppendAsync(Range(1, first, 8, payloadBytes: 4096), IgnoringCallback.Instance);
            }
        }

        var logFamily = db.GetColumnFamily(RocksDbLogStoreOptions.DefaultLogColumnFamily);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (db.GetProperty("rocksdb.num-running-flushes") != "0" || db.GetProperty("rocksdb.mem-table-flush-pending", logFamily) != "0")
        {
            Assert.True(DateTime.UtcNow < deadline, "the log column family's flushes did not finish in 30 s");
            await Task.Delay(10);
        }

        var meta = db.GetColumnFamily(RocksDbLogStoreOptions.DefaultMetaColumnFamily);
        Assert.Equal(metaEntriesLeft, db.GetProperty("rocksdb.num-entries-active-mem-table", meta));
    }

    [Fact]
    public async Task GroupPrefixedFamiliesKeepAnInsertHintPerGroupAndEveryOtherSetting()
    {
        await using (RocksDbLogStore.Open(_dir.Sub("db")))
        {
        }

        // The hint is set through RocksDB's option-string parser, onto the options the binding
        // then tunes: both its own value and the binding's settings must survive.
        foreach (var family in (string[])[RocksDbLogStoreOptions.DefaultLogColumnFamily, RocksDbLogStoreOptions.DefaultMetaColumnFamily])
        {
            string written = WrittenFamilyOptions(_dir.Sub("db"), family);
            Assert.Contains("memtable_insert_with_hint_prefix_extractor=rocksdb.FixedPrefix.8", written, StringComparison.Ordinal);
            Assert.Contains("prefix_extractor=rocksdb.FixedPrefix.8", written, StringComparison.Ordinal);
            Assert.Contains("compression=kLZ4Compression", written, StringComparison.Ordinal);
            Assert.Contains($"write_buffer_size={64 << 20}", written, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(LogKeySpace.Flat, true)]
    [InlineData(LogKeySpace.GroupPrefixed, false)]
    public async Task NoInsertHintWithoutAGroupPrefixOrWhenTurnedOff(LogKeySpace space, bool hints)
    {
        await using (RocksDbLogStore.Open(_dir.Sub("db"), new RocksDbLogStoreOptions { KeySpace = space, UseMemtableInsertHints = hints }))
        {
        }

        string written = WrittenFamilyOptions(_dir.Sub("db"), RocksDbLogStoreOptions.DefaultLogColumnFamily);
        Assert.Contains("memtable_insert_with_hint_prefix_extractor=nullptr", written, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1024, "1024")]
    [InlineData(0, "0")]
    public async Task EveryFamilyBoundsTheRangeDeletionsItsMemtableHolds(int bound, string written)
    {
        await using (RocksDbLogStore.Open(_dir.Sub("db"), new RocksDbLogStoreOptions { MaxRangeDeletionsPerMemtable = bound }))
        {
        }

        foreach (var family in (string[])[RocksDbLogStoreOptions.DefaultLogColumnFamily, RocksDbLogStoreOptions.DefaultMetaColumnFamily])
        {
            Assert.Contains($"memtable_max_range_deletions={written}", WrittenFamilyOptions(_dir.Sub("db"), family), StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// Purges are range deletions, and each one makes the next read of the memtable rebuild the
    /// list of all of them: past the bound, the memtable is flushed and the list starts over.
    /// </summary>
    [Theory]
    [InlineData(8, true)]
    [InlineData(0, false)]
    public async Task PurgesPastTheBoundFlushTheLogsMemtable(int bound, bool flushed)
    {
        var options = new RocksDbLogStoreOptions { MaxRangeDeletionsPerMemtable = bound };
        using var db = RocksDbLogStore.OpenDatabase(_dir.Sub("db"), options);
        var logFamily = db.GetColumnFamily(RocksDbLogStoreOptions.DefaultLogColumnFamily);
        await using (var store = RocksDbLogStore.Attach(db, options))
        {
            var log = store.ForGroup(1);
            await log.AppendAsync(Range(1, 0, 16), IgnoringCallback.Instance);
            for (ulong purged = 0; purged < 8; purged++)
            {
                await log.PurgeAsync(new Core.Model.LogId(1, 0, purged));
            }

            // RocksDB switches a memtable marked for flush on the next write.
            await log.AppendAsync(Range(1, 16, 1), IgnoringCallback.Instance);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (db.GetProperty("rocksdb.num-running-flushes") != "0" || db.GetProperty("rocksdb.mem-table-flush-pending", logFamily) != "0")
            {
                Assert.True(DateTime.UtcNow < deadline, "the log column family's flushes did not finish in 30 s");
                await Task.Delay(10);
            }

            Assert.Equal(flushed ? "1" : "0", db.GetProperty("rocksdb.num-files-at-level0", logFamily));
            Assert.Equal(Enumerable.Range(8, 9).Select(i => (ulong)i), (await log.TryGetLogEntriesAsync(0, 100)).Select(e => e.Index));
        }
    }

    /// <summary>The section of the newest OPTIONS file RocksDB wrote for <paramref name="family"/>.</summary>
    private static string WrittenFamilyOptions(string db, string family)
    {
        string written = File.ReadAllText(Directory.GetFiles(db, "OPTIONS-*").Max()!);
        int start = written.IndexOf($"[CFOptions \"{family}\"]", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no options section for {family}");
        int end = written.IndexOf("[CFOptions ", start + 1, StringComparison.Ordinal);
        return end < 0 ? written[start..] : written[start..end];
    }

    [Fact]
    public void AWalBoundBelowOneWriteBufferIsRefused()
    {
        var options = new RocksDbLogStoreOptions { WriteBufferSize = 8 << 20, MaxTotalWalSize = 4 << 20 };
        var error = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
        Assert.Equal(nameof(RocksDbLogStoreOptions.MaxTotalWalSize), error.ParamName);
    }

    [Fact]
    public async Task ReopeningAStoreKeepsOnlyAsManyRocksDbInfoLogsAsAllowed()
    {
        var options = new RocksDbLogStoreOptions { InfoLogFilesKept = 3 };
        for (int open = 0; open < 6; open++)
        {
            await using (RocksDbLogStore.Open(_dir.Sub("db"), options))
            {
            }
        }

        // The current LOG and at most two LOG.old.* from earlier opens.
        var infoLogs = Directory.GetFiles(_dir.Sub("db"), "LOG*");
        Assert.Equal(3, infoLogs.Length);
    }

    [Fact]
    public void KeepingNoInfoLogIsRefused()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new RocksDbLogStoreOptions { InfoLogFilesKept = 0 }.Validate());
        Assert.Equal(nameof(RocksDbLogStoreOptions.InfoLogFilesKept), error.ParamName);
    }

    [Fact]
    public void ANegativeBoundOnRangeDeletionsIsRefused()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new RocksDbLogStoreOptions { MaxRangeDeletionsPerMemtable = -1 }.Validate());
        Assert.Equal(nameof(RocksDbLogStoreOptions.MaxRangeDeletionsPerMemtable), error.ParamName);
    }

    /// <summary>
    /// A SIGKILL keeps what the OS has buffered, so the crash test cannot tell a synced write
    /// from an unsynced one. RocksDB's own count of WAL syncs can: in Sync mode every write the
    /// store acknowledges was synced, and in NoSync mode none was.
    /// </summary>
    [Theory]
    [InlineData(LogSyncMode.Sync)]
    [InlineData(LogSyncMode.NoSync)]
    public async Task SyncModeSyncsTheWalForEveryAcknowledgedWriteAndNoSyncForNone(LogSyncMode mode)
    {
        DbOptions? tuned = null;
        var options = new RocksDbLogStoreOptions
        {
            SyncMode = mode,
            ConfigureDbOptions = db => tuned = db.EnableStatistics(),
        };
        await using var store = RocksDbLogStore.Open(_dir.Sub("db"), options);
        long syncsBefore = WalSyncs(tuned!);
        long writesBefore = store.Coalescer.WritesIssued;

        // Every kind of write, each awaited before the next.
        var log = store.ForGroup(1);
        for (int i = 0; i < 20; i++)
        {
            await log.AppendAsync(Range(1, (ulong)i, 1), IgnoringCallback.Instance);
        }

        await log.SaveVoteAsync(new Core.Model.Vote(2, 1));
        await log.SaveCommittedAsync(Id(1, 2));
        await log.TruncateAfterAsync(Id(1, 15));
        await log.PurgeAsync(Id(1, 1));
        var batch = new Core.Storage.LogWriteBatch();
        batch.Append(2, Range(1, 0, 1));
        batch.SaveVote(3, new Core.Model.Vote(2, 0));
        await store.WriteAsync(batch);
        await store.RemoveGroupAsync(3);
        long writes = store.Coalescer.WritesIssued - writesBefore;
        long syncs = WalSyncs(tuned!) - syncsBefore;
        Assert.Equal(26, writes);
        if (mode == LogSyncMode.Sync)
        {
            Assert.True(syncs >= writes, $"{writes} acknowledged writes, {syncs} WAL syncs");
        }
        else
        {
            Assert.Equal(0, syncs);
        }
    }

    /// <summary>RocksDB's <c>rocksdb.wal.synced</c> ticker, read from the statistics of the options the database was opened with.</summary>
    private static long WalSyncs(DbOptions options)
    {
        foreach (var line in options.GetStatisticsString().Split('\n'))
        {
            if (line.StartsWith("rocksdb.wal.synced COUNT : ", StringComparison.Ordinal))
            {
                return long.Parse(line["rocksdb.wal.synced COUNT : ".Length..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException("RocksDB's statistics have no rocksdb.wal.synced ticker.");
    }

    [Fact]
    public void DefaultsAreValid() => new RocksDbLogStoreOptions().Validate();

    /// <summary>
    /// Combinations RocksDB refuses at open (pipelined writes with atomic flush) or quietly
    /// overrides (WAL reuse under the two strict recovery modes) are refused before anything is
    /// opened, naming the option; with the change the message asks for, the store opens and the
    /// options file RocksDB writes says what the options say.
    /// </summary>
    [Theory]
    [InlineData(nameof(RocksDbLogStoreOptions.EnablePipelinedWrite))]
    [InlineData(nameof(Recovery.AbsoluteConsistency))]
    [InlineData(nameof(Recovery.TolerateCorruptedTailRecords))]
    public async Task CombinationsRocksDbCannotRunAreRefusedAndTheFixTheErrorNamesOpens(string combination)
    {
        var options = new RocksDbLogStoreOptions();
        Action applyFix;
        string[] written;
        if (combination == nameof(RocksDbLogStoreOptions.EnablePipelinedWrite))
        {
            options.EnablePipelinedWrite = true;
            applyFix = () => options.FlushColumnFamiliesTogether = false;
            written = ["enable_pipelined_write=true", "atomic_flush=false"];
        }
        else
        {
            options.WalRecoveryMode = Enum.Parse<Recovery>(combination);
            applyFix = () => options.WalRecycleFileCount = 0;
            written = [$"wal_recovery_mode=k{combination}", "recycle_log_file_num=0"];
        }

        var error = Assert.Throws<ArgumentException>(() => RocksDbLogStore.Open(_dir.Sub("db"), options));
        Assert.Equal(combination == nameof(RocksDbLogStoreOptions.EnablePipelinedWrite) ? nameof(options.EnablePipelinedWrite) : nameof(options.WalRecoveryMode), error.ParamName);
        Assert.False(Directory.Exists(_dir.Sub("db")));

        applyFix();
        await using (var store = RocksDbLogStore.Open(_dir.Sub("db"), options))
        {
            await store.ForGroup(1).AppendAsync(Range(1, 0, 3), IgnoringCallback.Instance);
        }

        string dbOptions = WrittenDbOptions(_dir.Sub("db"));
        Assert.All(written, setting => Assert.Contains(setting, dbOptions, StringComparison.Ordinal));
    }

    /// <summary>The <c>[DBOptions]</c> section of the newest OPTIONS file RocksDB wrote.</summary>
    private static string WrittenDbOptions(string db)
    {
        string written = File.ReadAllText(Directory.GetFiles(db, "OPTIONS-*").Max()!);
        int start = written.IndexOf("[DBOptions]", StringComparison.Ordinal);
        Assert.True(start >= 0, "no DBOptions section");
        int end = written.IndexOf('[', start + 1);
        return end < 0 ? written[start..] : written[start..end];
    }

    [Theory]
    [InlineData(null, "kCompactionStyleUniversal")]
    [InlineData(Compaction.Level, "kCompactionStyleLevel")]
    [InlineData(Compaction.Universal, "kCompactionStyleUniversal")]
    public async Task TheLogFamilyCompactsInTheChosenStyleAndTheMetaFamilyByLevel(Compaction? style, string written)
    {
        var options = new RocksDbLogStoreOptions();
        options.LogCompactionStyle = style ?? options.LogCompactionStyle;
        await using (RocksDbLogStore.Open(_dir.Sub("db"), options))
        {
        }

        Assert.Contains($"compaction_style={written}", WrittenFamilyOptions(_dir.Sub("db"), RocksDbLogStoreOptions.DefaultLogColumnFamily), StringComparison.Ordinal);
        Assert.Contains("compaction_style=kCompactionStyleLevel", WrittenFamilyOptions(_dir.Sub("db"), RocksDbLogStoreOptions.DefaultMetaColumnFamily), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Compaction.Fifo, "FIFO")]
    [InlineData((Compaction)7, "Unknown")]
    public void ACompactionStyleThatDropsEntriesOrIsUnknownIsRefused(Compaction style, string reason)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new RocksDbLogStoreOptions { LogCompactionStyle = style }.Validate());
        Assert.Equal(nameof(RocksDbLogStoreOptions.LogCompactionStyle), error.ParamName);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// A store that changes its compaction style (an upgrade from a version that compacted by
    /// level, or a user's choice) opens its database as it was: the table files the other style
    /// wrote, down to the bottom level, are read, compacted and purged by the new one.
    /// </summary>
    [Theory]
    [InlineData(Compaction.Level, Compaction.Universal)]
    [InlineData(Compaction.Universal, Compaction.Level)]
    public async Task ADatabaseChangesCompactionStyleAtItsNextOpenWithEveryEntryKept(Compaction before, Compaction after)
    {
        string path = _dir.Sub("db");
        await AppendAndCompactAsync(path, before, first: 0);
        await AppendAndCompactAsync(path, after, first: 400);
        await using var store = RocksDbLogStore.Open(path, new RocksDbLogStoreOptions { LogCompactionStyle = before });
        foreach (ulong group in (ulong[])[1, 2])
        {
            Assert.Equal(Range(1, 0, 800), await store.ForGroup(group).TryGetLogEntriesAsync(0, 1000));
        }

        await store.ForGroup(1).PurgeAsync(Id(1, 599));
        Assert.Equal(Range(1, 600, 200), await store.ForGroup(1).TryGetLogEntriesAsync(0, 1000));
    }

    /// <summary>Appends 400 entries to groups 1 and 2 from <paramref name="first"/> under <paramref name="style"/>, and compacts the log family to its bottom level.</summary>
    private static async Task AppendAndCompactAsync(string path, Compaction style, ulong first)
    {
        var options = new RocksDbLogStoreOptions { LogCompactionStyle = style };
        using var db = RocksDbLogStore.OpenDatabase(path, options);
        await using (var store = RocksDbLogStore.Attach(db, options))
        {
            Assert.Equal(Range(1, 0, (int)first), await store.ForGroup(1).TryGetLogEntriesAsync(0, 1000));
            foreach (ulong group in (ulong[])[1, 2])
            {
                for (ulong start = first; start < first + 400; start += 100)
                {
                    await store.ForGroup(group).AppendAsync(Range(1, start, 100), IgnoringCallback.Instance);
                }
            }
        }

        var logFamily = db.GetColumnFamily(RocksDbLogStoreOptions.DefaultLogColumnFamily);
        db.CompactRange((byte[]?)null, null, logFamily);
        Assert.Equal("0", db.GetProperty("rocksdb.num-files-at-level0", logFamily));
    }

    [Fact]
    public void XpressCompressionIsRefusedWhereRocksDbHasNone()
    {
        var options = new RocksDbLogStoreOptions { Compression = Compression.Xpress };
        if (OperatingSystem.IsWindows())
        {
            options.Validate();
            return;
        }

        var error = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
        Assert.Equal(nameof(RocksDbLogStoreOptions.Compression), error.ParamName);
    }

    /// <summary>RocksDB clamps a memtable to 64 GiB; a larger one would also overflow the default WAL bound (memtable × count).</summary>
    [Fact]
    public void AWriteBufferAbove64GibibytesIsRefused()
    {
        new RocksDbLogStoreOptions { WriteBufferSize = 64UL << 30, MaxWriteBufferNumber = 64 }.Validate();
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new RocksDbLogStoreOptions { WriteBufferSize = (64UL << 30) + 1 }.Validate());
        Assert.Equal(nameof(RocksDbLogStoreOptions.WriteBufferSize), error.ParamName);
    }

    [Fact]
    public void TheDefaultColumnFamilyIsRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => new RocksDbLogStoreOptions { MetaColumnFamily = "default" }.Validate());
        Assert.Equal(nameof(RocksDbLogStoreOptions.MetaColumnFamily), error.ParamName);
    }
}
