using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft.Messages;

namespace RaftToolkit.Core.Raft;

/// <summary>
/// The work a <see cref="RaftNode"/> hands to its host in one round. The host, in this order:
/// sends <see cref="Messages"/> (they never depend on this round's writes, so they may go out at
/// once); persists <see cref="Vote"/>, then the truncation, then <see cref="Entries"/>, then
/// <see cref="Committed"/>; applies <see cref="CommittedEntries"/> in order; and calls
/// <see cref="RaftNode.Advance"/> once the writes are durable. Responses that acknowledge this
/// round's writes are released only after that call (persist before you speak).
/// </summary>
public sealed class Ready
{
    internal Ready(
        Vote? vote,
        bool hasTruncation,
        ulong truncateFromIndex,
        LogId? truncateAfter,
        ReadOnlyMemory<Entry> entries,
        LogId? committed,
        IReadOnlyList<RaftMessage> messages,
        ReadOnlyMemory<Entry> committedEntries)
    {
        Vote = vote;
        HasTruncation = hasTruncation;
        TruncateFromIndex = truncateFromIndex;
        TruncateAfter = truncateAfter;
        Entries = entries;
        Committed = committed;
        Messages = messages;
        CommittedEntries = committedEntries;
    }

    /// <summary>The vote to persist durably, when it changed.</summary>
    public Vote? Vote { get; }

    /// <summary>True when entries must be deleted before <see cref="Entries"/> are appended.</summary>
    public bool HasTruncation { get; }

    /// <summary>With <see cref="HasTruncation"/>: delete every entry at or after this index.</summary>
    public ulong TruncateFromIndex { get; }

    /// <summary>With <see cref="HasTruncation"/>: the id of the entry kept just before the deleted ones (none: delete all), as <c>TruncateAfterAsync</c> takes it.</summary>
    public LogId? TruncateAfter { get; }

    /// <summary>
    /// Entries to append (after the truncation), contiguous, following the log's last entry.
    /// Valid until <see cref="RaftNode.Advance"/>: it may share the node's buffer, so a host that
    /// keeps the entries longer copies them (writing them to a store does).
    /// </summary>
    public ReadOnlyMemory<Entry> Entries { get; }

    /// <summary>The committed log id to save, when it advanced (a non-durable save is enough).</summary>
    public LogId? Committed { get; }

    /// <summary>Messages to send; none of them waits on this round's writes.</summary>
    public IReadOnlyList<RaftMessage> Messages { get; }

    /// <summary>Committed entries to apply, in log order, continuing from the last applied one.</summary>
    public ReadOnlyMemory<Entry> CommittedEntries { get; }

    /// <summary>True when this round writes something durable (vote, truncation or entries).</summary>
    public bool MustPersist => Vote.HasValue || HasTruncation || !Entries.IsEmpty;
}
