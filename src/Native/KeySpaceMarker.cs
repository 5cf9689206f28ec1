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
/// is opened in.
/// </remarks>
internal static class KeySpaceMarker
{
    private const byte MarkerVersion = 1;

    /// <summary>Checks the marker against <paramref name="requested"/>, writing it (durably) when absent.</summary>
    /// <exception cref="KeySpaceMismatchException">The database was written in the other key space.</exception>
    /// <exception cref="RaftToolkit.Core.Storage.RaftStorageException">The marker is unreadable.</exception>
    public static void CheckOrWrite(RocksDb db, ColumnFamilyHandle metaFamily, string metaFamilyName, LogKeySpace requested, string? path)
    {
        byte[] key = LogKeys.KeySpaceMarkerKey.ToArray();
        var stored = db.Get(key, metaFamily);
        if (stored is null)
        {
            // Synced whatever the store's sync mode: it is written once per database.
            byte[] marker = [MarkerVersion, Encode(requested)];
            db.Put(key, marker, metaFamily, new WriteOptions().SetSync(true));
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

    private static byte Encode(LogKeySpace space) => space == LogKeySpace.Flat ? (byte)0 : (byte)1;
}
