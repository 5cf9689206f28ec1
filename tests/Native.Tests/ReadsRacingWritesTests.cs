using System.Buffers.Binary;
using System.Collections.Concurrent;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using Xunit.Abstractions;

namespace RaftToolkit.Native.Tests;

/// <summary>
/// Reads of a group on other threads while one writer appends, truncates, purges, saves votes
/// and committed ids, and removes and reuses the group: every read must answer with what was
/// true of the group at some moment between the call and its answer, never a torn state.
/// </summary>
/// <remarks>
/// <para>The writer keeps every state it moved each group through, numbered in the order it
/// issued the writes (a group's writes apply in that order). A read is checked against the
/// states from the last one whose write had completed when the read started to the last one
/// issued when it returned: it must match one of them exactly (a range, a log state, a vote,
/// a committed id, an entry's id, or a documented error such as "not found" for an index one
/// of them lacks). Reads of one kind by one reader must also match states that never go back
/// (a reader that saw a write keeps seeing it). A read through a view handed out before a
/// removal must match a state from before that removal, or fail as the removed group.</para>
/// <para>Streams may read in chunks, and their contract allows a stream to run on past entries
/// purged meanwhile, so a stream is checked as one contiguous run of one log line: each entry
/// is the one appended right after the entry before it (terms never repeat at an index), it
/// starts where one of the states in its window starts, and, if no truncation, purge or
/// removal was issued while it ran, it reaches at least as far as the log did when it began.</para>
/// <para>Runs 3 s; set RAFTKIT_STRESS_SECONDS for longer. The seed (RAFTKIT_SEED to replay)
/// fixes the writer's and readers' choices; thread timing, and so the interleaving, is not
/// replayed.</para>
/// </remarks>
public sealed class ReadsRacingWritesTests(ITestOutputHelper output) : IDisposable
{
    private const int Groups = 3;
    private const int Readers = 3;
    private const int MaxLogLength = 160;

    /// <summary>Entries this large make a stream read its range in several chunks (a chunk stops at 4 MiB).</summary>
    private const int LargeEntryBytes = 1 << 20;

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task EveryReadRacingWritesOfItsGroupMatchesAStateTheGroupWasIn()
    {
        int seed = TestSeed.FromEnvironmentOrNew();
        double seconds = double.TryParse(Environment.GetEnvironmentVariable("RAFTKIT_STRESS_SECONDS"), out double s) ? s : 3;
        output.WriteLine($"seed {seed} (replay: RAFTKIT_SEED={seed}; thread timing is not replayed), {seconds} s");

        var options = new RocksDbLogStoreOptions { SyncMode = LogSyncMode.NoSync, WriteBufferSize = 1 << 20 };
        await using var store = RocksDbLogStore.Open(_dir.Sub("db"), options);
        var run = new Run(store, seed);
        // The writer's time counts from when it starts, and the readers read for as long as it
        // writes: on a loaded machine a task may start late, and a deadline set here would leave
        // it less time, or none.
        var writing = Task.Run(() => run.WriteAsync(TimeSpan.FromSeconds(seconds)));
        var tasks = new List<Task> { writing };
        for (int r = 0; r < Readers; r++)
        {
            int reader = r;
            tasks.Add(Task.Run(() => run.ReadAsync(reader, writing)));
        }

        await Task.WhenAll(tasks);

        output.WriteLine($"writes: {run.Writes}; reads checked: {string.Join(", ", run.Checked.OrderBy(pair => pair.Key).Select(pair => $"{pair.Key} {pair.Value}"))}; unchecked (history trimmed): {run.Unchecked}");
        Assert.True(run.Violations.IsEmpty, $"seed {seed}: {run.Violations.Count} reads answered with a state the group was never in:\n{string.Join("\n", run.Violations.Take(10))}");

        // Not a test that passes by doing nothing: every kind of read was made and checked.
        foreach (var kind in Enum.GetValues<ReadKind>())
        {
            Assert.True(run.Checked.TryGetValue(kind, out long count) && count > 0, $"seed {seed}: no {kind} read was checked");
        }

        Assert.True(run.Writes > 100, $"seed {seed}: only {run.Writes} writes were issued");
    }

