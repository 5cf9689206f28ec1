namespace RaftToolkit.Native.Verification;

/// <summary>What <see cref="RocksDbLogStore.VerifyAsync(CancellationToken)"/> found wrong with one record, key or range.</summary>
public enum StoreProblemKind
{
    /// <summary>
    /// A log record failed its version, checksum or decoding check: what a read of the entry
    /// reports as <see cref="RaftToolkit.Core.Storage.LogCorruptionException"/>.
    /// </summary>
    CorruptLogRecord,

    /// <summary>
    /// A meta record (vote, committed or last purged id) failed its version, checksum or decoding
    /// check: what a read of it reports as <see cref="Records.MetaRecordCorruptionException"/>.
    /// </summary>
    CorruptMetaRecord,

    /// <summary>
    /// Entries are missing inside the log: between two stored entries, or between where the log
    /// must start (one past the last purged index, or 0 when nothing is purged) and its first
    /// stored entry. Appends follow the last entry, so the store never leaves one.
    /// </summary>
    Hole,

    /// <summary>
    /// An entry is stored at or below the group's last purged index. A purge deletes those
    /// entries in the same atomic write that records the purged id, so one left means damage.
    /// </summary>
    EntryAtOrBelowPurged,

    /// <summary>
    /// An entry's term is lower than the term of an entry before it in the log, or, for the
    /// first entry after a purge, than the last purged id's term (Raft never writes that).
    /// </summary>
    TermDecreases,

    /// <summary>
    /// A key in one of the store's column families that is not a key of its key space: the
    /// wrong length, an unknown meta label, or an index past <see cref="RaftToolkit.Core.Storage.LogIndexes.Max"/>.
    /// </summary>
    ForeignKey,

    /// <summary>
    /// RocksDB found a block of a column family damaged (its own checksum failed): the keys that
    /// block held could not be read, and were not checked.
    /// </summary>
    DamagedBlock,

    /// <summary>
    /// The group's committed id is not in its log: the entry stored at its index has another id,
    /// the purged id at its index is another, or the log ends before it. A committed entry is in
    /// every later log of the group, and a store writes the committed id only after the entry,
    /// so a log that lost or replaced it lost acknowledged writes. A committed id below the last
    /// purged index is not judged: the purge took its entry.
    /// </summary>
    CommittedNotInLog,

    /// <summary>
    /// An entry's term is above the term of the group's saved vote. A node saves a leader's vote
    /// before it writes any entry of that leader's term, so a vote below the log's terms went
    /// backwards, and the node could vote twice in one term. Reported once per group, at the
    /// first such entry; a group without a vote is not judged.
    /// </summary>
    TermAboveVote,
}
