using RaftToolkit.Core.Storage;

namespace RaftToolkit.Native;

/// <summary>
/// RocksDB could not open the database: another store holds it, the path is not a database
/// directory, its files are damaged, or the disk failed. Nothing was opened.
/// </summary>
public sealed class StoreOpenException : RaftStorageException
{
    /// <summary>Creates the error for the database at <paramref name="path"/>, carrying RocksDB's error.</summary>
    public StoreOpenException(string path, Exception cause)
        : base(Describe(path, cause), cause)
    {
        Path = path;
    }

    /// <summary>The database's path.</summary>
    public string Path { get; }

    /// <summary>
    /// True when the database is open elsewhere, in this process or another: RocksDB holds a
    /// lock on its directory for as long as it is open.
    /// </summary>
    public bool InUse => IsLockError(InnerException!);

    private static string Describe(string path, Exception cause) => IsLockError(cause)
        ? $"The log store at '{path}' is in use: a store in this or another process has it open ({cause.Message})."
        : $"The log store at '{path}' could not be opened: {cause.Message}";

    // RocksDB reports a held lock as "lock hold by current process" or, for another process,
    // "While lock file: <path>/LOCK: Resource temporarily unavailable". A lock file it cannot
    // open at all ("while open a file for lock: <path>/LOCK: Permission denied", or a directory
    // in its place) is not a lock someone holds.
    private static bool IsLockError(Exception cause) =>
        cause.Message.Contains("lock hold by current process", StringComparison.Ordinal) || cause.Message.Contains("While lock file:", StringComparison.Ordinal);
}