    /// <summary>
    /// A read through a view handed out before a removal, that began before the removal was
    /// queued and reaches the database after the removal and the reused group's first writes
    /// are written: it must fail as the removed group, never answer with the new group's log,
    /// vote or committed id as if they were the old one's.
    /// </summary>
    [Theory]
    [InlineData("range")]
    [InlineData("limited")]
    [InlineData("log id")]
    [InlineData("vote")]
    [InlineData("committed")]
    [InlineData("stream")]
    [InlineData("leader-bounded stream")]
    public async Task AReadThroughAnOldViewThatAReuseOfItsGroupOvertakesFailsAsRemoved(string read)
    {
        await using var store = RocksDbLogStore.Open(_dir.Sub("db"));
        var old = store.ForGroup(1);
        await old.AppendAsync(TestEntries.Range(1, 0, 5), IgnoringCallback.Instance);
        await old.SaveVoteAsync(new Vote(1, 0).Commit());
        await old.SaveCommittedAsync(TestEntries.Id(1, 3));

        // Once the read's checks are behind it and it is about to reach RocksDB: the group is
        // removed and reused, every write durable, before the read goes on.
        int overtaken = 0;
        store.BeforeRead = () =>
        {
            if (Interlocked.Exchange(ref overtaken, 1) == 0)
            {
                store.RemoveGroupAsync(1).AsTask().GetAwaiter().GetResult();
                var reused = store.ForGroup(1);
                reused.AppendAsync(TestEntries.Range(2, 0, 5), IgnoringCallback.Instance).AsTask().GetAwaiter().GetResult();
                reused.SaveVoteAsync(new Vote(2, 0).Commit()).AsTask().GetAwaiter().GetResult();
                reused.SaveCommittedAsync(TestEntries.Id(2, 3)).AsTask().GetAwaiter().GetResult();
            }
        };

        Func<Task<object?>> call = read switch
        {
            "range" => async () => await old.TryGetLogEntriesAsync(0, 5),
            "limited" => async () => await old.LimitedGetLogEntriesAsync(0, 5),
            "log id" => async () => await old.GetLogIdAsync(3),
            "vote" => async () => await old.ReadVoteAsync(),
            "committed" => async () => await old.ReadCommittedAsync(),
            "stream" => async () => await old.EntriesStreamAsync(0, 5).ToListAsync(),
            _ => async () => await old.LeaderBoundedStreamAsync(new LeaderId(1, 0), 0, 5).ToListAsync(),
        };

        object? answer = null;
        var error = await Record.ExceptionAsync(async () => answer = await call());
        Assert.Equal(1, overtaken);
        Assert.True(error is UnknownGroupException, $"the old view's {read} answered {Describe(answer)}{(error is null ? string.Empty : $", failed with {error}")}: the reused group's, not the removed one's");
    }

    private static string Describe(object? answer) => answer switch
    {
        IEnumerable<Entry> entries => $"[{string.Join(' ', entries.Select(entry => entry.LogId))}]",
        null => "none",
        _ => answer.ToString()!,
    };

    private enum ReadKind
    {
        Range,
        Limited,
        LogId,
        LogState,
        Vote,
        Committed,
        Stream,
        LeaderStream,
        Removed,
    }

    /// <summary>One state of a group: its log (ids of the entries from <see cref="First"/> on), vote and committed id.</summary>
    private sealed record Snapshot(int Incarnation, LogId? Purged, ulong First, LogId[] Entries, Vote? Vote, LogId? Committed)
    {
        /// <summary>The write into this state deleted entries (a truncation, a purge, a removal): a stream may end early.</summary>
        public bool Cut { get; init; }

        public LogId? Last => Entries.Length > 0 ? Entries[^1] : Purged;

        public LogId? At(ulong index) => index >= First && index - First < (ulong)Entries.Length ? Entries[index - First] : null;

        public IEnumerable<LogId> Range(ulong start, ulong end)
        {
            for (ulong i = Math.Max(start, First); i < end && i - First < (ulong)Entries.Length; i++)
            {
                yield return Entries[i - First];
            }
        }
    }

