namespace RaftToolkit.Native;

/// <summary>
/// The column families that open stores of this process use, by database: a store claims its
/// two before it reads or writes anything, and gives them back when disposed.
/// </summary>
/// <remarks>
/// A database is known by its native handle, which stays the same while it is open; RocksDB's
/// own lock already keeps one directory from being open twice. Stores over other column
/// families of the same database do not conflict.
/// </remarks>
internal static class ColumnFamilyClaims
{
    private static readonly HashSet<(nint Database, string Family)> Claimed = [];

    /// <summary>Claims both families of one store, or none.</summary>
    /// <exception cref="ColumnFamilyInUseException">An open store already claimed one of them.</exception>
    public static void Claim(nint database, string logFamily, string metaFamily, string? path)
    {
        lock (Claimed)
        {
            foreach (string family in (ReadOnlySpan<string>)[logFamily, metaFamily])
            {
                if (Claimed.Contains((database, family)))
                {
                    throw new ColumnFamilyInUseException(family, path);
                }
            }

            Claimed.Add((database, logFamily));
            Claimed.Add((database, metaFamily));
        }
    }

    public static void Release(nint database, string logFamily, string metaFamily)
    {
        lock (Claimed)
        {
            Claimed.Remove((database, logFamily));
            Claimed.Remove((database, metaFamily));
        }
    }
}
