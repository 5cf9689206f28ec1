using RaftToolkit.Core.Storage;
using RaftToolkit.Native.Keys;

namespace RaftToolkit.Native;

/// <summary>The database's log was written in one key space and the store was opened in the other.</summary>
public sealed class KeySpaceMismatchException : RaftStorageException
{
    /// <summary>Creates the error naming both key spaces.</summary>
    public KeySpaceMismatchException(LogKeySpace stored, LogKeySpace requested, string metaColumnFamily, string? path)
        : base($"The database{DatabaseLocation.Suffix(path)} holds a log written with key space {stored} (so says the marker in column family " +
               $"'{metaColumnFamily}'); the store was opened with {requested}. Open it with KeySpace = {stored}.")
    {
        Stored = stored;
        Requested = requested;
    }

    /// <summary>The key space the database was written in.</summary>
    public LogKeySpace Stored { get; }

    /// <summary>The key space the store was opened with.</summary>
    public LogKeySpace Requested { get; }
}