    /// <summary>Every state the writer moved one group through, by number.</summary>
    private sealed class History
    {
        private readonly List<Snapshot?> _states = [new Snapshot(0, null, 0, [], null, null)];

        /// <summary>The last state issued: its write may not be written yet.</summary>
        public int Issued;

        /// <summary>The last state whose write (and every one before it) completed.</summary>
        public int Completed;

        /// <summary>Removals whose call has returned: each replaced the group's state in the store.</summary>
        public int RemovalsQueued;

        /// <summary>Removals whose call has begun.</summary>
        public int RemovalsIssued;

        /// <summary>The state number of each removal, in order.</summary>
        public readonly List<int> RemovalStates = [];

        public Snapshot Current
        {
            get
            {
                lock (_states)
                {
                    return _states[^1]!;
                }
            }
        }

        public int Add(Snapshot state)
        {
            lock (_states)
            {
                _states.Add(state);
                return _states.Count - 1;
            }
        }

        /// <summary>States <paramref name="from"/> .. <paramref name="to"/>; null when some were trimmed.</summary>
        public List<(int Number, Snapshot State)>? Between(int from, int to)
        {
            lock (_states)
            {
                var states = new List<(int, Snapshot)>(to - from + 1);
                for (int n = from; n <= to; n++)
                {
                    if (_states[n] is not { } state)
                    {
                        return null;
                    }

                    states.Add((n, state));
                }

                return states;
            }
        }

        public int RemovalState(int incarnation)
        {
            lock (_states)
            {
                return incarnation < RemovalStates.Count ? RemovalStates[incarnation] : int.MaxValue;
            }
        }

        /// <summary>States below this were dropped.</summary>
        private int _trimmed;

        /// <summary>Drops states long completed, which no read still running can need.</summary>
        public void Trim()
        {
            lock (_states)
            {
                for (; _trimmed < Completed - 2000; _trimmed++)
                {
                    _states[_trimmed] = null;
                }
            }
        }
    }

    private sealed class Run(RocksDbLogStore store, int seed)
    {
        private readonly History[] _groups = Enumerable.Range(0, Groups).Select(_ => new History()).ToArray();

        /// <summary>The entry each appended entry of a group followed (a group never reuses a log id, so this names one log line).</summary>
        private readonly ConcurrentDictionary<(int Group, LogId Id), LogId?> _predecessor = new();

        /// <summary>The payload length of each appended entry of a group; its bytes follow from its id.</summary>
        private readonly ConcurrentDictionary<(int Group, LogId Id), int> _payloadLength = new();

        public ConcurrentQueue<string> Violations { get; } = new();

        public ConcurrentDictionary<ReadKind, long> Checked { get; } = new();

        public long Unchecked;

        public long Writes;

        private static ulong GroupId(int g) => (ulong)g + 1;

        private static byte[] Payload(LogId id, int length)
        {
            var payload = new byte[length];
            BinaryPrimitives.WriteUInt64LittleEndian(payload, id.Term);
            BinaryPrimitives.WriteUInt64LittleEndian(payload.AsSpan(8), id.Index);
            payload[^1] = (byte)(id.Term ^ id.Index);
            return payload;
        }

        private string PayloadFault(int g, Entry entry)
        {
            int expected = _payloadLength.TryGetValue((g, entry.LogId), out int length) ? length : -1;
            var data = entry.Data.Span;
            int firstWrong = -1;
            if (expected >= 0)
            {
                var want = Payload(entry.LogId, expected);
                for (int i = 0; i < Math.Min(want.Length, data.Length); i++)
                {
                    if (want[i] != data[i])
                    {
                        firstWrong = i;
                        break;
                    }
                }
            }

            return $"kind {entry.Kind}, {data.Length} bytes against {expected} appended, first differing byte at {firstWrong}, starts {Convert.ToHexString(data[..Math.Min(24, data.Length)])}";
        }

        private bool PayloadMatches(int g, Entry entry) =>
            _payloadLength.TryGetValue((g, entry.LogId), out int length)
            && entry.Data.Length == length
            && entry.Data.Span.SequenceEqual(Payload(entry.LogId, length));

        // ---------------------------------------------------------------- writer

