using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;

namespace RaftToolkit.Testing.Storage;

/// <summary>
/// One group's log state, kept in memory. Not synchronized: its owner (an
/// <see cref="InMemoryLogStore"/> or an <see cref="InMemoryMultiGroupLogStore"/>) holds a lock
/// around every call. Validation is split from mutation so that a batch can check every
/// operation before it changes anything.
/// </summary>
internal sealed class InMemoryGroupLog
{
    /// <summary>The entries after the last purged id; <c>_entries[0].Index == _purged.NextIndex()</c> when not empty.</summary>
    private readonly List<Entry> _entries = new();

    public InMemoryGroupLog(ulong groupId)
    {
        GroupId = groupId;
    }

    public ulong GroupId { get; }

    /// <summary>Set once the group is removed from its multi-group store; views then refuse every call.</summary>
    public bool Removed { get; set; }

    public Vote? Vote { get; private set; }

    public LogId? Committed { get; private set; }

    public LogId? LastPurged { get; private set; }

    public LogId? LastLogId => _entries.Count > 0 ? _entries[^1].LogId : LastPurged;

    /// <summary>The index the next appended entry must have.</summary>
    public ulong NextIndex => LastLogId.NextIndex();

    /// <summary>The index of the first entry that may exist (everything before is purged).</summary>
    public ulong FirstIndex => LastPurged.NextIndex();

    /// <summary>True when anything was ever recorded for the group.</summary>
    public bool HasState => _entries.Count > 0 || Vote is not null || Committed is not null || LastPurged is not null;

    public void SaveVote(Vote vote) => Vote = vote;

    public void SaveCommitted(LogId? committed) => Committed = committed;

    /// <summary>Throws <see cref="LogOrderException"/> unless <paramref name="entries"/> can follow <paramref name="nextIndex"/> with no hole, and <see cref="ArgumentOutOfRangeException"/> for an index past <see cref="LogIndexes.Max"/>.</summary>
    public static void ValidateAppend(ulong groupId, ulong nextIndex, ReadOnlySpan<Entry> entries, string paramName)
    {
        if (entries.IsEmpty)
        {
            return;
        }

        // In the RocksDB store's order: the entries on their own, then that the first follows the log.
        ValidateEntries(groupId, entries, paramName);
        if (entries[0].Index != nextIndex)
        {
            throw new LogOrderException(groupId, $"an append must start at index {nextIndex} (right after the last entry), but its first entry is {entries[0].LogId}.");
        }
    }

    /// <summary>
    /// Checks what an append's entries must be whatever the log holds: each index at most
    /// <see cref="LogIndexes.Max"/> (<see cref="ArgumentOutOfRangeException"/>), each following the
    /// one before (<see cref="LogOrderException"/>); in that order, entry by entry, as the RocksDB store.
    /// </summary>
    public static void ValidateEntries(ulong groupId, ReadOnlySpan<Entry> entries, string paramName)
    {
        for (int i = 0; i < entries.Length; i++)
        {
            LogIndexes.ThrowIfOutOfRange(groupId, entries[i].Index, paramName);
            if (i > 0 && entries[i].Index != entries[i - 1].Index + 1)
            {
                throw new LogOrderException(groupId, $"appended entries are not contiguous: {entries[i].LogId} follows {entries[i - 1].LogId}.");
            }
        }
    }

    /// <summary>Throws <see cref="LogOrderException"/> when truncating after <paramref name="logId"/> would cut into purged entries.</summary>
    public static void ValidateTruncate(ulong groupId, LogId? purged, LogId? logId, string paramName)
    {
        if (logId is { } named)
        {
            LogIndexes.ThrowIfOutOfRange(groupId, named.Index, paramName);
        }

        if (purged is { } p && (logId is not { } id || id.Index < p.Index))
        {
            throw new LogOrderException(groupId, $"cannot truncate after {(logId is { } l ? l.ToString() : "none")}: it is before the last purged id {p}.");
        }
    }

