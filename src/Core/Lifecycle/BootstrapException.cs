namespace RaftToolkit.Core.Lifecycle;

/// <summary>Why a bootstrap was refused.</summary>
public enum BootstrapErrorKind : byte
{
    /// <summary>Fresh was asked for a group whose store already holds a vote, a committed id or log entries, or whose state machine has applied entries or holds a snapshot.</summary>
    UnexpectedExistingState,

    /// <summary>The group is already running (or starting) on this host.</summary>
    AlreadyHosted,
}

/// <summary>A bootstrap was refused before anything was changed.</summary>
public sealed class BootstrapException : Exception
{
    /// <summary>Creates the exception.</summary>
    public BootstrapException(BootstrapErrorKind kind, ulong groupId, string message)
        : base($"Group {groupId}: {message}")
    {
        Kind = kind;
        GroupId = groupId;
    }

    /// <summary>Why the bootstrap was refused.</summary>
    public BootstrapErrorKind Kind { get; }

    /// <summary>The group.</summary>
    public ulong GroupId { get; }
}