        public async Task WriteAsync(TimeSpan duration)
        {
            var deadline = DateTime.UtcNow + duration;
            var random = new Random(seed);
            ulong term = 1;
            var terms = Enumerable.Repeat(term, Groups).ToArray();
            var pending = new List<(int Group, int State, Task Write)>();
            while (DateTime.UtcNow < deadline && Violations.IsEmpty)
            {
                int g = random.Next(Groups);
                var history = _groups[g];
                var log = store.ForGroup(GroupId(g));
                var now = history.Current;
                int roll = random.Next(100);
                Snapshot next;
                Func<ValueTask> write;
                if (roll < 45 && now.Entries.Length < MaxLogLength)
                {
                    ulong first = now.Last.NextIndex();
                    var entries = new Entry[1 + random.Next(8)];
                    var previous = now.Last;
                    for (int i = 0; i < entries.Length; i++)
                    {
                        var id = new LogId(terms[g], 0, first + (ulong)i);
                        int length = random.Next(100) < 4 ? LargeEntryBytes : 16 + random.Next(48);
                        _payloadLength[(g, id)] = length;
                        _predecessor[(g, id)] = previous;
                        entries[i] = Entry.Normal(id, Payload(id, length));
                        previous = id;
                    }

                    ulong logFirst = now.Entries.Length > 0 ? now.First : first;
                    next = now with { First = logFirst, Entries = [.. now.Entries, .. entries.Select(entry => entry.LogId)], Cut = false };
                    write = () => log.AppendAsync(entries, IgnoringCallback.Instance);
                }
                else if (roll < 60 && now.Entries.Length > 0)
                {
                    // Keep a random prefix (none, or only the purged id); the next appends are a new term's.
                    long lowest = now.Purged is { } purged ? (long)purged.Index : -1;
                    long keep = lowest + random.NextInt64((long)now.Last!.Value.Index - lowest);
                    LogId? named;
                    Snapshot truncated;
                    if (keep < 0)
                    {
                        named = null;
                        truncated = now with { First = 0, Entries = [] };
                    }
                    else
                    {
                        var stored = keep == lowest ? now.Purged!.Value : now.At((ulong)keep)!.Value;

                        // Now and then name the index with another term: the store keeps the stored entry, and reads its id back.
                        named = random.Next(5) == 0 ? new LogId(stored.Term + 1000, 4, stored.Index) : stored;
                        truncated = now with { Entries = now.Entries[..(int)((ulong)(keep + 1) - now.First)] };
                        if (keep == lowest)
                        {
                            truncated = truncated with { First = 0, Entries = [] };
                        }
                    }

                    next = truncated with { Cut = true };
                    terms[g] = ++term;
                    write = () => log.TruncateAfterAsync(named);
                }
                else if (roll < 72 && now.Last is { } last)
                {
                    ulong lowest = now.Purged is { } purged ? purged.Index : 0;
                    ulong upTo = lowest + (ulong)random.Next((int)(last.Index - lowest) + 4);
                    var id = now.At(upTo) ?? (now.Purged is { } p && p.Index == upTo ? p : new LogId(terms[g], 0, upTo));
                    var kept = now.Range(upTo + 1, ulong.MaxValue).ToArray();
                    next = now with { Purged = id, First = kept.Length > 0 ? upTo + 1 : 0, Entries = kept, Cut = true };
                    write = () => log.PurgeAsync(id);
                }
                else if (roll < 84)
                {
                    var vote = now.Vote is { } v && !v.Committed && random.Next(2) == 0 ? v.Commit() : new Vote(++term, (ulong)random.Next(3));
                    terms[g] = Math.Max(terms[g], vote.Term);
                    next = now with { Vote = vote, Cut = false };
                    write = () => log.SaveVoteAsync(vote);
                }
                else if (roll < 97 || random.Next(3) != 0)
                {
                    LogId? committed = now.Entries.Length > 0 && random.Next(8) != 0 ? now.Entries[random.Next(now.Entries.Length)] : null;
                    next = now with { Committed = committed, Cut = false };
                    write = () => log.SaveCommittedAsync(committed);
                }
                else
                {
                    // A removal: the group starts over, empty, under the same id, and its new
                    // entries' ids must not repeat the old ones'.
                    terms[g] = ++term;
                    next = new Snapshot(now.Incarnation + 1, null, 0, [], null, null) { Cut = true };
                    int number = history.Add(next);
                    AddRemoval(history, number);
                    Volatile.Write(ref history.Issued, number);
                    Interlocked.Increment(ref history.RemovalsIssued);
                    var removal = store.RemoveGroupAsync(GroupId(g)).AsTask();
                    Interlocked.Increment(ref history.RemovalsQueued);
                    pending.Add((g, number, removal));
                    Interlocked.Increment(ref Writes);
                    continue;
                }

                int state = history.Add(next);
                Volatile.Write(ref history.Issued, state);
                pending.Add((g, state, write().AsTask()));
                Interlocked.Increment(ref Writes);

                // Several writes in flight at once, as a host that pipelines them: reads meet
                // writes queued behind each other, not only one at a time.
                if (pending.Count >= 1 + random.Next(6))
                {
                    await Task.WhenAll(pending.Select(p => p.Write));
                    MarkCompleted(pending);
                }
            }

            await Task.WhenAll(pending.Select(p => p.Write));
            MarkCompleted(pending);
        }

