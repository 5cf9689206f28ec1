using System.Diagnostics;
using RaftToolkit.Core.Model;

namespace RaftToolkit.Core.Raft;

/// <summary>The log as the node sees it: host-written entries, then the unstable ones it holds.</summary>
public sealed partial class RaftNode
{
    /// <summary>Entries not yet confirmed durable, starting at <see cref="_unstableStart"/>; null while there are none.</summary>
    private Entry[]? _unstable;
    private int _unstableCount;

    /// <summary>
    /// The first index held in <see cref="_unstable"/>. Every entry before it is durable and equal
    /// in the source; entries the source holds at or after it may be stale and are never read.
    /// </summary>
    private ulong _unstableStart;

    /// <summary>The end of what has been handed out for writing (durable or in flight). Invariant: _unstableStart &lt;= _handedOutEnd.</summary>
    private ulong _handedOutEnd;

    /// <summary>Set when entries already handed out were replaced: the host must delete from <see cref="_pendingTruncateFrom"/> first.</summary>
    private bool _hasPendingTruncation;
    private ulong _pendingTruncateFrom;

    private LogId? _lastLogId;

    private bool TryGetViewLogId(ulong index, out LogId logId)
    {
        if (_purgedId is { } purged && index <= purged.Index)
        {
            // At or below the purge point the host may have deleted entries already; the
            // purged id itself is still known (it is the previous id of the next entry).
            logId = index == purged.Index ? purged : default;
            return index == purged.Index;
        }

        if (index >= _unstableStart)
        {
            ulong offset = index - _unstableStart;
            if (offset < (ulong)_unstableCount)
            {
                logId = _unstable![offset].LogId;
                return true;
            }

            logId = default;
            return false;
        }

        return _source.TryGetLogId(index, out logId);
    }

    private bool TryGetViewEntry(ulong index, out Entry entry)
    {
        if (_purgedId is { } purged && index <= purged.Index)
        {
            entry = default;
            return false;
        }

        if (index >= _unstableStart)
        {
            ulong offset = index - _unstableStart;
            if (offset < (ulong)_unstableCount)
            {
                entry = _unstable![offset];
                return true;
            }

            entry = default;
            return false;
        }

        if (!_source.TryGetEntry(index, out entry))
        {
            return false;
        }

        if (entry.Index != index)
        {
            // A source that hands back another index would make us send a malformed request.
            throw new Storage.StorageInconsistencyException($"The log source returned entry {entry.LogId} when asked for index {index}.");
        }

        return true;
    }

    /// <summary>The index of the last entry that is durable here and agrees with the view (what a leader may count for itself), as a next index.</summary>
    private ulong DurableNext => _unstableStart;

    private void AppendOne(in Entry entry)
    {
        Debug.Assert(entry.Index == _lastLogId.NextIndex(), "Appends follow the last entry.");
        EnsureUnstableCapacity(1);
        _unstable![_unstableCount++] = entry;
        _lastLogId = entry.LogId;
        if (entry.Kind == EntryKind.Membership)
        {
            OnEntriesAppended(new ReadOnlySpan<Entry>(in entry));
        }
    }

    private void AppendUnstable(ReadOnlySpan<Entry> entries)
    {
        if (entries.IsEmpty)
        {
            return;
        }

        Debug.Assert(entries[0].Index == _lastLogId.NextIndex(), "Appends follow the last entry.");
        EnsureUnstableCapacity(entries.Length);
        entries.CopyTo(_unstable.AsSpan(_unstableCount));
        _unstableCount += entries.Length;
        _lastLogId = entries[^1].LogId;
        OnEntriesAppended(entries);
    }

    private void EnsureUnstableCapacity(int more)
    {
        if (_unstable is null)
        {
            _unstable = new Entry[Math.Max(8, more)];
            return;
        }

        if (_unstableCount + more > _unstable.Length)
        {
            Array.Resize(ref _unstable, Math.Max(_unstableCount + more, _unstable.Length * 2));
        }
    }

