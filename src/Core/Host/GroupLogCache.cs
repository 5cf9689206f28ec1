using System.Diagnostics;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft.Log;

namespace RaftToolkit.Core.Host;

/// <summary>
/// The synchronous view of one group's written log that its <see cref="Raft.RaftNode"/> reads:
/// every log id from the first kept index to the last (kept as leader runs, a few bytes per
/// leader change), the tail of entries that are not yet applied plus a few applied ones, and a
/// backfill window loaded from the store when the leader asks for older entries (a follower
/// catching up after a restart).
/// </summary>
/// <remarks>
/// <para>Only the group's worker touches it. A miss is not an error: the node does not send what
/// it cannot read, the worker loads the missed range after the round
/// (<see cref="TakeMiss"/>/<see cref="SetBackfill"/>) and the leader's next heartbeat or
/// response finds it.</para>
/// <para>Memory: an idle group keeps only its runs and the retained applied entries, and a
/// quiescent one only its runs (<see cref="Release"/>), so 100,000 idle groups stay small.</para>
/// </remarks>
internal sealed class GroupLogCache : IRaftLogSource
{
    private static readonly Entry[] NoEntries = [];

    /// <summary>The last purged id, if any: what the store recorded at start, then every purge written since.</summary>
    private LogId? _purged;

    private LogId? _last;

    /// <summary>Where each leader's entries start, ascending by index; the first <see cref="_runCount"/> are in use.</summary>
    private Run[] _runs = [];
    private int _runCount;

    /// <summary>Tail window: entries [<see cref="_tailFirst"/>, last], stored at <see cref="_tail"/>[<see cref="_tailHead"/>..].</summary>
    private Entry[] _tail = NoEntries;
    private int _tailHead;
    private int _tailCount;
    private ulong _tailFirst;

    /// <summary>The backfill window, while one is loaded (rarely: only a leader catching up a follower far behind needs one).</summary>
    private Backfill? _backfill;

    /// <summary>The lowest index the node asked for and did not find (ulong.MaxValue: none).</summary>
    private ulong _missFrom = ulong.MaxValue;

    /// <summary>Creates the view of a log whose ids are <paramref name="keyLogIds"/> (as RaftStorageHelper loads them) and whose tail is <paramref name="tail"/>.</summary>
    /// <param name="lastPurged">The last purged id, if any.</param>
    /// <param name="lastLogId">The last log id.</param>
    /// <param name="keyLogIds">The first id of each leader in [lastPurged, lastLogId], then lastLogId.</param>
    /// <param name="tail">Entries ending at <paramref name="lastLogId"/>, contiguous.</param>
    public GroupLogCache(LogId? lastPurged, LogId? lastLogId, IReadOnlyList<LogId> keyLogIds, IReadOnlyList<Entry> tail)
    {
        _purged = lastPurged;
        _last = lastLogId;
        foreach (var key in keyLogIds)
        {
            AddRunIfNew(key.Index, key.LeaderId);
        }

        _tailFirst = lastLogId.NextIndex();
        if (tail.Count > 0)
        {
            if (lastLogId is not { } last || tail[^1].LogId != last)
            {
                throw new ArgumentException("The loaded tail does not end at the last log id.", nameof(tail));
            }

            _tail = new Entry[tail.Count];
            for (int i = 0; i < tail.Count; i++)
            {
                _tail[i] = tail[i];
            }

            _tailCount = tail.Count;
            _tailFirst = tail[0].Index;
        }
    }

    /// <inheritdoc />
    public LogId? LastLogId => _last;

    /// <inheritdoc />
    public LogId? LastPurgedLogId => _purged;

    /// <summary>The first index whose id is known: the last purged index (the node may ask for it as a previous id), or 0.</summary>
    public ulong FirstKnownIndex => _purged?.Index ?? 0;

    /// <summary>The first index the store can still return (after the last purged one).</summary>
    private ulong FirstLoadable => _purged.NextIndex();

    /// <summary>The first index of the tail window (the last index + 1 when empty).</summary>
    public ulong TailFirst => _tailFirst;

    /// <summary>How many entries the view holds in memory (tail and backfill).</summary>
    public int CachedEntries => _tailCount + (_backfill?.Entries.Count ?? 0);

    /// <inheritdoc />
    public bool TryGetLogId(ulong index, out LogId logId)
    {
        if (_last is not { } last || index > last.Index || index < FirstKnownIndex || _runCount == 0 || index < _runs[0].Start)
        {
            logId = default;
            return false;
        }

        // The last run starting at or before the index names its leader.
        int low = 0;
        int high = _runCount - 1;
        while (low < high)
        {
            int mid = (low + high + 1) / 2;
            if (_runs[mid].Start <= index)
            {
                low = mid;
            }
            else
            {
                high = mid - 1;
            }
        }

        logId = new LogId(_runs[low].Leader, index);
        return true;
    }

