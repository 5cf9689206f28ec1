using RaftToolkit.Core.Model;

namespace RaftToolkit.Core.Raft.Log;

/// <summary>
/// A whole log held in memory: an <see cref="IRaftLogSource"/> that is also written to. Used
/// by tests and the simulation as a node's durable log, and by hosts for groups that keep
/// their log in memory.
/// </summary>
public sealed class InMemoryRaftLog : IRaftLogSource
{
    private Entry[] _entries;
    private int _count;

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

    /// <summary>The number of entries.</summary>
    public int Count => _count;

    /// <inheritdoc />
    public LogId? LastLogId => _count == 0 ? null : _entries[_count - 1].LogId;

    /// <summary>The entries, index 0 first.</summary>
    public ReadOnlySpan<Entry> Entries => _entries.AsSpan(0, _count);

    /// <inheritdoc />
    public bool TryGetLogId(ulong index, out LogId logId)
    {
        if (index < (ulong)_count)
        {
            logId = _entries[index].LogId;
            return true;
        }

        logId = default;
        return false;
    }

    /// <inheritdoc />
    public bool TryGetEntry(ulong index, out Entry entry)
    {
        if (index < (ulong)_count)
        {
            entry = _entries[index];
            return true;
        }

        entry = default;
        return false;
    }

    /// <summary>Appends entries that follow the last one with no hole.</summary>
    /// <exception cref="ArgumentException">An entry does not follow its predecessor.</exception>
    public void Append(ReadOnlySpan<Entry> entries)
    {
        ulong expected = (ulong)_count;
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

    /// <summary>Deletes every entry at or after <paramref name="index"/>.</summary>
    public void TruncateFrom(ulong index)
    {
        if (index < (ulong)_count)
        {
            _entries.AsSpan((int)index, _count - (int)index).Clear();
            _count = (int)index;
        }
    }
}
