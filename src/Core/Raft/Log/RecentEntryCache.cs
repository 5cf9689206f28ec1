using RaftToolkit.Core.Model;

namespace RaftToolkit.Core.Raft.Log;

/// <summary>
/// A bounded cache of a group's most recent log entries, filled by the host as it writes them:
/// the <see cref="IRaftLogSource"/> a host gives a node whose log lives in an asynchronous store.
/// Replication and apply read the tail, which is always here; an entry that fell out of the
/// window is read from <c>fallback</c> when one is given, and is otherwise "not available"
/// (the leader then waits for a later snapshot mechanism instead of blocking on a read).
/// </summary>
public sealed class RecentEntryCache : IRaftLogSource
{
    private readonly Entry[] _ring;
    private readonly IRaftLogSource? _fallback;

    /// <summary>Index of the first cached entry; the cache holds [_first, _first + _count).</summary>
    private ulong _first;
    private int _count;
    private LogId? _lastLogId;

    /// <summary>Creates a cache of at most <paramref name="capacity"/> entries, continuing a log whose last id is <paramref name="lastLogId"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is less than 1.</exception>
    public RecentEntryCache(int capacity, LogId? lastLogId = null, IRaftLogSource? fallback = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _ring = new Entry[capacity];
        _fallback = fallback;
        _lastLogId = lastLogId;
        _first = lastLogId.NextIndex();
    }

    /// <summary>How many entries the cache holds now.</summary>
    public int Count => _count;

    /// <inheritdoc />
    public LogId? LastLogId => _lastLogId;

    /// <inheritdoc />
    public bool TryGetLogId(ulong index, out LogId logId)
    {
        if (TryGetCached(index, out var entry))
        {
            logId = entry.LogId;
            return true;
        }

        logId = default;
        return index < _first && _fallback is not null && _fallback.TryGetLogId(index, out logId);
    }

    /// <inheritdoc />
    public bool TryGetEntry(ulong index, out Entry entry)
    {
        if (TryGetCached(index, out entry))
        {
            return true;
        }

        return index < _first && _fallback is not null && _fallback.TryGetEntry(index, out entry);
    }

    /// <summary>Records entries the host wrote; they must follow the last one. The oldest fall out of the window.</summary>
    /// <exception cref="ArgumentException">An entry does not follow its predecessor.</exception>
    public void Append(ReadOnlySpan<Entry> entries)
    {
        ulong expected = _lastLogId.NextIndex();
        for (int i = 0; i < entries.Length; i++)
        {
            if (entries[i].Index != expected + (ulong)i)
            {
                throw new ArgumentException($"Entry {entries[i].LogId} does not follow index {expected + (ulong)i - 1}.", nameof(entries));
            }
        }

        foreach (ref readonly var entry in entries)
        {
            if (_count == _ring.Length)
            {
                _ring[(int)(_first % (ulong)_ring.Length)] = default;
                _first++;
                _count--;
            }

            _ring[(int)((_first + (ulong)_count) % (ulong)_ring.Length)] = entry;
            _count++;
            _lastLogId = entry.LogId;
        }
    }

    /// <summary>Forgets every entry at or after <paramref name="index"/>, as the host's truncation did.</summary>
    /// <exception cref="InvalidOperationException">The entry before <paramref name="index"/> is no longer known, so the last log id cannot be named.</exception>
    public void TruncateFrom(ulong index)
    {
        if (index >= _lastLogId.NextIndex())
        {
            return;
        }

        LogId? last = null;
        if (index > 0)
        {
            if (!TryGetLogId(index - 1, out var kept))
            {
                throw new InvalidOperationException($"Cannot truncate from {index}: entry {index - 1} is neither cached nor in the fallback.");
            }

            last = kept;
        }

        while (_count > 0 && _first + (ulong)_count > index)
        {
            _count--;
            _ring[(int)((_first + (ulong)_count) % (ulong)_ring.Length)] = default;
        }

        if (_count == 0)
        {
            _first = index;
        }

        _lastLogId = last;
    }

    private bool TryGetCached(ulong index, out Entry entry)
    {
        if (index >= _first && index < _first + (ulong)_count)
        {
            entry = _ring[(int)(index % (ulong)_ring.Length)];
            return true;
        }

        entry = default;
        return false;
    }
}