    /// <inheritdoc />
    public bool TryGetEntry(ulong index, out Entry entry)
    {
        if (index >= _tailFirst)
        {
            ulong offset = index - _tailFirst;
            if (offset < (ulong)_tailCount)
            {
                entry = _tail[_tailHead + (int)offset];
                return true;
            }

            entry = default;
            return false;
        }

        if (_backfill is { } backfill && index >= backfill.First && index - backfill.First < (ulong)backfill.Entries.Count)
        {
            entry = backfill.Entries[(int)(index - backfill.First)];
            backfill.Hit = true;
            return true;
        }

        // Below the tail: a lagging follower is being caught up; load it after the round.
        if (index >= FirstLoadable && index < _missFrom)
        {
            _missFrom = index;
        }

        entry = default;
        return false;
    }

    /// <summary>True when the node asked for an entry that must be loaded from the store.</summary>
    public bool HasMiss => _missFrom != ulong.MaxValue;

    /// <summary>Takes the lowest missed index and the range to load for it, [from, end), if any.</summary>
    public bool TakeMiss(int maxEntries, out ulong from, out ulong end)
    {
        from = _missFrom;
        _missFrom = ulong.MaxValue;
        if (from == ulong.MaxValue || from >= _tailFirst)
        {
            end = 0;
            return false;
        }

        end = Math.Min(_tailFirst, from + (ulong)maxEntries);
        return true;
    }

    /// <summary>Installs entries loaded from the store for a miss (replacing the previous backfill).</summary>
    public void SetBackfill(IReadOnlyList<Entry> entries)
    {
        if (entries.Count == 0)
        {
            _backfill = null;
            return;
        }

        _backfill = new Backfill(entries);
    }

    /// <summary>
    /// Applies a durable write to the view in the order the store applied it: delete every entry
    /// after <paramref name="truncateAfter"/> (when <paramref name="hasTruncation"/>), purge up to
    /// <paramref name="purgeUpTo"/> (when set), then append <paramref name="entries"/>.
    /// </summary>
    public void OnWritten(bool hasTruncation, LogId? truncateAfter, LogId? purgeUpTo, ReadOnlySpan<Entry> entries)
    {
        if (hasTruncation)
        {
            Truncate(truncateAfter);
        }

        if (purgeUpTo is { } purge)
        {
            Purge(purge);
        }

        if (entries.IsEmpty)
        {
            return;
        }

        Debug.Assert(entries[0].Index == _last.NextIndex(), "Writes follow the last entry.");
        if (_tailCount == 0)
        {
            _tailHead = 0;
            _tailFirst = entries[0].Index;
        }

        EnsureTailCapacity(entries.Length);
        entries.CopyTo(_tail.AsSpan(_tailHead + _tailCount));
        _tailCount += entries.Length;
        foreach (ref readonly var entry in entries)
        {
            AddRunIfNew(entry.Index, entry.LogId.LeaderId);
        }

        _last = entries[^1].LogId;
    }

    /// <summary>
    /// Drops applied entries from memory, keeping <paramref name="retain"/> below
    /// <paramref name="appliedNext"/>; drops a backfill window nobody read for a while. Called
    /// once per round the group took part in.
    /// </summary>
    public void Trim(ulong appliedNext, int retain)
    {
        if (_backfill is { } backfill)
        {
            if (backfill.Hit)
            {
                backfill.Hit = false;
                backfill.IdleRounds = 0;
            }
            else if (++backfill.IdleRounds >= 8)
            {
                _backfill = null;
            }
        }

        ulong keepFrom = appliedNext > (ulong)retain ? appliedNext - (ulong)retain : 0;
        if (keepFrom <= _tailFirst)
        {
            return;
        }

        int drop = (int)Math.Min((ulong)_tailCount, keepFrom - _tailFirst);

        // Trimming one entry at a time would shift the window every round; wait for a batch.
        if (drop < retain && drop < _tailCount)
        {
            return;
        }

        DropFromTail(drop);
        if (_tailCount == 0 && _tail.Length > 16)
        {
            _tail = NoEntries;
        }
    }

    /// <summary>
    /// Drops every applied entry and the backfill window, and gives back an emptied tail's
    /// buffer. For a group that went quiescent: every peer holds the whole log, so nobody reads
    /// the retained entries until the group wakes, and a group that sleeps should cost only its
    /// runs (an entry asked for later is loaded from the store like any older one).
    /// </summary>
    public void Release(ulong appliedNext)
    {
        _backfill = null;
        if (appliedNext > _tailFirst)
        {
            DropFromTail((int)Math.Min((ulong)_tailCount, appliedNext - _tailFirst));
        }

        if (_tailCount == 0)
        {
            _tail = NoEntries;
        }
    }

