using RaftToolkit.Core.Model;

namespace RaftToolkit.Core.Storage;

/// <summary>Base of every error a log store or state machine reports.</summary>
public class RaftStorageException : Exception
{
    /// <summary>Creates a storage error.</summary>
    public RaftStorageException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>The store has been closed (or disposed); nothing was done.</summary>
public sealed class StoreClosedException : RaftStorageException
{
    /// <summary>Creates the error.</summary>
    public StoreClosedException(string message = "The log store is closed.") : base(message) { }
}

/// <summary>
/// The store stopped after an I/O error (fail-stop): every write since then fails with this,
/// carrying the original error. Reopen the store to recover.
/// </summary>
public sealed class StoreFailedException : RaftStorageException
{
    /// <summary>Creates the error wrapping the I/O failure that stopped the store.</summary>
    public StoreFailedException(Exception cause)
        : base($"The log store stopped after an I/O error and accepts no more writes: {cause.Message}", cause) { }
}

/// <summary>The group was removed from a multi-group store; its views are no longer usable.</summary>
public sealed class UnknownGroupException : RaftStorageException
{
    /// <summary>Creates the error for <paramref name="groupId"/>.</summary>
    public UnknownGroupException(ulong groupId) : base($"Group {groupId} is not in this store (it was removed).")
    {
        GroupId = groupId;
    }

    /// <summary>The group asked for.</summary>
    public ulong GroupId { get; }
}

/// <summary>
/// A write would break the log's order: a non-contiguous append, or a truncate / purge before
/// what is already purged. Nothing was written.
/// </summary>
public sealed class LogOrderException : RaftStorageException
{
    /// <summary>Creates the error for <paramref name="groupId"/>.</summary>
    public LogOrderException(ulong groupId, string message) : base($"Group {groupId}: {message}")
    {
        GroupId = groupId;
    }

    /// <summary>The group whose log was addressed.</summary>
    public ulong GroupId { get; }
}

/// <summary>An entry was asked for by index, but it is purged or past the end.</summary>
public sealed class LogEntryNotFoundException : RaftStorageException
{
    /// <summary>Creates the error.</summary>
    public LogEntryNotFoundException(ulong groupId, ulong index, string reason)
        : base($"Group {groupId}: no log entry at index {index} ({reason}).")
    {
        GroupId = groupId;
        Index = index;
    }

    /// <summary>The group whose log was read.</summary>
    public ulong GroupId { get; }

    /// <summary>The index asked for.</summary>
    public ulong Index { get; }
}

/// <summary>
/// A stored log record failed its format-version or checksum check, or RocksDB found the block
/// holding it damaged; it was not returned as data.
/// </summary>
public sealed class LogCorruptionException : RaftStorageException
{
    /// <summary>Creates the error naming the record, and the lower-level error that found it, if any.</summary>
    public LogCorruptionException(ulong groupId, ulong index, string reason, Exception? cause = null)
        : base($"Corrupted log record in group {groupId} at index {index}: {reason}.", cause)
    {
        GroupId = groupId;
        Index = index;
    }

    /// <summary>The group the record belongs to.</summary>
    public ulong GroupId { get; }

    /// <summary>The index of the corrupted record.</summary>
    public ulong Index { get; }
}

/// <summary>A leader-bounded stream found that the store's vote no longer names the leader it was bound to.</summary>
public sealed class LeaderChangedException : RaftStorageException
{
    /// <summary>Creates the error.</summary>
    public LeaderChangedException(LeaderId expected, Vote? actual)
        : base($"Leader changed: the stream is bound to committed leader {expected}, the store's vote is {(actual is { } v ? v.ToString() : "none")}.")
    {
        Expected = expected;
        Actual = actual;
    }

    /// <summary>The leader the stream was bound to.</summary>
    public LeaderId Expected { get; }

    /// <summary>The vote the store holds now.</summary>
    public Vote? Actual { get; }
}

/// <summary>
/// The log and the state machine disagree in a way that cannot happen in a correct system
/// (for example an inverted log order); the group cannot start.
/// </summary>
public sealed class StorageInconsistencyException : RaftStorageException
{
    /// <summary>Creates the error.</summary>
    public StorageInconsistencyException(string message) : base(message) { }
}
