using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using Xunit;

namespace RaftToolkit.Testing.Storage.Conformance;

/// <content>Cases 50–53: when appends are reported durable, and what a stream yields while the log changes under it.</content>
public abstract partial class StorageConformanceSuite<TResponse, TSnapshot>
{
    /// <summary>
    /// How many entries the stream cases append: more than one chunk of the in-memory store (64)
    /// and of the RocksDB store (1,024), so that the log changes between two chunks of a stream.
    /// A store that reads streams in larger chunks can raise it.
    /// </summary>
    protected virtual ulong StreamedLogLength => 2_100;

    /// <summary>50. Appends issued back to back, empty ones among them, are each reported durable once, in the order they were issued.</summary>
    [Fact]
    public Task FlushOrder() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        ulong[] sizes = [1, 2, 0, 1, 3, 0, 2, 1];
        var reported = new List<int>();
        var flushes = new OrderedFlush[sizes.Length];
        var appends = new Task[sizes.Length];
        ulong next = 0;
        for (int i = 0; i < sizes.Length; i++)
        {
            flushes[i] = new OrderedFlush(i, reported);
            appends[i] = log.AppendAsync(Blanks(1, next, next + sizes[i]), flushes[i]).AsTask();
            next += sizes[i];
        }

        await Task.WhenAll(appends).ConfigureAwait(false);
        foreach (var flush in flushes)
        {
            await flush.Flushed.ConfigureAwait(false);
        }

        for (int i = 0; i < flushes.Length; i++)
        {
            Expect(1, flushes[i].ReportCount, $"times the store reported append {i} ({sizes[i]} entries) durable");
        }

        List<int> order;
        lock (reported)
        {
            order = [.. reported];
        }

        var issued = new List<int>();
        for (int i = 0; i < sizes.Length; i++)
        {
            issued.Add(i);
        }