    /// <summary>Deletes every entry at or after <paramref name="index"/> from the view; the host deletes them at the next write.</summary>
    /// <exception cref="RaftInvariantException">The index is committed: a committed entry is never removed.</exception>
    private void TruncateFrom(ulong index)
    {
        if (_committed is { } committed && index <= committed.Index)
        {
            throw new RaftInvariantException(
                $"Node {_id} was asked to delete committed entry at index {index} (committed {committed}); a committed entry is never truncated.");
        }

        if (_outstanding is not null && _unstable is not null)
        {
            // The outstanding Ready's entries may be a slice of this buffer: copy before writing.
            _unstable = (Entry[])_unstable.Clone();
        }

        if (index >= _unstableStart)
        {
            int keep = (int)(index - _unstableStart);
            if (keep < _unstableCount)
            {
                _unstable.AsSpan(keep, _unstableCount - keep).Clear();
                _unstableCount = keep;
            }
        }
        else
        {
            _unstable.AsSpan(0, _unstableCount).Clear();
            _unstableCount = 0;
            _unstableStart = index;
        }

        if (index < _handedOutEnd)
        {
            _handedOutEnd = index;
            if (!_hasPendingTruncation || index < _pendingTruncateFrom)
            {
                _hasPendingTruncation = true;
                _pendingTruncateFrom = index;
            }
        }

        if (index == 0)
        {
            _lastLogId = null;
        }
        else if (TryGetViewLogId(index - 1, out var previous))
        {
            _lastLogId = previous;
        }
        else
        {
            throw new Storage.StorageInconsistencyException($"Node {_id}: entry {index - 1} is missing from the log while truncating after it.");
        }

        OnTruncatedFrom(index);
    }

    /// <summary>Forgets the unstable entries that the host confirmed durable (those still equal to what was written).</summary>
    private void MarkDurable(ReadOnlySpan<Entry> written)
    {
        int drop = 0;
        for (int i = 0; i < written.Length; i++)
        {
            ulong index = written[i].Index;
            if (index < _unstableStart + (ulong)drop)
            {
                continue;
            }

            // An entry replaced while its write was in flight (a new leader's entry at the same
            // index) is not the one that became durable: it stays unstable. Log ids name entries
            // uniquely, so comparing ids is enough (etcd's async-append ABA race) - except at or
            // after _handedOutEnd: there a truncation is pending that will delete what was just
            // written, even if the same entry came back meanwhile, so it must be written again.
            if (drop < _unstableCount && index == _unstableStart + (ulong)drop && index < _handedOutEnd && _unstable![drop].LogId == written[i].LogId)
            {
                drop++;
            }
            else
            {
                break;
            }
        }

        if (drop == 0)
        {
            return;
        }

        _unstableStart += (ulong)drop;
        _unstableCount -= drop;
        // The emptied buffer is kept for the next round of a busy group; Tick releases it once
        // the group is idle (see ReleaseIdleBuffer).
        Array.Copy(_unstable!, drop, _unstable!, 0, _unstableCount);
        _unstable.AsSpan(_unstableCount, drop).Clear();
    }

    /// <summary>
    /// Drops the unstable buffer of a group with nothing unstable: idle groups must not keep one
    /// alive (100,000 of them share a process), while a busy group reuses it between rounds.
    /// </summary>
    private void ReleaseIdleBuffer()
    {
        if (_unstableCount == 0)
        {
            _unstable = null;
        }
    }

    /// <summary>Copies entries [start, end) of the view, bounded by count and bytes (at least one when the first is available).</summary>
    private Entry[] ReadEntries(ulong start, ulong end, int maxCount, int maxBytes)
    {
        if (start >= end)
        {
            return [];
        }

        int count = (int)Math.Min(end - start, (ulong)maxCount);
        var batch = new Entry[count];
        int taken = 0;
        long bytes = 0;
        for (; taken < count; taken++)
        {
            if (!TryGetViewEntry(start + (ulong)taken, out var entry))
            {
                break;
            }

            bytes += Codec.ModelFormats.EntrySize(entry);
            if (taken > 0 && bytes > maxBytes)
            {
                break;
            }

            batch[taken] = entry;
        }

        return taken == count ? batch : batch.AsSpan(0, taken).ToArray();
    }
}
