using RaftToolkit.Native;
using RaftToolkit.Native.Keys;
using RocksDbSharp;

namespace RaftToolkit.Cli;

/// <summary>
/// A store opened for looking at, never for changing: the database opened read-only, with its
/// WAL, and the store attached to it in the key space the database was written in. What
/// <c>inspect</c> and <c>verify</c> open.
/// </summary>
internal sealed class ReadOnlyStore : IAsyncDisposable
{
    private readonly RocksDb _db;

    private ReadOnlyStore(RocksDb db, RocksDbLogStore store)
    {
        _db = db;
        Store = store;
    }

    /// <summary>The store, attached to the read-only database (its writes fail).</summary>
    public RocksDbLogStore Store { get; }

    /// <summary>Opens the store <paramref name="selection"/> names read-only.</summary>
    /// <remarks>
    /// Read-only, because a running host may own the directory (RocksDB then holds its lock, which
    /// a read-only open does not take), and looking must never change it. With the WAL wherever
    /// the store keeps it, or the writes not yet in table files are missed. A read-only database
    /// shows what was written up to its open, nothing written after. It opens only the store's two
    /// column families, so other stores of the database are neither read nor in the way.
    /// </remarks>
    /// <exception cref="ArgumentException">There is no directory at the selection's path.</exception>
    /// <exception cref="RocksDbException">RocksDB could not open the database.</exception>
    /// <exception cref="RaftToolkit.Core.Storage.RaftStorageException">The database lacks one of the named column families (the message lists those it has, the inner exception is the <see cref="ColumnFamilyNotFoundException"/>), or the store could not attach (no key-space marker, which a read-only database cannot take).</exception>
    public static ReadOnlyStore Open(StoreSelection selection)
    {
        string path = selection.Path;
        if (!Directory.Exists(path))
        {
            throw new ArgumentException($"No store at '{path}'.");
        }

        var dbOptions = new DbOptions().SetWalDir(RocksDbLogStore.WalDirectoryOf(path));
        ThrowIfMissing(dbOptions, selection);
        var families = new ColumnFamilies();
        families.Add(selection.LogFamily, new ColumnFamilyOptions());
        families.Add(selection.MetaFamily, new ColumnFamilyOptions());
        var db = RocksDb.OpenReadOnly(dbOptions, path, families, false);
        try
        {
            return new ReadOnlyStore(db, Attach(db, selection));
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Names the missing column family, and the ones the database has, before RocksDB's read-only
    /// open refuses with less to go on: a store opened with other names is the usual cause.
    /// </summary>
    private static void ThrowIfMissing(DbOptions dbOptions, StoreSelection selection)
    {
        // No list (no database here): the open below says why in RocksDB's words.
        if (!RocksDb.TryListColumnFamilies(dbOptions, selection.Path, out var names))
        {
            return;
        }

        foreach (string family in (string[])[selection.LogFamily, selection.MetaFamily])
        {
            if (!names.Contains(family))
            {
                var missing = new ColumnFamilyNotFoundException(family, selection.Path);
                throw new RaftToolkit.Core.Storage.RaftStorageException(
                    $"{missing.Message} It has: {string.Join(", ", names)}. Name the store's column families with --log-family and --meta-family.",
                    missing);
            }
        }
    }

    /// <summary>Attaches in the key space the database's marker names: group-prefixed, unless it says flat.</summary>
    private static RocksDbLogStore Attach(RocksDb db, StoreSelection selection)
    {
        var options = new RocksDbLogStoreOptions
        {
            KeySpace = LogKeySpace.GroupPrefixed,
            LogColumnFamily = selection.LogFamily,
            MetaColumnFamily = selection.MetaFamily,
            FlatGroupId = selection.FlatGroupId,
        };
        try
        {
            return RocksDbLogStore.Attach(db, options);
        }
        catch (KeySpaceMismatchException mismatch)
        {
            // A flat store's one group is shown as --flat-group's id (0 by default): the id its
            // application gives it is not stored.
            options.KeySpace = mismatch.Stored;
            return RocksDbLogStore.Attach(db, options);
        }
    }

    /// <summary>Disposes the store, then closes the database.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await Store.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _db.Dispose();
        }
    }
}
