using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RaftToolkit.Core.Diagnostics;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native.Coalescing;
using RaftToolkit.Native.Diagnostics;
using RaftToolkit.Native.Interop;
using RaftToolkit.Native.Keys;
using RocksDbSharp;

namespace RaftToolkit.Native;

/// <summary>
/// The durable Raft log on RocksDB: log records in one column family, votes and committed /
/// purged ids in another, all writes merged by a <see cref="WriteCoalescer"/> into one
/// (synced) write batch.
/// </summary>
/// <remarks>
/// <para>With <see cref="LogKeySpace.GroupPrefixed"/> the store is an
/// <see cref="IMultiGroupLogStore"/>: <see cref="ForGroup"/> hands out a view per group, any
/// number of groups share the two column families, and <see cref="WriteAsync"/> writes many
/// groups atomically.</para>
/// <para>With <see cref="LogKeySpace.Flat"/> the database holds one group and the store itself
/// is that group's <see cref="IRaftLogStore"/> (<see cref="RocksDbLogStoreOptions.FlatGroupId"/>
/// names it).</para>
/// <para>One write (an append, or a <see cref="WriteAsync"/> batch) carries at most 1 GiB of
/// keys and records; a larger one is refused with <see cref="ArgumentException"/> before
/// anything is written.</para>
/// <para>Entries' data is read during the call that writes it, and copied into the write before
/// the call returns: it must not change while the call runs, and its buffers may be reused as
/// soon as the call returns, before the write is durable.</para>
/// <para>A call that returns a task never throws: whatever it refuses (bad arguments, a log
/// order it would break, a removed group, a closed store) fails the task, before anything is
/// written, as in the test kit's in-memory store. Code that starts several calls and then awaits
/// them sees each error where it awaits, on either store.</para>
/// <para>Reads see a write once its task has completed. The log's ends are the exception:
/// <see cref="IRaftLogStore.GetLogStateAsync"/>, and the bounds a read of an entry's id is checked
/// against, count every write already issued, since they come from the cache that validates
/// writes as they are queued. While a write is in flight, the log state may name entries, or
/// a purge, that range reads do not show yet.</para>
/// <para>Fail-stop: after a failed write every operation fails with
/// <see cref="StoreFailedException"/>; dispose and reopen to recover.</para>
/// <para>Completions (flush callbacks and the continuations of awaited writes) run on the
/// store's writing thread, so that writers awaiting one write and issuing the next share fsyncs
/// without a thread hop. Keep them short and never block in them on another write of the
/// same store: that write waits for this very thread.</para>
/// </remarks>
public sealed partial class RocksDbLogStore : IMultiGroupLogStore, IRaftLogStore, IGroupDirectory
{
    private readonly RocksDb _db;
    private readonly bool _ownsDb;
    private readonly RocksDbLogStoreOptions _options;
    private readonly LogKeySpace _space;
    private readonly nint _dbHandle;
    private readonly nint _logFamily;
    private readonly nint _metaFamily;

    /// <summary>The native read options of point reads, freed at disposal once no read is running.</summary>
    private readonly nint _readOptions;
    private readonly ConcurrentDictionary<ulong, GroupLogState> _groups = new();
    private readonly WriteCoalescer _coalescer;
    private readonly RequestPool _requests;
    private readonly GroupLogState? _flatView;
    private readonly ILogger _logger;

    /// <summary>Completes when disposal has released everything; every caller of <see cref="DisposeAsync"/> waits for it.</summary>
    private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Calls reading the database right now; disposal waits for them.</summary>
    private int _activeReads;

    /// <summary>1 once disposal started.</summary>
    private int _closed;