        private static void AddRemoval(History history, int number)
        {
            lock (history.RemovalStates)
            {
                history.RemovalStates.Add(number);
            }
        }

        private void MarkCompleted(List<(int Group, int State, Task Write)> pending)
        {
            foreach (var (g, state, _) in pending)
            {
                if (state > Volatile.Read(ref _groups[g].Completed))
                {
                    Volatile.Write(ref _groups[g].Completed, state);
                }
            }

            pending.Clear();
            foreach (var history in _groups)
            {
                history.Trim();
            }
        }

        // ---------------------------------------------------------------- readers

        public async Task ReadAsync(int reader, Task writing)
        {
            var random = new Random(seed + 1 + reader);
            var views = new View[Groups];
            var floors = new Dictionary<(int, ReadKind), int>();
            while (!writing.IsCompleted && Violations.IsEmpty)
            {
                // Most reads complete at once: without a yield, the readers would keep every
                // pool thread and the writer's continuations would wait for new ones.
                await Task.Yield();
                int g = random.Next(Groups);
                var history = _groups[g];
                if (views[g] is null || random.Next(20) == 0)
                {
                    views[g] = View.Of(store, GroupId(g), history);
                }

                var view = views[g];
                var kind = (ReadKind)random.Next((int)ReadKind.Removed);
                var hint = history.Current;
                ulong low = hint.Purged is { } p && p.Index > 2 ? p.Index - 2 : 0;
                ulong high = hint.Last.NextIndex() + 3;
                ulong start = low + (ulong)random.NextInt64((long)(high - low));
                ulong end = start + (ulong)random.Next(1, 200);
                int from = Volatile.Read(ref history.Completed);
                Func<Snapshot, bool> matches;
                Exception? error = null;
                string answer;
                try
                {
                    switch (kind)
                    {
                        case ReadKind.Range:
                        case ReadKind.Limited:
                        {
                            var entries = kind == ReadKind.Range
                                ? await view.Log.TryGetLogEntriesAsync(start, end)
                                : await view.Log.LimitedGetLogEntriesAsync(start, end);
                            var ids = entries.Select(entry => entry.LogId).ToArray();
                            answer = $"[{start}, {end}) -> {Describe(ids)}";
                            if (entries.Where(entry => !PayloadMatches(g, entry)).ToArray() is [var bad, ..])
                            {
                                Fail(reader, g, kind, answer, $"the payload of {bad.LogId} ({PayloadFault(g, bad)}) is not the one appended with its id");
                                continue;
                            }

                            matches = kind == ReadKind.Range
                                ? state => state.Range(start, end).SequenceEqual(ids)
                                : state => IsLimitedPrefix(state.Range(start, end).ToArray(), ids);
                            break;
                        }

                        case ReadKind.LogId:
                        {
                            ulong index = start;
                            try
                            {
                                var id = await view.Log.GetLogIdAsync(index);
                                answer = $"id of {index} -> {id}";
                                matches = state => state.At(index) == id;
                            }
                            catch (LogEntryNotFoundException)
                            {
                                answer = $"id of {index} -> not found";
                                matches = state => state.At(index) is null;
                            }

                            break;
                        }

                        case ReadKind.LogState:
                        {
                            var logState = await view.Log.GetLogStateAsync();
                            answer = $"log state -> {logState}";
                            matches = state => state.Purged == logState.LastPurgedLogId && state.Last == logState.LastLogId;
                            break;
                        }

                        case ReadKind.Vote:
                        {
                            var vote = await view.Log.ReadVoteAsync();
                            answer = $"vote -> {vote}";
                            matches = state => state.Vote == vote;
                            break;
                        }

                        case ReadKind.Committed:
                        {
                            var committed = await view.Log.ReadCommittedAsync();
                            answer = $"committed -> {committed}";
                            matches = state => state.Committed == committed;
                            break;
                        }

                        default:
                        {
                            var leader = hint.Vote?.LeaderId ?? new LeaderId(0, 0);
                            var streamed = new List<Entry>();
                            try
                            {
                                var stream = kind == ReadKind.Stream ? view.Log.EntriesStreamAsync(start, end) : view.Log.LeaderBoundedStreamAsync(leader, start, end);
                                await foreach (var entry in stream)
                                {
                                    streamed.Add(entry);
                                }
                            }
                            catch (LeaderChangedException) when (kind == ReadKind.LeaderStream)
                            {
                                answer = $"stream led by {leader} -> leader changed after {Describe(streamed.Select(e => e.LogId).ToArray())}";
                                matches = state => state.Vote is not { Committed: true } vote || vote.LeaderId != leader;
                                Check(reader, g, kind, view, history, from, answer, matches, floors: null);
                                continue;
                            }

                            var ids = streamed.Select(entry => entry.LogId).ToArray();
                            answer = $"stream [{start}, {end}) -> {Describe(ids)}";
                            if (StreamFault(g, streamed) is { } fault)
                            {
                                Fail(reader, g, kind, answer, fault);
                                continue;
                            }

                            // The first chunk is one read: it starts where one state's range starts.
                            matches = state => state.Range(start, end).FirstOrDefault() is var first
                                && (ids.Length == 0 ? !state.Range(start, end).Any() : first == ids[0]);
                            if (history.Between(from, Volatile.Read(ref history.Issued)) is [var (_, begun), .. var later]
                                && !later.Any(state => state.State.Cut)
                                && begun.Range(start, end).ToArray() is { Length: > 0 } due
                                && (ids.Length == 0 || ids[0] != due[0] || ids[^1].Index < due[^1].Index))
                            {
                                Fail(reader, g, kind, answer, $"nothing was truncated, purged or removed while it ran, yet it did not stream {Describe(due)}, all in the log when it began");
                                continue;
                            }

                            break;
                        }
                    }
                }
                catch (UnknownGroupException e)
                {
                    error = e;
                    answer = "unknown group";
                    matches = _ => false;
                }
                catch (Exception e)
                {
                    Fail(reader, g, kind, $"[{start}, {end})", $"failed with {e}");
                    continue;
                }

                if (error is not null)
                {
                    // Only a view handed out before a removal issued may say the group was removed.
                    int removals = Volatile.Read(ref history.RemovalsIssued);
                    if (removals <= view.IncarnationAtLeast)
                    {
                        Fail(reader, g, kind, answer, $"the view was of incarnation {view.IncarnationAtLeast} or later, and only {removals} removals were issued");
                    }
                    else
                    {
                        Checked.AddOrUpdate(ReadKind.Removed, 1, (_, n) => n + 1);
                    }

                    continue;
                }

                Check(reader, g, kind, view, history, from, answer, matches, kind is ReadKind.LogId or ReadKind.Stream or ReadKind.LeaderStream ? null : floors);
            }
        }

