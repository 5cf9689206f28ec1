using System.Numerics;
using RaftToolkit.Core.Model;

namespace RaftToolkit.Core.Storage;

/// <summary>What one <see cref="LogWriteOp"/> does.</summary>
public enum LogWriteOpKind : byte
{
    /// <summary>Persist a vote.</summary>
    SaveVote,

    /// <summary>Append entries after the group's last entry.</summary>
    Append,

    /// <summary>Delete every entry after a log id (all when none).</summary>
    TruncateAfter,

    /// <summary>Delete every entry up to a log id and record it as purged.</summary>
    Purge,

    /// <summary>Record the committed id.</summary>
    SaveCommitted,
}

/// <summary>One operation on one group inside a <see cref="LogWriteBatch"/>.</summary>
/// <param name="Kind">What the operation does.</param>
/// <param name="GroupId">The group it applies to.</param>
/// <param name="Vote">The vote (SaveVote).</param>
/// <param name="LogId">The log id (TruncateAfter, Purge, SaveCommitted; none means "all" or "none").</param>
/// <param name="Entries">The entries (Append).</param>
public readonly record struct LogWriteOp(LogWriteOpKind Kind, ulong GroupId, Vote Vote, LogId? LogId, ReadOnlyMemory<Entry> Entries);

/// <summary>
/// The writes of many groups that become durable together (one WriteBatch, one fsync).
/// Reusable: the host keeps one per worker and clears it after each round, so building a batch
/// allocates nothing once its buffer has grown.
/// </summary>
/// <remarks>Not thread-safe: one writer fills it, then hands it to the store.</remarks>
public sealed class LogWriteBatch
{
    private const int InitialCapacity = 16;

    private LogWriteOp[] _ops = new LogWriteOp[InitialCapacity];
    private int _count;

    /// <summary>The most operations held at once since the last <see cref="TrimExcess"/>.</summary>
    private int _peak;

    /// <summary>The operations in the order they apply.</summary>
    public ReadOnlySpan<LogWriteOp> Operations => _ops.AsSpan(0, _count);

    /// <summary>How many operations the batch holds.</summary>
    public int Count => _count;

    /// <summary>True when the batch holds nothing.</summary>
    public bool IsEmpty => _count == 0;

    /// <summary>How many operations the buffer holds before it grows.</summary>
    internal int Capacity => _ops.Length;

    /// <summary>How many entries the batch appends in all.</summary>
    public int EntryCount { get; private set; }

    /// <summary>Adds: persist <paramref name="vote"/> for <paramref name="groupId"/>.</summary>
    public void SaveVote(ulong groupId, Vote vote) => Add(new(LogWriteOpKind.SaveVote, groupId, vote, null, default));

    /// <summary>Adds: append <paramref name="entries"/> to <paramref name="groupId"/>'s log.</summary>
    /// <remarks>The entries' memory must stay valid until the write completes.</remarks>
    public void Append(ulong groupId, ReadOnlyMemory<Entry> entries)
    {
        if (entries.IsEmpty)
        {
            return;
        }

        EntryCount += entries.Length;
        Add(new(LogWriteOpKind.Append, groupId, default, null, entries));
    }

    /// <summary>Adds: delete every entry of <paramref name="groupId"/> after <paramref name="logId"/>.</summary>
    public void TruncateAfter(ulong groupId, LogId? logId) => Add(new(LogWriteOpKind.TruncateAfter, groupId, default, logId, default));

    /// <summary>Adds: purge <paramref name="groupId"/>'s log up to <paramref name="logId"/>.</summary>
    public void Purge(ulong groupId, LogId logId) => Add(new(LogWriteOpKind.Purge, groupId, default, logId, default));

    /// <summary>Adds: record <paramref name="committed"/> for <paramref name="groupId"/>.</summary>
    public void SaveCommitted(ulong groupId, LogId? committed) => Add(new(LogWriteOpKind.SaveCommitted, groupId, default, committed, default));

    /// <summary>Removes every operation of <paramref name="groupId"/>, keeping the others in order; returns how many it removed.</summary>
    public int RemoveGroup(ulong groupId)
    {
        int kept = 0;
        for (int i = 0; i < _count; i++)
        {
            var op = _ops[i];
            if (op.GroupId == groupId)
            {
                EntryCount -= op.Entries.Length;
                continue;
            }

            _ops[kept++] = op;
        }

        int removed = _count - kept;
        _ops.AsSpan(kept, removed).Clear();
        _count = kept;
        return removed;
    }

    /// <summary>Empties the batch, keeping its buffer.</summary>
    public void Clear()
    {
        // Drop references to entry memory so a cleared batch does not keep payloads alive.
        _ops.AsSpan(0, _count).Clear();
        _peak = Math.Max(_peak, _count);
        _count = 0;
        EntryCount = 0;
    }

    /// <summary>
    /// Shrinks the buffer to twice what the batches since the last call needed, when that is
    /// under a quarter of it. A reused batch grows to the largest one it ever held; a caller
    /// that calls this now and then (a host does once per tick) lets the buffer of a burst
    /// (every group electing at once) go once the burst is over, while a steady load keeps the
    /// buffer it needs.
    /// </summary>
    public void TrimExcess()
    {
        int peak = Math.Max(_peak, _count);
        _peak = 0;
        if (_ops.Length <= InitialCapacity || peak >= _ops.Length / 4)
        {
            return;
        }

        var ops = new LogWriteOp[Math.Max(InitialCapacity, (int)BitOperations.RoundUpToPowerOf2((uint)peak * 2))];
        _ops.AsSpan(0, _count).CopyTo(ops);
        _ops = ops;
    }

    private void Add(in LogWriteOp op)
    {
        if (_count == _ops.Length)
        {
            Array.Resize(ref _ops, _ops.Length * 2);
        }

        _ops[_count++] = op;
    }
}
