using RaftToolkit.Native.Interop;
using RaftToolkit.Native.Keys;
using RocksDbSharp;

namespace RaftToolkit.Native;

/// <summary>
/// Records, in the meta column family, which key space a store wrote its keys in, and refuses to
/// open the database in the other one.
/// </summary>
/// <remarks>
/// Why: the two key spaces share nothing, so a store opened in the wrong one does not fail, it
/// finds nothing. A flat store over a group-prefixed database would see an empty log and no
/// vote, and its node could vote a second time in a term it already voted in; a group-prefixed
/// store over a flat database would list every flat index as a group. The marker turns that
/// misconfiguration into <see cref="KeySpaceMismatchException"/> before anything is read or
/// written. Value: <c>[marker version 1 | key space: 0 flat, 1 group-prefixed]</c>. A database
/// without a marker (new, or written before the marker existed) gets one for the key space it
/// is opened in, unless its log's keys tell the other one (8 bytes flat, 16 group-prefixed): that
/// catches a database written before the marker, and a log opened beside a meta column family
/// other than the one that holds its marker.
/// </remarks>
internal static class KeySpaceMarker
{
    private const byte MarkerVersion = 1;

    /// <summary>Checks the marker against <paramref name="requested"/>, writing it (durably) when absent.</summary>
    /// <exception cref="KeySpaceMismatchException">The database was written in the other key space.</exception>
    /// <exception cref="RaftToolkit.Core.Storage.RaftStorageException">The marker is unreadable, or absent and could not be written (a database opened read-only).</exception>
    public static void CheckOrWrite(RocksDb db, ColumnFamilyHandle logFamily, string logFamilyName, ColumnFamilyHandle metaFamily, string metaFamilyName, LogKeySpace requested, string? path)
    {
        byte[] key = LogKeys.KeySpaceMarkerKey.ToArray();
        var stored = db.Get(key, metaFamily);
        if (stored is null)
        {
            CheckLogKeys(db, logFamily, logFamilyName, requested, path);

            // Durable through the flush (a synced table file and manifest), whatever the store's
            // sync mode; a crash before it leaves no marker, and the next open writes it again.
            byte[] marker = [MarkerVersion, Encode(requested)];
            try
            {
                db.Put(key, marker, metaFamily);
            }
            catch (RocksDbException e)
            {
                throw new RaftToolkit.Core.Storage.RaftStorageException(
                    $"The database{DatabaseLocation.Suffix(path)} has no key-space marker, and writing one failed (a database opened read-only cannot take it): {e.Message}", e);
            }

            FlushMarker(db, metaFamily, metaFamilyName, path);
            return;
        }

        if (stored is not [MarkerVersion, var space] || space > Encode(LogKeySpace.GroupPrefixed))
        {
            throw new RaftToolkit.Core.Storage.RaftStorageException(
                $"The key-space marker in column family '{metaFamilyName}' of the database{DatabaseLocation.Suffix(path)} is unreadable ({Convert.ToHexString(stored)}).");
        }

        var actual = space == Encode(LogKeySpace.Flat) ? LogKeySpace.Flat : LogKeySpace.GroupPrefixed;
        if (actual != requested)
        {
            throw new KeySpaceMismatchException(actual, requested, metaFamilyName, path);
        }
    }

    /// <summary>
    /// Without a marker: refuses <paramref name="requested"/> when the log's first and last keys
    /// both have the other key space's length. One stray key (which reads report as corruption
    /// where it lies) does not decide; nor does anything when a marker exists, which the
    /// database's own store wrote.
    /// </summary>
    private static void CheckLogKeys(RocksDb db, ColumnFamilyHandle logFamily, string logFamilyName, LogKeySpace requested, string? path)
    {
        using var keys = db.NewIterator(logFamily);
        keys.SeekToFirst();
        if (!keys.Valid())
        {
            return;
        }

        int first = keys.Key().Length;
        keys.SeekToLast();
        int last = keys.Valid() ? keys.Key().Length : -1;
        var other = requested == LogKeySpace.Flat ? LogKeySpace.GroupPrefixed : LogKeySpace.Flat;
        if (first == last && first == LogKeys.LogKeyLength(other))
        {
            throw KeySpaceMismatchException.ByLogKeys(other, requested, logFamilyName, first, path);
        }
    }

    /// <summary>Moves the marker from the memtable into a table file of its own, durably.</summary>
    /// <remarks>
    /// Why: a write that sits in a column family's memtable keeps the WAL holding it alive. Left
    /// there, the marker would pin the database's first WAL until the meta column family's next
    /// flush, which a store that only appends may not see for hundreds of megabytes. A pinned WAL
    /// cannot be reused (<see cref="RocksDbLogStoreOptions.WalRecycleFileCount"/>), so the WALs
    /// after it would be new files, each synced write growing its file and paying for writing
    /// the file's size too: synced 64-entry writes took a third longer until the bound on the
    /// WAL forced the flush.
    /// </remarks>
    private static void FlushMarker(RocksDb db, ColumnFamilyHandle metaFamily, string metaFamilyName, string? path)
    {
        var flush = new FlushOptions().SetWaitForFlush(true);
        RocksDbSharp.Native.Instance.rocksdb_flush_cf(db.Handle, flush.Handle, metaFamily.Handle, out nint error);

        // The binding frees the options from a finalizer: keep them alive through the waiting flush.
        GC.KeepAlive(flush);
        if (RocksDbNative.TakeError(error) is { } failure)
        {
            throw new RaftToolkit.Core.Storage.RaftStorageException(
                $"Flushing the key-space marker in column family '{metaFamilyName}' of the database{DatabaseLocation.Suffix(path)} failed: {failure.Message}", failure);
        }
    }

    private static byte Encode(LogKeySpace space) => space == LogKeySpace.Flat ? (byte)0 : (byte)1;
}
