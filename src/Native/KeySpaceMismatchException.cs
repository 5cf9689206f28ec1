using RaftToolkit.Core.Storage;
using RaftToolkit.Native.Keys;

namespace RaftToolkit.Native;

/// <summary>The database's log was written in one key space and the store was opened in the other.</summary>
public sealed class KeySpaceMismatchException : RaftStorageException
{
    /// <summary>Creates the error naming both key spaces.</summary>
    public KeySpaceMismatchException(LogKeySpace stored, LogKeySpace requested, string metaColumnFamily, string? path)
        : this(Describe(stored, requested, $"so says the marker in column family '{metaColumnFamily}'", path), stored, requested)
    {
    }

    private KeySpaceMismatchException(string message, LogKeySpace stored, LogKeySpace requested)
        : base(message)
    {
        Stored = stored;
        Requested = requested;
    }

    /// <summary>The error when the log's own keys tell its key space (they are 8 bytes long in the flat one, 16 in the other).</summary>
    internal static KeySpaceMismatchException ByLogKeys(LogKeySpace stored, LogKeySpace requested, string logColumnFamily, int keyLength, string? path) =>
        new(Describe(stored, requested, $"its keys in column family '{logColumnFamily}' are {keyLength} bytes long", path), stored, requested);

    private static string Describe(LogKeySpace stored, LogKeySpace requested, string evidence, string? path) =>
        $"The database{DatabaseLocation.Suffix(path)} holds a log written with key space {stored} ({evidence}); " +
        $"the store was opened with {requested}. Open it with KeySpace = {stored}.";

    /// <summary>The key space the database was written in.</summary>
    public LogKeySpace Stored { get; }

    /// <summary>The key space the store was opened with.</summary>
    public LogKeySpace Requested { get; }
}
