using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using Xunit;

namespace RaftToolkit.Testing.Storage.Conformance;

/// <content>Cases 21–28: the vote and reads.</content>
public abstract partial class StorageConformanceSuite<TResponse, TSnapshot>
{
    /// <summary>21. A saved vote (term 100) reads back the same.</summary>
    [Fact]
    public Task SaveVote() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        Expect(null, await log.ReadVoteAsync().ConfigureAwait(false), "vote of a fresh store");
        await log.SaveVoteAsync(new Vote(100, 0)).ConfigureAwait(false);
        Expect(new Vote(100, 0), await log.ReadVoteAsync().ConfigureAwait(false), "vote read back");
        await log.SaveVoteAsync(new Vote(100, 0).Commit()).ConfigureAwait(false);
        Expect(new Vote(100, 0).Commit(), await log.ReadVoteAsync().ConfigureAwait(false), "committed vote read back");
    });

    /// <summary>22. <c>[3,3)</c> is empty; <c>[5,7)</c> returns 5 and 6.</summary>
    [Fact]
    public Task GetLogEntries() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        await Feed10Async(log).ConfigureAwait(false);
        ExpectEntryIds([], await log.TryGetLogEntriesAsync(3, 3).ConfigureAwait(false), "entries in [3,3)");
        ExpectEntryIds([Id(1, 5), Id(1, 6)], await log.TryGetLogEntriesAsync(5, 7).ConfigureAwait(false), "entries in [5,7)");
        ExpectEntryIds(IdRange(1, 8, 10), await log.TryGetLogEntriesAsync(8, 100).ConfigureAwait(false), "entries in [8,100) (past the end)");
    });

    /// <summary>23. <c>[3,3)</c> is empty; <c>[5,7)</c> is not empty, has at most 2 entries, and starts at 5.</summary>
    [Fact]
    public Task LimitedGetLogEntries() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        await Feed10Async(log).ConfigureAwait(false);
        ExpectEntryIds([], await log.LimitedGetLogEntriesAsync(3, 3).ConfigureAwait(false), "limited read of [3,3)");
        var entries = await log.LimitedGetLogEntriesAsync(5, 7).ConfigureAwait(false);
        Expect(entries.Count is >= 1 and <= 2, $"A limited read of [5,7) returns 1 or 2 entries, got {entries.Count}.");
        Expect(Id(1, 5), entries[0].LogId, "first entry of a limited read of [5,7)");
        var prefix = await log.LimitedGetLogEntriesAsync(0, 11).ConfigureAwait(false);
        Expect(prefix.Count >= 1, "A limited read of [0,11) returns at least the first entry.");
        ExpectEntryIds(IdsOf(await log.TryGetLogEntriesAsync(0, (ulong)prefix.Count).ConfigureAwait(false)), prefix, "a limited read of [0,11) (a contiguous prefix)");
    });

    /// <summary>24. With a committed vote, the leader-bounded stream yields <c>[3,7)</c>, <c>[0,3)</c>, <c>[8,100)</c>; a wrong node or term, or the same leader's vote not committed, yields exactly one "leader changed" error.</summary>
    [Fact]
    public Task LeaderBoundedStream() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        await Feed10Async(log).ConfigureAwait(false);
        await log.SaveVoteAsync(new Vote(1, 0).Commit()).ConfigureAwait(false);
        var vote = await log.ReadVoteAsync().ConfigureAwait(false);
        Expect(vote is { Committed: true }, $"The committed vote reads back committed, got {vote}.");
        var leader = vote!.Value.LeaderId;
        var reader = log.GetReader();

        await ExpectStreamAsync(reader.LeaderBoundedStreamAsync(leader, 3, 7), IdRange(1, 3, 6), "leader-bounded stream of [3,7)").ConfigureAwait(false);
        await ExpectStreamAsync(reader.LeaderBoundedStreamAsync(leader, 0, 3), [Id(0, 0), Id(1, 1), Id(1, 2)], "leader-bounded stream of [0,3)").ConfigureAwait(false);
        await ExpectStreamAsync(reader.LeaderBoundedStreamAsync(leader, 8, 100), IdRange(1, 8, 10), "leader-bounded stream of [8,100)").ConfigureAwait(false);

        await ExpectLeaderChangedAsync(reader.LeaderBoundedStreamAsync(new LeaderId(1, 99), 3, 7), "a stream bound to the wrong node (term 1, node 99)").ConfigureAwait(false);
        await ExpectLeaderChangedAsync(reader.LeaderBoundedStreamAsync(new LeaderId(2, 0), 3, 7), "a stream bound to the wrong term (term 2, node 0)").ConfigureAwait(false);

        await log.SaveVoteAsync(new Vote(2, 0)).ConfigureAwait(false);
        await ExpectLeaderChangedAsync(reader.LeaderBoundedStreamAsync(new LeaderId(2, 0), 3, 7), "a stream bound to a leader whose vote is not committed (term 2, node 0)").ConfigureAwait(false);
    });

    /// <summary>25. The entries stream yields the same ranges with no vote check; <c>[5,5)</c> is empty and <c>[0,11)</c> has all 11.</summary>
    [Fact]
    public Task EntriesStream() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        await Feed10Async(log).ConfigureAwait(false);
        var reader = log.GetReader();
        await ExpectStreamAsync(reader.EntriesStreamAsync(3, 7), IdRange(1, 3, 6), "entries stream of [3,7)").ConfigureAwait(false);
        await ExpectStreamAsync(reader.EntriesStreamAsync(0, 3), [Id(0, 0), Id(1, 1), Id(1, 2)], "entries stream of [0,3)").ConfigureAwait(false);
        await ExpectStreamAsync(reader.EntriesStreamAsync(8, 100), IdRange(1, 8, 10), "entries stream of [8,100)").ConfigureAwait(false);
        await ExpectStreamAsync(reader.EntriesStreamAsync(5, 5), [], "entries stream of [5,5)").ConfigureAwait(false);
        var all = new List<LogId> { Id(0, 0) };
        all.AddRange(IdRange(1, 1, 10));
        await ExpectStreamAsync(reader.EntriesStreamAsync(0, 11), all, "entries stream of [0,11)").ConfigureAwait(false);
    });

    /// <summary>26. After purging (0,0): index 3 is present, 0 and 11 are absent.</summary>
    [Fact]
    public Task TryGetLogEntry() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        await Feed10Async(log).ConfigureAwait(false);
        await log.PurgeAsync(Id(0, 0)).ConfigureAwait(false);
        ExpectEntryIds([Id(1, 3)], await log.TryGetLogEntriesAsync(3, 4).ConfigureAwait(false), "entry 3");
        ExpectEntryIds([], await log.TryGetLogEntriesAsync(0, 1).ConfigureAwait(false), "entry 0 (purged)");
        ExpectEntryIds([], await log.TryGetLogEntriesAsync(11, 12).ConfigureAwait(false), "entry 11 (past the end)");
    });

    /// <summary>27. A reader taken before an append sees the entries appended later.</summary>
    [Fact]
    public Task ReaderSeesNewEntries() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        var reader = log.GetReader();
        ExpectEntryIds([], await reader.TryGetLogEntriesAsync(0, 100).ConfigureAwait(false), "a fresh store's entries through a reader");
        await Feed10Async(log).ConfigureAwait(false);
        var all = new List<LogId> { Id(0, 0) };
        all.AddRange(IdRange(1, 1, 10));
        ExpectEntryIds(all, await reader.TryGetLogEntriesAsync(0, 100).ConfigureAwait(false), "entries appended after the reader was taken");
        await AppendAsync(log, Blank(2, 11)).ConfigureAwait(false);
        Expect(Id(2, 11), await reader.GetLogIdAsync(11).ConfigureAwait(false), "id of entry 11 through the reader");
        Expect(new Vote(1, 0), await reader.ReadVoteAsync().ConfigureAwait(false), "vote through the reader");
        await ExpectStreamAsync(reader.EntriesStreamAsync(10, 12), [Id(1, 10), Id(2, 11)], "entries stream of [10,12) through the reader").ConfigureAwait(false);
    });

    /// <summary>28. A fresh store has no entry 0.</summary>
    [Fact]
    public Task InitialLogs() => RunCaseAsync(async c =>
    {
        ExpectEntryIds([], await c.Log.TryGetLogEntriesAsync(0, 1).ConfigureAwait(false), "entry 0 of a fresh store");
        Expect(new LogState(null, null), await c.Log.GetLogStateAsync().ConfigureAwait(false), "log state of a fresh store");
    });

    private static async Task ExpectStreamAsync(IAsyncEnumerable<Entry> stream, IReadOnlyList<LogId> expected, string what)
    {
        var (entries, errors) = await DrainAsync(stream).ConfigureAwait(false);
        if (errors.Count > 0)
        {
            Assert.Fail($"{what}: failed with {errors[0].GetType().Name}: {errors[0].Message}");
        }

        ExpectEntryIds(expected, entries, what);
    }

    private static async Task ExpectLeaderChangedAsync(IAsyncEnumerable<Entry> stream, string what)
    {
        var (entries, errors) = await DrainAsync(stream).ConfigureAwait(false);
        Expect(entries.Count == 0, $"{what}: yields no entry, got [{string.Join(", ", entries)}].");
        Expect(errors.Count == 1, $"{what}: yields exactly one error, got {errors.Count}: [{string.Join("; ", errors.Select(e => e.GetType().Name))}].");
        Expect(errors[0] is LeaderChangedException, $"{what}: the error is a LeaderChangedException, got {errors[0].GetType().Name}: {errors[0].Message}");
    }
}