        /// <summary>
        /// Checks a read's answer against the group's states from <paramref name="from"/> to the
        /// last one issued now, less those before the reader's last answer of this kind, those of
        /// incarnations before the view's, and, for a view handed out before a removal, those after it.
        /// </summary>
        private void Check(int reader, int g, ReadKind kind, View view, History history, int from, string answer, Func<Snapshot, bool> matches, Dictionary<(int, ReadKind), int>? floors)
        {
            int to = Volatile.Read(ref history.Issued);
            if (view.Incarnation is { } incarnation)
            {
                to = Math.Min(to, history.RemovalState(incarnation));
            }

            int floor = floors is not null && floors.TryGetValue((g, kind), out int f) ? f : 0;
            int lowest = Math.Max(from, floor);
            var states = history.Between(from, Math.Max(from, to));
            if (states is null)
            {
                Interlocked.Increment(ref Unchecked);
                return;
            }

            foreach (var (number, state) in states)
            {
                // A view taken once a removal was queued is of a later incarnation: the removed
                // group's states are not its own, even while the removal is still being written.
                if (number >= lowest && number <= to && state.Incarnation >= view.IncarnationAtLeast && matches(state))
                {
                    if (floors is not null)
                    {
                        floors[(g, kind)] = number;
                    }

                    Checked.AddOrUpdate(kind, 1, (_, n) => n + 1);
                    return;
                }
            }

            string seen = string.Join("\n      ", states.Select(pair => $"#{pair.Number}: {Describe(pair.State)}"));
            Fail(reader, g, kind, answer, $"no state #{lowest}..#{to} (the reader's last answer of this kind matched #{floor}; view {view}) gives it; the states:\n      {seen}");
        }

