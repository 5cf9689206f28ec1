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

    /// <summary>Opens the store at <paramref name="path"/> read-only, with the default column family names.</summary>
    /// <remarks>
    /// Read-only, because a running host may own the directory (RocksDB then holds its lock, which
    /// a read-only open does not take), and looking must never change it. With the WAL wherever
    /// the store keeps it, or the writes not yet in table files are missed. A read-only database
    /// shows what was written up to its open, nothing written after.
    /// </remarks>
    /// <exception cref="ArgumentException">There is no directory at <paramref name="path"/>.</exception>
    /// <exception cref="RocksDbException">RocksDB could not open the database.</exception>
    /// <exception cref="RaftToolkit.Core.Storage.RaftStorageException">The store could not attach (no key-space marker, which a read-only database cannot take).</exception>
    public static ReadOnlyStore Open(string path)
    {
        if (!Directory.Exists(path))
        {
            throw new ArgumentException($"No store at '{path}'.");
        }

        var families = new ColumnFamilies();
        families.Add(RocksDbLogStoreOptions.DefaultLogColumnFamily, new ColumnFamilyOptions());
        families.Add(RocksDbLogStoreOptions.DefaultMetaColumnFamily, new ColumnFamilyOptions());
        var db = RocksDb.OpenReadOnly(new DbOptions().SetWalDir(RocksDbLogStore.WalDirectoryOf(path)), path, families, false);
        try
        {
            return new ReadOnlyStore(db, Attach(db));
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    /// <summary>Attaches in the key space the database's marker names: group-prefixed, unless it says flat.</summary>
    private static RocksDbLogStore Attach(RocksDb db)
    {
        try
        {
            return RocksDbLogStore.Attach(db, new RocksDbLogStoreOptions { KeySpace = LogKeySpace.GroupPrefixed });
        }
        catch (KeySpaceMismatchException mismatch)
        {
            // A flat store's one group is shown as group 0: the id its application gives it is not stored.
            return RocksDbLogStore.Attach(db, new RocksDbLogStoreOptions { KeySpace = mismatch.Stored });
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