    private void DropFromTail(int drop)
    {
        _tail.AsSpan(_tailHead, drop).Clear();
        _tailHead += drop;
        _tailCount -= drop;
        _tailFirst += (ulong)drop;
        if (_tailCount == 0)
        {
            _tailHead = 0;
        }
    }

    /// <summary>
    /// Forgets every entry up to <paramref name="upTo"/> and remembers it as the last purged id
    /// (its index still answers <see cref="TryGetLogId"/>). A purge past the end empties the view,
    /// which then continues after <paramref name="upTo"/> (an installed snapshot).
    /// </summary>
    public void Purge(LogId upTo)
    {
        if (_purged is { } already && already.Index >= upTo.Index)
        {
            return;
        }

        ulong next = upTo.Index + 1;
        if (_tailCount > 0 && next > _tailFirst)
        {
            DropFromTail((int)Math.Min((ulong)_tailCount, next - _tailFirst));
        }

        if (_last is not { } last || last.Index <= upTo.Index)
        {
            _last = upTo;
        }

        _tailFirst = Math.Max(_tailFirst, next);
        if (_tailCount == 0)
        {
            _tailFirst = _last.NextIndex();
        }

        // Runs: the purged id starts the first one; runs that start after it stay.
        int keepFrom = 0;
        while (keepFrom < _runCount && _runs[keepFrom].Start <= upTo.Index)
        {
            keepFrom++;
        }

        bool mergeNext = keepFrom < _runCount && _runs[keepFrom].Leader == upTo.LeaderId;
        int source = keepFrom + (mergeNext ? 1 : 0);
        int kept = _runCount - source;
        if (_runs.Length < kept + 1)
        {
            Array.Resize(ref _runs, Math.Max(2, kept + 1));
        }

        // In place (Array.Copy handles the overlap): purges come with every snapshot and should not allocate.
        Array.Copy(_runs, source, _runs, 1, kept);
        _runs[0] = new Run(upTo.Index, upTo.LeaderId);
        _runCount = kept + 1;

        _purged = upTo;
        if (_backfill is { } backfill && backfill.First < next)
        {
            _backfill = null;
        }

        if (_missFrom < next)
        {
            _missFrom = ulong.MaxValue;
        }
    }

    private void Truncate(LogId? keep)
    {
        ulong next = keep.NextIndex();
        if (next < _tailFirst)
        {
            _tail.AsSpan(_tailHead, _tailCount).Clear();
            _tailCount = 0;
            _tailHead = 0;
            _tailFirst = next;
        }
        else if (next - _tailFirst < (ulong)_tailCount)
        {
            int keepCount = (int)(next - _tailFirst);
            _tail.AsSpan(_tailHead + keepCount, _tailCount - keepCount).Clear();
            _tailCount = keepCount;
        }

        if (_backfill is { } backfill && next <= backfill.First + (ulong)backfill.Entries.Count)
        {
            _backfill = null;
        }

        while (_runCount > 0 && _runs[_runCount - 1].Start >= next)
        {
            _runCount--;
        }

        _last = keep;
    }

    private void AddRunIfNew(ulong index, LeaderId leader)
    {
        if (_runCount > 0 && _runs[_runCount - 1].Leader == leader)
        {
            return;
        }

        if (_runCount == _runs.Length)
        {
            // Room for one run first: a log whose kept entries all come from one leader (a stable
            // group reopened or purged, or one that never elected) needs no more.
            Array.Resize(ref _runs, Math.Max(1, _runs.Length * 2));
        }

        _runs[_runCount++] = new Run(index, leader);
    }

    private void EnsureTailCapacity(int more)
    {
        int needed = _tailCount + more;
        if (_tailHead + needed <= _tail.Length)
        {
            return;
        }

        if (needed <= _tail.Length && _tailHead > 0)
        {
            // Room at the front: slide the window down instead of growing.
            Array.Copy(_tail, _tailHead, _tail, 0, _tailCount);
            _tail.AsSpan(_tailCount, _tailHead).Clear();
            _tailHead = 0;
            return;
        }

        var grown = new Entry[Math.Max(needed, Math.Max(4, _tail.Length * 2))];
        Array.Copy(_tail, _tailHead, grown, 0, _tailCount);
        _tail = grown;
        _tailHead = 0;
    }

    /// <summary>The entries of one leader start at <paramref name="Start"/> (one array of these, not two, keeps an idle group small).</summary>
    private readonly record struct Run(ulong Start, LeaderId Leader);

    /// <summary>Entries loaded from the store below the tail: [<see cref="First"/>, +count); replaced by every load.</summary>
    private sealed class Backfill(IReadOnlyList<Entry> entries)
    {
        public IReadOnlyList<Entry> Entries { get; } = entries;

        public ulong First { get; } = entries[0].Index;

        /// <summary>Read since the last <see cref="Trim"/>: still in use.</summary>
        public bool Hit = true;

        /// <summary>Rounds in a row in which nobody read it.</summary>
        public int IdleRounds;
    }
}