    private RocksDbLogStore(RocksDb db, bool ownsDb, RocksDbLogStoreOptions options, string? path, FamilyCompaction compaction)
    {
        _db = db;
        _compaction = compaction;
        _ownsDb = ownsDb;
        _options = options;
        _space = options.KeySpace;
        // Never throws: a broken log sink must not cost a waiting caller its answer (see StoreLog).
        _logger = new NeverThrowingLogger((options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger(LogCategory));
        var logFamily = FindColumnFamily(db, options.LogColumnFamily) ?? throw new ColumnFamilyNotFoundException(options.LogColumnFamily, path);
        var metaFamily = FindColumnFamily(db, options.MetaColumnFamily) ?? throw new ColumnFamilyNotFoundException(options.MetaColumnFamily, path);

        MetricsName = options.Name ?? path ?? AttachedName();

        // Claimed before anything is read or written: a refused store changes nothing.
        ColumnFamilyClaims.Claim(db.Handle, options.LogColumnFamily, options.MetaColumnFamily, path);
        try
        {
            KeySpaceMarker.CheckOrWrite(db, logFamily, options.LogColumnFamily, metaFamily, options.MetaColumnFamily, options.KeySpace, path);
            _dbHandle = db.Handle;
            _logFamily = logFamily.Handle;
            _metaFamily = metaFamily.Handle;
            _requests = new RequestPool();
            _coalescer = new WriteCoalescer(_dbHandle, options.SyncMode == LogSyncMode.Sync, _logFamily, _metaFamily, keysByGroup: _space == LogKeySpace.GroupPrefixed, options.MaxBatchBytes, options.MaxBatchOperations, this, _logger, MetricsName);
            if (_space == LogKeySpace.Flat)
            {
                _flatView = StateOf(options.FlatGroupId);
            }

            _readOptions = RocksDbNative.ReadOptionsCreate();
        }
        catch
        {
            ColumnFamilyClaims.Release(db.Handle, options.LogColumnFamily, options.MetaColumnFamily);
            throw;
        }

        StorageMetrics.Track(this);
        StoreLog.Opened(_logger, MetricsName, _space, options.LogColumnFamily, options.MetaColumnFamily, options.SyncMode);
    }

    /// <summary>The category the store logs under (see <see cref="RocksDbLogStoreOptions.LoggerFactory"/>).</summary>
    public const string LogCategory = "RaftToolkit.Storage";

    /// <summary>The key space this store was opened with.</summary>
    public LogKeySpace KeySpace => _space;

    /// <summary>The underlying database (for metrics and inspection; do not write the store's column families).</summary>
    public RocksDb Database => _db;

    /// <summary>
    /// Opens (creating if allowed) the database at <paramref name="path"/> tuned by
    /// <paramref name="options"/>, and the store over it. Disposing the store closes the database.
    /// </summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="ColumnFamilyNotFoundException">A column family is missing and may not be created.</exception>
    /// <exception cref="KeySpaceMismatchException">The database was written in the other key space.</exception>
    /// <exception cref="StoreOpenException">RocksDB could not open the database (for one, another store has it open), or there is none and <see cref="RocksDbLogStoreOptions.CreateIfMissing"/> is false.</exception>
    public static RocksDbLogStore Open(string path, RocksDbLogStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options = (options ?? new RocksDbLogStoreOptions()).Clone();
        options.Validate();
        var db = OpenDatabase(path, options, out var created, out var compaction);
        try
        {
            return new RocksDbLogStore(db, ownsDb: true, options, path, compaction);
        }
        catch
        {
            // A refused store changes nothing: not even the column families its open created.
            try
            {
                foreach (string family in created)
                {
                    db.DropColumnFamily(family);
                }
            }
            catch (RocksDbException)
            {
                // Best effort: the refusal is what the caller needs to hear about.
            }
            finally
            {
                db.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// Creates a store over an open database that already has the two column families named in
    /// <paramref name="options"/>. The caller keeps ownership of <paramref name="db"/> and must
    /// dispose the store first.
    /// </summary>
    /// <exception cref="ColumnFamilyNotFoundException">A configured column family does not exist in <paramref name="db"/>.</exception>
    /// <exception cref="ColumnFamilyInUseException">Another open store uses one of the column families.</exception>
    /// <exception cref="KeySpaceMismatchException">The database was written in the other key space.</exception>
    /// <exception cref="ArgumentException">An option is out of range or inconsistent (see <see cref="RocksDbLogStoreOptions.Validate"/>).</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="db"/> is disposed.</exception>
    public static RocksDbLogStore Attach(RocksDb db, RocksDbLogStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(db);

        // The binding zeroes the handle when it frees the database, and then answers every
        // column family lookup with "none": say what is wrong, and touch nothing of it.
        ObjectDisposedException.ThrowIf(db.Handle == 0, db);
        options = (options ?? new RocksDbLogStoreOptions()).Clone();
        options.Validate();
        return new RocksDbLogStore(db, ownsDb: false, options, path: null, FamilyCompaction.AsConfigured(options));
    }

    /// <summary>
    /// Opens the database at <paramref name="path"/> with the store's tuning and both column
    /// families, without a store: for tools and for benchmarks that compare against raw RocksDB
    /// under the same options.
    /// </summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="ColumnFamilyNotFoundException">A column family is missing and may not be created.</exception>
    /// <exception cref="StoreOpenException">RocksDB could not open the database (for one, another store has it open), or there is none and <see cref="RocksDbLogStoreOptions.CreateIfMissing"/> is false.</exception>
    public static RocksDb OpenDatabase(string path, RocksDbLogStoreOptions options) => OpenDatabase(path, options, out _, out _);

    /// <summary>
    /// The directory that holds the write-ahead log of the database at <paramref name="path"/>:
    /// the <see cref="RocksDbLogStoreOptions.WalDirectory"/> its last open used, as the store
    /// records beside the data, or the database's own directory. Tools that open the database
    /// themselves (read-only, say) need it: without its WAL, RocksDB shows the database without
    /// the writes not yet flushed to table files.
    /// </summary>
    public static string WalDirectoryOf(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return WalLocation.Of(path);
    }

    /// <param name="path">The database directory.</param>
    /// <param name="options">The store's options.</param>
    /// <param name="created">The store's column families this open created in an existing database.</param>
    /// <param name="compaction">How the store's column families are compacted, the raw tuning callback's say included.</param>
    private static RocksDb OpenDatabase(string path, RocksDbLogStoreOptions options, out string[] created, out FamilyCompaction compaction)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var dbOptions = DatabaseTuning.CreateDbOptions(options);
        var blockCache = DatabaseTuning.CreateBlockCache(options);
        var families = new ColumnFamilies(DatabaseTuning.CreateColumnFamilyOptions(options, ColumnFamilies.DefaultName, blockCache));
        var existing = Directory.Exists(path) && RocksDb.TryListColumnFamilies(dbOptions, path, out var names) ? names : [];
        foreach (var name in existing)
        {
            if (name != ColumnFamilies.DefaultName && name != options.LogColumnFamily && name != options.MetaColumnFamily)
            {
                // RocksDB opens every column family of a database: other data's keep the plain
                // options, unless the raw tuning callback (told every family) sets theirs.
                var other = new ColumnFamilyOptions();
                options.ConfigureColumnFamilyOptions?.Invoke(name, other);
                families.Add(name, other);
            }
        }

        string[] ours = [options.LogColumnFamily, options.MetaColumnFamily];
        var tuned = new ColumnFamilyOptions[ours.Length];
        for (int i = 0; i < ours.Length; i++)
        {
            if (!options.CreateIfMissing && existing.Length > 0 && Array.IndexOf(existing, ours[i]) < 0)
            {
                throw new ColumnFamilyNotFoundException(ours[i], path);
            }

            tuned[i] = DatabaseTuning.CreateColumnFamilyOptions(options, ours[i], blockCache);
            families.Add(ours[i], tuned[i]);
        }

        compaction = FamilyCompaction.Of(tuned[0], tuned[1]);

        created = existing.Length == 0 ? [] : Array.FindAll(ours, name => Array.IndexOf(existing, name) < 0);

        WalLocation.CheckBeforeOpen(path, options.WalDirectory);
        if (options.CreateIfMissing)
        {
            CreateDirectories(path, options.WalDirectory);
        }
        else if (!File.Exists(Path.Combine(path, "CURRENT")))
        {
            // Refused here, not by RocksDB: it makes the directory and writes its info log and
            // lock file there before it finds no database, so a refused open would leave them.
            throw new StoreOpenException(path, new DirectoryNotFoundException(
                $"there is no database at '{path}' (no CURRENT file), and CreateIfMissing is false."));
        }

        RocksDb db;
        try
        {
            db = RocksDb.Open(dbOptions, path, families);
        }
        catch (RocksDbException e)
        {
            throw new StoreOpenException(path, e);
        }

        try
        {
            WalLocation.Record(path, options.WalDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the record only guards the next open against a changed WAL directory.
        }

        return db;
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The store is <see cref="LogKeySpace.Flat"/> and <paramref name="groupId"/> is not its group.</exception>
    public IRaftLogStore ForGroup(ulong groupId)
    {
        ThrowIfClosed();
        if (_flatView is not null)
        {
            if (groupId != _options.FlatGroupId)
            {
                throw new ArgumentException($"This store keeps one group ({_options.FlatGroupId}) in a flat key space; group {groupId} is not in it.", nameof(groupId));
            }

            return _flatView;
        }

        return ViewOf(groupId);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<ulong>> ListGroupsAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return ListGroupsCore(cancellationToken);
        }
        catch (Exception e)
        {
            return ValueTask.FromException<IReadOnlyList<ulong>>(e);
        }
    }

    private ValueTask<IReadOnlyList<ulong>> ListGroupsCore(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfUnusable();
        if (_flatView is not null)
        {
            bool hasState = ReadFlatHasState();
            return new(hasState ? [_options.FlatGroupId] : []);
        }

        return new(ListPrefixedGroups());
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The store is <see cref="LogKeySpace.Flat"/>: its one group is removed by deleting the database.</exception>
    public ValueTask RemoveGroupAsync(ulong groupId, CancellationToken cancellationToken = default)
    {
        try
        {
            return RemoveGroupCore(groupId, cancellationToken);
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }
    }

    private ValueTask RemoveGroupCore(ulong groupId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfUnusable();
        if (_flatView is not null)
        {
            throw new InvalidOperationException("A flat store holds exactly one group; delete its database directory to remove it.");
        }

        var state = StateOf(groupId);
        EnsureLoadedForRemoval(state);
        var request = _requests.Get();
        try
        {
            request.StageRemoveGroup(state);
            request.NamesGroupsById = true;
            return Submit(request);
        }
        catch
        {
            request.Abandon();
            throw;
        }
    }

    /// <inheritdoc />
    public ValueTask WriteAsync(LogWriteBatch batch, CancellationToken cancellationToken = default)
    {
        try
        {
            return WriteCore(batch, cancellationToken);
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }
    }

    private ValueTask WriteCore(LogWriteBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfUnusable();

        // One pass validates every operation and adds up what staging them will take.
        var operations = batch.Operations;
        var size = default(WriteSize);
        for (int i = 0; i < operations.Length; i++)
        {
            ValidateOperation(operations[i]);
            size += operations[i].Kind == LogWriteOpKind.Append ? WriteRequest.AppendSize(_space, operations[i].Entries.Span) : WriteRequest.OtherOperation;
        }

        var request = _requests.Get();
        try
        {
            request.Reserve(size, nameof(batch));
            for (int i = 0; i < operations.Length; i++)
            {
                ref readonly var op = ref operations[i];
                var state = StateForWrite(op.GroupId);
                EnsureLoaded(state);
                switch (op.Kind)
                {
                    case LogWriteOpKind.SaveVote:
                        request.StageVote(_space, state, op.Vote);
                        break;
                    case LogWriteOpKind.Append:
                        request.StageAppend(_space, state, op.Entries.Span);
                        break;
                    case LogWriteOpKind.TruncateAfter:
                        request.StageTruncateAfter(_space, state, op.LogId);
                        break;
                    case LogWriteOpKind.Purge:
                        request.StagePurge(_space, state, op.LogId!.Value);
                        break;
                    default:
                        request.StageCommitted(_space, state, op.LogId);
                        break;
                }
            }

            request.NamesGroupsById = true;
            return Submit(request);
        }
        catch
        {
            request.Abandon();
            throw;
        }
    }

    /// <summary>
    /// Waits for every queued write to complete, then releases the native resources (and the
    /// database, when the store opened it). Later calls fail with <see cref="StoreClosedException"/>.
    /// Every caller, not only the first, returns once the database is released, so any of them
    /// may open it again at once.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        // A full fence: a read counted in before this is seen below, and one counted in after it sees the store closed.
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            await _disposed.Task.ConfigureAwait(false);
            return;
        }

        bool released = false;
        try
        {
            StorageMetrics.Untrack(this);

            await _coalescer.CloseAsync().ConfigureAwait(false);
            var spin = default(SpinWait);
            while (Volatile.Read(ref _activeReads) != 0)
            {
                spin.SpinOnce();
            }

            _coalescer.ReleaseNative();
            RocksDbNative.ReadOptionsDestroy(_readOptions);

            // Claims are keyed by the database's native address: released before it is freed, so
            // a database opened meanwhile at the same address is not refused as in use.
            ColumnFamilyClaims.Release(_dbHandle, _options.LogColumnFamily, _options.MetaColumnFamily);
            released = true;
            if (_ownsDb)
            {
                _db.Dispose();
            }
        }
        finally
        {
            if (!released)
            {
                ColumnFamilyClaims.Release(_dbHandle, _options.LogColumnFamily, _options.MetaColumnFamily);
            }

            StoreLog.Closed(_logger, MetricsName);
            _disposed.SetResult();
        }
    }

    /// <summary>Test seam: the next native write fails with <paramref name="error"/> and is not written.</summary>
    internal void InjectWriteFailure(Exception error) => _coalescer.InjectWriteFailure(error);

    /// <summary>The coalescer, for tests that observe how writes were merged.</summary>
    internal WriteCoalescer Coalescer => _coalescer;

    /// <summary>
    /// Makes the database's directory and the WAL's, with their parents: RocksDB makes each, but
    /// not its parents, and fails only after it has begun the database (its info log written).
    /// </summary>
    /// <exception cref="StoreOpenException">A directory could not be made (a file in its place, no permission).</exception>
    private static void CreateDirectories(string path, string? walDirectory)
    {
        try
        {
            Directory.CreateDirectory(path);
            if (walDirectory is not null)
            {
                Directory.CreateDirectory(walDirectory);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StoreOpenException(path, e);
        }
    }

    private static ColumnFamilyHandle? FindColumnFamily(RocksDb db, string name)
    {
        try
        {
            return db.TryGetColumnFamily(name, out var handle) ? handle : null;
        }
        catch (RocksDbSharpException)
        {
            // The binding throws instead of answering "no" for a database opened without column families.
            return null;
        }
    }

    /// <summary>The group's cached state, created (unloaded) on first use.</summary>
    private GroupLogState StateOf(ulong groupId) => _groups.GetOrAdd(groupId, static (id, store) => new GroupLogState(store, id), this);

    private GroupLogState StateForWrite(ulong groupId) => _flatView ?? StateOf(groupId);

    /// <summary>The group's state, handed out as a view: marked so, as the store never forgets a state a caller may hold.</summary>
    private GroupLogState ViewOf(ulong groupId)
    {
        while (true)
        {
            var state = StateOf(groupId);
            if (Volatile.Read(ref state.HandedOut))
            {
                return state;
            }

            BeforeHandOut?.Invoke();

            // Marked under the gate, where states are forgotten: a state is either forgotten
            // before it is handed out, or handed out and then never forgotten.
            lock (_coalescer.Gate)
            {
                if (!state.Forgotten)
                {
                    Volatile.Write(ref state.HandedOut, true);
                    return state;
                }
            }

            // Forgotten after the lookup, and already dropped from the cache: the next lookup
            // finds or makes the group's new state.
        }
    }

    /// <summary>Test seam: runs when a view is first handed out, between finding its state and marking it handed out.</summary>
    internal Action? BeforeHandOut { get; set; }

    GroupLogState IGroupDirectory.Current(ulong groupId)
    {
        var state = StateOf(groupId);
        if (!state.Loaded)
        {
            // Asked only for a group whose removal was queued. The state that removal put in
            // place is loaded; one made since was made after that stand-in was forgotten, that
            // is after the removal was written and before any later write of the group (which
            // would have loaded it): the database holds the group empty, and so does the state.
            Volatile.Write(ref state.Loaded, true);
        }

        return state;
    }

    GroupLogState IGroupDirectory.ReplaceRemoved(GroupLogState removed)
    {
        // The replacement is known empty (the removal is queued before any later write), so it
        // must not be loaded from the database, which may not have applied the removal yet, nor
        // read through until it has (see GroupLogState.RemovalUnwritten).
        var replacement = new GroupLogState(this, removed.GroupId) { Loaded = true, RemovalUnwritten = true };
        _groups[removed.GroupId] = replacement;
        return replacement;
    }

    void IGroupDirectory.RemovalWritten(GroupLogState replacement)
    {
        Volatile.Write(ref replacement.RemovalUnwritten, false);

        // Used since the removal was queued: written (every write stamps the states it checks,
        // a later removal included) or handed out as a view. Otherwise the database now holds
        // the group empty with no write of it queued, which is what a state loaded afresh will read.
        if (replacement.PendingStamp != 0 || replacement.HandedOut)
        {
            return;
        }

        replacement.Forgotten = true;
        _groups.TryRemove(KeyValuePair.Create(replacement.GroupId, replacement));
    }

    private void ValidateOperation(in LogWriteOp op)
    {
        if (_flatView is not null && op.GroupId != _options.FlatGroupId)
        {
            throw new ArgumentException($"This store keeps one group ({_options.FlatGroupId}) in a flat key space; the batch addresses group {op.GroupId}.", "batch");
        }

        switch (op.Kind)
        {
            case LogWriteOpKind.Append:
                ValidateEntries(op.GroupId, op.Entries.Span, "batch");
                break;
            case LogWriteOpKind.Purge:
                if (op.LogId is not { } purge)
                {
                    throw new ArgumentException($"A purge of group {op.GroupId} needs a log id.", "batch");
                }

                ValidateIndex(op.GroupId, purge.Index, "batch");
                break;
            case LogWriteOpKind.TruncateAfter:
                if (op.LogId is { } truncate)
                {
                    ValidateIndex(op.GroupId, truncate.Index, "batch");
                }

                break;
            case LogWriteOpKind.SaveVote:
            case LogWriteOpKind.SaveCommitted:
                break;
            default:
                throw new ArgumentOutOfRangeException("batch", op.Kind, $"Unknown log write operation for group {op.GroupId}.");
        }
    }

    /// <param name="groupId">The group appended to.</param>
    /// <param name="entries">The entries to append.</param>
    /// <param name="paramName">The caller's parameter that carried them, named in an argument error.</param>
    private static void ValidateEntries(ulong groupId, ReadOnlySpan<Entry> entries, string paramName)
    {
        for (int i = 0; i < entries.Length; i++)
        {
            ValidateIndex(groupId, entries[i].Index, paramName);
            if (i > 0 && entries[i].Index != entries[i - 1].Index + 1)
            {
                throw new LogOrderException(groupId, $"entries to append are not contiguous: {entries[i - 1].LogId} is followed by {entries[i].LogId}.");
            }
        }
    }

    private static void ValidateIndex(ulong groupId, ulong index, string paramName) => LogIndexes.ThrowIfOutOfRange(groupId, index, paramName);

    private ValueTask Submit(WriteRequest request)
    {
        short version = request.Version;
        _coalescer.Submit(request);
        return new ValueTask(request, version);
    }

    private void ThrowIfClosed()
    {
        if (Volatile.Read(ref _closed) != 0)
        {
            throw new StoreClosedException();
        }
    }

    private void ThrowIfUnusable()
    {
        ThrowIfClosed();
        if (_coalescer.Failure is { } failure)
        {
            throw new StoreFailedException(failure);
        }
    }

    /// <summary>Pools write requests: enough are retained for thousands of concurrent writers.</summary>
    private sealed class RequestPool : Microsoft.Extensions.ObjectPool.DefaultObjectPool<WriteRequest>
    {
        public RequestPool() : this(new Policy()) { }

        private RequestPool(Policy policy) : base(policy, 4096)
        {
            policy.Owner = this;
        }

        private sealed class Policy : Microsoft.Extensions.ObjectPool.PooledObjectPolicy<WriteRequest>
        {
            public RequestPool? Owner { get; set; }

            public override WriteRequest Create() => new(Owner!);

            public override bool Return(WriteRequest obj) => true;
        }
    }
}