        private void Fail(int reader, int g, ReadKind kind, string answer, string why) =>
            Violations.Enqueue($"reader {reader}, group {GroupId(g)}, {kind}: {answer}: {why}");

        /// <summary>A stream must be one contiguous run of one log line, of entries as appended.</summary>
        private string? StreamFault(int g, List<Entry> streamed)
        {
            for (int i = 0; i < streamed.Count; i++)
            {
                if (!PayloadMatches(g, streamed[i]))
                {
                    return $"entry {streamed[i].LogId}'s payload ({PayloadFault(g, streamed[i])}) is not the one appended with its id";
                }

                if (i > 0 && (!_predecessor.TryGetValue((g, streamed[i].LogId), out var before) || before != streamed[i - 1].LogId))
                {
                    return $"{streamed[i].LogId} follows {streamed[i - 1].LogId}, but was appended after {before}: the stream spliced two logs";
                }
            }

            return null;
        }

        private static bool IsLimitedPrefix(LogId[] all, LogId[] read) =>
            all.Length == 0 ? read.Length == 0 : read.Length >= 1 && read.Length <= all.Length && all.AsSpan(0, read.Length).SequenceEqual(read);

        private static string Describe(LogId[] ids) =>
            ids.Length == 0 ? "none" : ids.Length == 1 ? ids[0].ToString() : $"{ids[0]} .. {ids[^1]} ({ids.Length}){(ids.Length <= 12 ? $" [{string.Join(' ', ids.Select(id => id.ToString()))}]" : string.Empty)}";

        private static string Describe(Snapshot state) =>
            $"incarnation {state.Incarnation}, purged {state.Purged?.ToString() ?? "none"}, entries {Describe(state.Entries)}, vote {state.Vote?.ToString() ?? "none"}, committed {state.Committed?.ToString() ?? "none"}";
    }

    /// <summary>A view of a group and which incarnation of the group it is of, when that is known.</summary>
    private sealed record View(IRaftLogStore Log, int? Incarnation, int IncarnationAtLeast)
    {
        /// <summary>
        /// A view handed out with no removal in progress is of the incarnation the removals
        /// queued so far left; one handed out while a removal was queued is of either.
        /// </summary>
        public static View Of(RocksDbLogStore store, ulong groupId, History history)
        {
            int queued = Volatile.Read(ref history.RemovalsQueued);
            var log = store.ForGroup(groupId);
            int issued = Volatile.Read(ref history.RemovalsIssued);
            return new View(log, queued == issued ? queued : null, queued);
        }

        public override string ToString() => Incarnation is { } i ? $"of incarnation {i}" : $"of incarnation {IncarnationAtLeast} or later";
    }
}