    /// <summary>Throws <see cref="LogOrderException"/> when <paramref name="logId"/> is before the last purged id.</summary>
    public static void ValidatePurge(ulong groupId, LogId? purged, LogId logId, string paramName)
    {
        LogIndexes.ThrowIfOutOfRange(groupId, logId.Index, paramName);
        if (purged is { } p && logId.Index < p.Index)
        {
            throw new LogOrderException(groupId, $"cannot purge up to {logId}: it is before the last purged id {p}.");
        }
    }

    public void Append(ReadOnlySpan<Entry> entries)
    {
        ValidateAppend(GroupId, NextIndex, entries, nameof(entries));
        foreach (var entry in entries)
        {
            _entries.Add(entry);
        }
    }

    public void TruncateAfter(LogId? logId)
    {
        ValidateTruncate(GroupId, LastPurged, logId, nameof(logId));
        ulong keepBefore = logId.NextIndex();
        ulong first = FirstIndex;
        if (keepBefore < first)
        {
            keepBefore = first;
        }

        ulong keep = keepBefore - first;
        if (keep < (ulong)_entries.Count)
        {
            _entries.RemoveRange((int)keep, _entries.Count - (int)keep);
        }
    }

    public void Purge(LogId logId)
    {
        ValidatePurge(GroupId, LastPurged, logId, nameof(logId));
        ulong first = FirstIndex;
        ulong drop = logId.Index + 1 - first;
        _entries.RemoveRange(0, (int)Math.Min(drop, (ulong)_entries.Count));
        LastPurged = logId;
    }

    /// <summary>Copies the entries in <c>[start, end)</c> that exist, at most <paramref name="limit"/> of them.</summary>
    public List<Entry> Read(ulong start, ulong end, int limit)
    {
        ulong first = FirstIndex;
        ulong next = NextIndex;
        ulong from = Math.Max(start, first);
        ulong to = Math.Min(end, next);
        var result = new List<Entry>();
        if (from >= to || _entries.Count == 0)
        {
            return result;
        }

        int offset = (int)(from - first);
        int count = (int)Math.Min(to - from, (ulong)limit);
        result.AddRange(_entries.GetRange(offset, count));
        return result;
    }

    public LogId GetLogId(ulong index)
    {
        if (LastPurged is { } purged && index <= purged.Index)
        {
            throw new LogEntryNotFoundException(GroupId, index, $"purged up to {purged}");
        }

        if (index >= NextIndex || _entries.Count == 0)
        {
            throw new LogEntryNotFoundException(GroupId, index, $"past the end, the last log id is {(LastLogId is { } last ? last.ToString() : "none")}");
        }

        return _entries[(int)(index - FirstIndex)].LogId;
    }

    /// <summary>
    /// A shadow of the log's ends that a batch validates against: it moves as each operation of
    /// the batch would, without touching the log.
    /// </summary>
    public struct Shadow
    {
        /// <summary>The parameter of a batch write, named in its argument errors.</summary>
        private const string Batch = "batch";

        public Shadow(InMemoryGroupLog log)
        {
            GroupId = log.GroupId;
            Purged = log.LastPurged;
            Next = log.NextIndex;
        }

        public Shadow(ulong groupId)
        {
            GroupId = groupId;
            Purged = null;
            Next = 0;
        }

        public ulong GroupId { get; }

        public LogId? Purged { get; private set; }

        public ulong Next { get; private set; }

        public void Append(ReadOnlySpan<Entry> entries)
        {
            ValidateAppend(GroupId, Next, entries, Batch);
            if (!entries.IsEmpty)
            {
                Next = entries[^1].Index + 1;
            }
        }

        public void TruncateAfter(LogId? logId)
        {
            ValidateTruncate(GroupId, Purged, logId, Batch);
            Next = Math.Min(Next, logId.NextIndex());
        }

        public void Purge(LogId logId)
        {
            ValidatePurge(GroupId, Purged, logId, Batch);
            Purged = logId;
            Next = Math.Max(Next, logId.Index + 1);
        }
    }
}