        Expect(issued.SequenceEqual(order), $"Appends are reported durable in the order they were issued (sizes [{string.Join(", ", sizes)}]); reported: [{string.Join(", ", order)}].");
        Expect(new LogState(null, Id(1, next - 1)), await log.GetLogStateAsync().ConfigureAwait(false), "log state after the appends");
    });

    /// <summary>51. An append reported durable is readable by then: reads started from its flush callback see its entries and the new last log id.</summary>
    [Fact]
    public Task FlushedIsReadable() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        await AppendAsync(log, Blank(0, 0)).ConfigureAwait(false);
        ulong[] sizes = [1, 3, 2];
        ulong next = 1;
        foreach (ulong size in sizes)
        {
            var entries = Blanks(1, next, next + size);
            var flush = new ReadingFlush(log, next, next + size);
            await log.AppendAsync(entries, flush).ConfigureAwait(false);
            await flush.Flushed.ConfigureAwait(false);
            Expect(1, flush.ReportCount, $"times the store reported the append of {entries.Length} entries durable");
            var (seen, state) = await flush.ReadAtReport!.ConfigureAwait(false);
            ExpectEntryIds(IdRange(1, next, next + size - 1), seen, $"entries [{next},{next + size}) read from the callback that reported them durable");
            Expect(Id(1, next + size - 1), state.LastLogId, $"last log id read from the callback that reported entries [{next},{next + size}) durable");
            next += size;
        }
    });

    /// <summary>
    /// 52. A stream the log is truncated under, and refilled by another leader, between two of
    /// its chunks yields one contiguous run of one log: the old log's entries, never followed by
    /// the new leader's at the indexes it rewrote.
    /// </summary>
    [Fact]
    public Task StreamAcrossTruncation() => RunCaseAsync(async c =>
    {
        async Task Check(IRaftLogStore log, Func<IRaftLogReader, IAsyncEnumerable<Entry>> open, string what)
        {
            ulong count = StreamedLogLength;
            var streamed = await StreamWhileChangingAsync(log, count, open, async () =>
            {
                await log.TruncateAfterAsync(Id(1, 10)).ConfigureAwait(false);
                await AppendAsync(log, Blanks(2, 11, count)).ConfigureAwait(false);
            }).ConfigureAwait(false);
            ExpectContiguousFromZero(streamed, what);
            LogId? firstRewritten = null;
            foreach (var entry in streamed)
            {
                if (entry.Index > 10)
                {
                    firstRewritten ??= entry.LogId;
                    if (entry.LogId.LeaderId != firstRewritten.Value.LeaderId)
                    {
                        Assert.Fail($"{what}: it yielded {firstRewritten} and then {entry.LogId}, splicing the log from before the truncation after (1,10) to the one after it.");
                    }
                }
            }
        }

        await Check(c.Log, reader => reader.EntriesStreamAsync(0, StreamedLogLength), "an entries stream truncated under").ConfigureAwait(false);
        await Check(c.Store.Group(GroupUnderTest + 1), LeaderBound(StreamedLogLength), "a leader-bounded stream truncated under").ConfigureAwait(false);
    });

    /// <summary>53. A stream the log is purged past between two of its chunks yields one contiguous run: it ends rather than skip the purged entries.</summary>
    [Fact]
    public Task StreamAcrossPurge() => RunCaseAsync(async c =>
    {
        async Task Check(IRaftLogStore log, Func<IRaftLogReader, IAsyncEnumerable<Entry>> open, string what)
        {
            ulong count = StreamedLogLength;
            var streamed = await StreamWhileChangingAsync(log, count, open, () => log.PurgeAsync(Id(1, count - 100)).AsTask()).ConfigureAwait(false);
            ExpectContiguousFromZero(streamed, what);
            Expect(new LogState(Id(1, count - 100), Id(1, count - 1)), await log.GetLogStateAsync().ConfigureAwait(false), $"log state after {what}");
        }

        await Check(c.Log, reader => reader.EntriesStreamAsync(0, StreamedLogLength), "an entries stream purged under").ConfigureAwait(false);
        await Check(c.Store.Group(GroupUnderTest + 1), LeaderBound(StreamedLogLength), "a leader-bounded stream purged under").ConfigureAwait(false);
    });

    /// <summary>Blank entries <c>(term, from)</c> … <c>(term, end - 1)</c>.</summary>
    private static Entry[] Blanks(ulong term, ulong from, ulong end)
    {
        var entries = new Entry[end - from];
        for (ulong i = from; i < end; i++)
        {
            entries[i - from] = Blank(term, i);
        }

        return entries;
    }

    /// <summary>A leader-bounded stream of <c>[0, end)</c> for leader (term 1, node 0), whose committed vote <see cref="StreamWhileChangingAsync"/> saves.</summary>
    private static Func<IRaftLogReader, IAsyncEnumerable<Entry>> LeaderBound(ulong end) =>
        reader => reader.LeaderBoundedStreamAsync(new LeaderId(1, 0), 0, end);

    /// <summary>
    /// Fills <paramref name="log"/> with <c>(1,0)</c>…<c>(1,count-1)</c> and a committed vote for
    /// (term 1, node 0), opens a stream, takes its first entry, runs <paramref name="change"/>,
    /// and reads the stream to its end.
    /// </summary>
    private static async Task<List<Entry>> StreamWhileChangingAsync(IRaftLogStore log, ulong count, Func<IRaftLogReader, IAsyncEnumerable<Entry>> open, Func<Task> change)
    {
        await AppendAsync(log, Blanks(1, 0, count)).ConfigureAwait(false);
        await log.SaveVoteAsync(new Vote(1, 0).Commit()).ConfigureAwait(false);
        var streamed = new List<Entry>();
        var enumerator = open(log.GetReader()).GetAsyncEnumerator();
        try
        {
            Expect(await enumerator.MoveNextAsync().ConfigureAwait(false), "The stream yields entry 0 before the log changes.");
            streamed.Add(enumerator.Current);
            await change().ConfigureAwait(false);
            while (await enumerator.MoveNextAsync().ConfigureAwait(false))
            {
                streamed.Add(enumerator.Current);
            }
        }
        finally
        {
            await enumerator.DisposeAsync().ConfigureAwait(false);
        }

        return streamed;
    }

    private static void ExpectContiguousFromZero(List<Entry> streamed, string what)
    {
        for (int i = 0; i < streamed.Count; i++)
        {
            if (streamed[i].Index != (ulong)i)
            {
                Assert.Fail($"{what}: entry {i} of the stream is {streamed[i].LogId}; a stream is one contiguous run from its start, so it should have ended after {(i > 0 ? streamed[i - 1].LogId.ToString() : "nothing")}.");
            }
        }
    }

    /// <summary>A flush callback that records, in a list shared by several appends, when it was reported.</summary>
    private sealed class OrderedFlush(int order, List<int> reported) : IFlushCallback
    {
        private readonly FlushAwaiter _awaiter = new();
        private int _reported;

        public Task Flushed => _awaiter.Flushed;

        public int ReportCount => _awaiter.ReportCount;

        public void OnFlushed(Exception? error)
        {
            if (Interlocked.Exchange(ref _reported, 1) == 0)
            {
                lock (reported)
                {
                    reported.Add(order);
                }
            }

            _awaiter.OnFlushed(error);
        }
    }

    /// <summary>
    /// A flush callback that starts reading the appended range and the log state when the store
    /// reports the write: it only starts the reads (a callback must not block), so a store whose
    /// reads wait for its writer thread still finishes them once the callback returns.
    /// </summary>
    private sealed class ReadingFlush(IRaftLogStore log, ulong start, ulong end) : IFlushCallback
    {
        private readonly FlushAwaiter _awaiter = new();
        private int _reported;

        public Task Flushed => _awaiter.Flushed;

        public int ReportCount => _awaiter.ReportCount;

        /// <summary>The entries and the log state as read from the (first) report.</summary>
        public Task<(IReadOnlyList<Entry> Entries, LogState State)>? ReadAtReport { get; private set; }

        public void OnFlushed(Exception? error)
        {
            if (Interlocked.Exchange(ref _reported, 1) == 0 && error is null)
            {
                var entries = log.TryGetLogEntriesAsync(start, end).AsTask();
                var state = log.GetLogStateAsync().AsTask();
                ReadAtReport = Both(entries, state);
            }

            _awaiter.OnFlushed(error);
        }

        private static async Task<(IReadOnlyList<Entry>, LogState)> Both(Task<IReadOnlyList<Entry>> entries, Task<LogState> state) =>
            (await entries.ConfigureAwait(false), await state.ConfigureAwait(false));
    }
}
