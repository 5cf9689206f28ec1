using RaftToolkit.Core.Model;

namespace RaftToolkit.Core.Raft.Log;

/// <summary>
/// A whole log held in memory: an <see cref="IRaftLogSource"/> that is also written to. Used
/// by tests and the simulation as a node's durable log, and by hosts for groups that keep
/// their log in memory. After a purge it holds the entries after <see cref="LastPurgedLogId"/>.
/// </summary>
public sealed class InMemoryRaftLog : IRaftLogSource
{
    private Entry[] _entries;
    private int _count;

    /// <summary>The index of <c>_entries[0]</c>: the entry after the last purged one.</summary>
    private ulong _first;
    private LogId? _lastPurged;

    /// <summary>Creates an empty log.</summary>
    public InMemoryRaftLog()
    {
        _entries = [];
    }

    /// <summary>Creates a log holding <paramref name="entries"/> (which must start at index 0 and be contiguous).</summary>
    /// <exception cref="ArgumentException">The entries do not start at 0 or leave a hole.</exception>
    public InMemoryRaftLog(ReadOnlySpan<Entry> entries)
    {
        _entries = [];
        Append(entries);
    }

    /// <summary>The number of entries held (after the purged ones).</summary>
    public int Count => _count;

    /// <summary>The index of the first entry held (0 until something is purged).</summary>
    public ulong FirstIndex => _first;

    /// <inheritdoc />
    public LogId? LastLogId => _count == 0 ? _lastPurged : _entries[_count - 1].LogId;

    /// <inheritdoc />
    public LogId? LastPurgedLogId => _lastPurged;

    /// <summary>The entries held, <see cref="FirstIndex"/> first.</summary>
    public ReadOnlySpan<Entry> Entries => _entries.AsSpan(0, _count);

    /// <inheritdoc />
    public bool TryGetLogId(ulong index, out LogId logId)
    {
        if (index >= _first && index - _first < (ulong)_count)
        {
            logId = _entries[index - _first].LogId;
            return true;
        }

        if (_lastPurged is { } purged && purged.Index == index)
        {
            logId = purged;
            return true;
        }

        logId = default;
        return false;
    }

    /// <inheritdoc />
    public bool TryGetEntry(ulong index, out Entry entry)
    {
        if (index >= _first && index - _first < (ulong)_count)
        {
            entry = _entries[index - _first];
            return true;
        }

        entry = default;
        return false;
    }

    /// <summary>Appends entries that follow the last one with no hole.</summary>
    /// <exception cref="ArgumentException">An entry does not follow its predecessor.</exception>
    public void Append(ReadOnlySpan<Entry> entries)
    {
        ulong expected = _first + (ulong)_count;
        for (int i = 0; i < entries.Length; i++)
        {
            if (entries[i].Index != expected + (ulong)i)
            {
                throw new ArgumentException($"Entry {entries[i].LogId} does not follow index {expected + (ulong)i - 1}: the log would have a hole.", nameof(entries));
            }
        }

        if (_count + entries.Length > _entries.Length)
        {
            Array.Resize(ref _entries, Math.Max(_count + entries.Length, Math.Max(16, _entries.Length * 2)));
        }

        entries.CopyTo(_entries.AsSpan(_count));
        _count += entries.Length;
    }

    /// <summary>Deletes every entry at or after <paramref name="index"/> (purged entries stay purged).</summary>
    public void TruncateFrom(ulong index)
    {
        ulong from = Math.Max(index, _first);
        if (from - _first < (ulong)_count)
        {
            int keep = (int)(from - _first);
            _entries.AsSpan(keep, _count - keep).Clear();
            _count = keep;
        }
    }

    /// <summary>
    /// Deletes every entry up to and including <paramref name="upTo"/>'s index and records it as
    /// the last purged id; a log that ends before it becomes empty and continues after it.
    /// </summary>
    public void Purge(LogId upTo)
    {
        if (_lastPurged is { } purged && upTo.Index <= purged.Index)
        {
            return;
        }

        ulong end = _first + (ulong)_count;
        int drop = upTo.Index + 1 >= end ? _count : (int)(upTo.Index + 1 - _first);
        Array.Copy(_entries, drop, _entries, 0, _count - drop);
        _entries.AsSpan(_count - drop, drop).Clear();
        _count -= drop;
        _first = upTo.Index + 1;
        _lastPurged = upTo;
    }
}
