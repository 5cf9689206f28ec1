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
/// <remarks>
/// With snapshots, the full order of the writes is: vote; <see cref="TruncationBeforeInstall"/>
/// (durable before the install); <see cref="SnapshotToInstall"/>
/// (install into the state machine and keep it durably as the current snapshot); truncation;
/// purge up to <see cref="PurgeUpTo"/>; entries; committed. Then apply
/// <see cref="CommittedEntries"/> (they follow the installed snapshot), then, when
/// <see cref="SnapshotRequested"/>, build a snapshot and report it with
/// <see cref="RaftNode.SnapshotBuilt"/>.
/// </remarks>
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

    /// <summary>
    /// A snapshot received from the leader, to install before anything else of this round but
    /// the vote: the state machine is replaced by it, and it becomes the current snapshot. The
    /// log then continues after its last log id (<see cref="PurgeUpTo"/> equals it).
    /// </summary>
    public SnapshotMeta? SnapshotToInstall { get; internal set; }

    /// <summary>With <see cref="SnapshotToInstall"/>: the snapshot's bytes (the host's serialized snapshot). Valid until <see cref="RaftNode.Advance"/>.</summary>
    public ReadOnlyMemory<byte> SnapshotData { get; internal set; }

    /// <summary>
    /// With <see cref="SnapshotToInstall"/>, when the log holds another entry at the snapshot's
    /// last index: that entry and every one after it contradict committed state, and must be
    /// deleted durably before the state machine takes the snapshot. A crash between the install
    /// and this round's writes then leaves a log that ends before the snapshot, which start-up
    /// accepts; a log that disagrees with the state machine at the snapshot's index it refuses
    /// as an inverted log order, and the group could not restart.
    /// </summary>
    public LogTruncation? TruncationBeforeInstall { get; internal set; }

    /// <summary>
    /// Delete every log entry up to and including this id's index and record it as the last
    /// purged id (<c>PurgeAsync</c>); a log that ends before it becomes empty and continues after
    /// it. Never past what is applied and covered by a snapshot. A non-durable purge is enough:
    /// the node never reads at or below it again.
    /// </summary>
    public LogId? PurgeUpTo { get; internal set; }

    /// <summary>
    /// True when the host should build a snapshot of the state machine once this round's
    /// <see cref="CommittedEntries"/> are applied, and report it with <see cref="RaftNode.SnapshotBuilt"/>.
    /// </summary>
    public bool SnapshotRequested { get; internal set; }

    /// <summary>Outcomes of <see cref="RaftNode.ReadIndex"/> calls: serve a confirmed read once applied reaches its index.</summary>
    public IReadOnlyList<ReadState> ReadStates { get; internal set; } = [];

    /// <summary>True when this round writes something durable (vote, snapshot install, truncation or entries).</summary>
    /// <remarks><see cref="TruncationBeforeInstall"/> comes only with <see cref="SnapshotToInstall"/>, which this counts.</remarks>
    public bool MustPersist => Vote.HasValue || HasTruncation || !Entries.IsEmpty || SnapshotToInstall is not null;
}

/// <summary>A deletion of the log's tail: every entry at or after <see cref="FromIndex"/>.</summary>
/// <param name="FromIndex">The first index deleted.</param>
/// <param name="After">The id of the entry kept just before the deleted ones (none: delete all), as <c>TruncateAfterAsync</c> takes it.</param>
public readonly record struct LogTruncation(ulong FromIndex, LogId? After);
