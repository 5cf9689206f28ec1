using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using Xunit;

namespace RaftToolkit.Testing.Storage.Conformance;

/// <content>Cases 29–39: log state, purge, truncate, append.</content>
public abstract partial class StorageConformanceSuite<TResponse, TSnapshot>
{
    /// <summary>29. Log state: empty, with 3 entries, after purging (0,0), after purging all, after purging beyond the end to (2,3).</summary>
    [Fact]
    public Task GetLogState() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        Expect(new LogState(null, null), await log.GetLogStateAsync().ConfigureAwait(false), "log state of an empty store");
        await AppendAsync(log, Blank(0, 0), Blank(1, 1), Blank(1, 2)).ConfigureAwait(false);
        Expect(new LogState(null, Id(1, 2)), await log.GetLogStateAsync().ConfigureAwait(false), "log state with 3 entries");
        await log.PurgeAsync(Id(0, 0)).ConfigureAwait(false);
        Expect(new LogState(Id(0, 0), Id(1, 2)), await log.GetLogStateAsync().ConfigureAwait(false), "log state after purging (0,0)");
        await log.PurgeAsync(Id(1, 2)).ConfigureAwait(false);
        Expect(new LogState(Id(1, 2), Id(1, 2)), await log.GetLogStateAsync().ConfigureAwait(false), "log state after purging every entry");
        await log.PurgeAsync(Id(2, 3)).ConfigureAwait(false);
        Expect(new LogState(Id(2, 3), Id(2, 3)), await log.GetLogStateAsync().ConfigureAwait(false), "log state after purging beyond the end to (2,3)");
    });

    /// <summary>30. After purging (1,3): indexes 0, 3 and 11 are errors; 4 and 10 return their ids.</summary>
    [Fact]
    public Task GetLogId() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        await Feed10Async(log).ConfigureAwait(false);
        await log.PurgeAsync(Id(1, 3)).ConfigureAwait(false);
        foreach (ulong index in new ulong[] { 0, 3, 11 })
        {
            var error = await ExpectFailureAsync<LogEntryNotFoundException>(
                async () => await log.GetLogIdAsync(index).ConfigureAwait(false),
                $"the id of entry {index} (purged or past the end)").ConfigureAwait(false);
            Expect(index, error.Index, "index named by LogEntryNotFoundException");
        }

        Expect(Id(1, 4), await log.GetLogIdAsync(4).ConfigureAwait(false), "id of entry 4");
        Expect(Id(1, 10), await log.GetLogIdAsync(10).ConfigureAwait(false), "id of entry 10");
    });

    /// <summary>31. The last log id ignores the state machine; after purging everything it is the purged id.</summary>
    [Fact]
    public Task LastIdInLog() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        var sm = c.NewStateMachine();
        Expect(null, (await log.GetLogStateAsync().ConfigureAwait(false)).LastLogId, "last log id of an empty store");
        await AppendAsync(log, Blank(0, 0), Blank(1, 1), Blank(1, 2)).ConfigureAwait(false);
        Expect(Id(1, 2), (await log.GetLogStateAsync().ConfigureAwait(false)).LastLogId, "last log id with 3 entries");
        await ApplyAsync(sm, Blank(1, 3)).ConfigureAwait(false);
        Expect(Id(1, 2), (await log.GetLogStateAsync().ConfigureAwait(false)).LastLogId, "last log id (the state machine's greater applied id is not the log's)");
        await log.PurgeAsync(Id(1, 2)).ConfigureAwait(false);
        Expect(Id(1, 2), (await log.GetLogStateAsync().ConfigureAwait(false)).LastLogId, "last log id after purging every entry (the purged id)");
    });

    /// <summary>32. Purging up to (0,0) leaves 10 entries from index 1; state {purged (0,0), last (1,10)}.</summary>
    [Fact]
    public Task PurgeUpTo0() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        await Feed10Async(log).ConfigureAwait(false);
        await log.PurgeAsync(Id(0, 0)).ConfigureAwait(false);
        ExpectEntryIds(IdRange(1, 1, 10), await log.TryGetLogEntriesAsync(0, 100).ConfigureAwait(false), "entries after purging up to (0,0)");
        Expect(new LogState(Id(0, 0), Id(1, 10)), await log.GetLogStateAsync().ConfigureAwait(false), "log state after purging up to (0,0)");
    });

    /// <summary>33. Purging up to (1,5) leaves 5 entries from index 6; state {(1,5), (1,10)}; truncating after the purged id then empties the log: {(1,5), (1,5)}.</summary>
    [Fact]
    public Task PurgeUpTo5() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        await Feed10Async(log).ConfigureAwait(false);
        await log.PurgeAsync(Id(1, 5)).ConfigureAwait(false);
        ExpectEntryIds(IdRange(1, 6, 10), await log.TryGetLogEntriesAsync(0, 100).ConfigureAwait(false), "entries after purging up to (1,5)");
        Expect(new LogState(Id(1, 5), Id(1, 10)), await log.GetLogStateAsync().ConfigureAwait(false), "log state after purging up to (1,5)");
        await log.TruncateAfterAsync(Id(1, 5)).ConfigureAwait(false);
        ExpectEntryIds([], await log.TryGetLogEntriesAsync(0, 100).ConfigureAwait(false), "entries after truncating after the purged id (1,5)");
        Expect(new LogState(Id(1, 5), Id(1, 5)), await log.GetLogStateAsync().ConfigureAwait(false), "log state after truncating after the purged id (1,5)");
        await AppendAsync(log, Blank(2, 6)).ConfigureAwait(false);
        Expect(new LogState(Id(1, 5), Id(2, 6)), await log.GetLogStateAsync().ConfigureAwait(false), "log state after appending (2,6) right after the purged id");
    });

    /// <summary>34. Purging up to (1,20), past the end, leaves nothing; state {(1,20), (1,20)}.</summary>
    [Fact]
    public Task PurgeUpTo20() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        await Feed10Async(log).ConfigureAwait(false);
        await log.PurgeAsync(Id(1, 20)).ConfigureAwait(false);
        ExpectEntryIds([], await log.TryGetLogEntriesAsync(0, 100).ConfigureAwait(false), "entries after purging up to (1,20)");
        Expect(new LogState(Id(1, 20), Id(1, 20)), await log.GetLogStateAsync().ConfigureAwait(false), "log state after purging up to (1,20)");
        await AppendAsync(log, Blank(2, 21)).ConfigureAwait(false);
        Expect(new LogState(Id(1, 20), Id(2, 21)), await log.GetLogStateAsync().ConfigureAwait(false), "log state after appending (2,21) right after the purged id");
    });

    /// <summary>35. Truncating after (1,11), past the end, keeps all 11 entries; last (1,10).</summary>
    [Fact]
    public Task TruncateAfter11() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        await Feed10Async(log).ConfigureAwait(false);
        await log.TruncateAfterAsync(Id(1, 11)).ConfigureAwait(false);
        Expect(11, (await log.TryGetLogEntriesAsync(0, 100).ConfigureAwait(false)).Count, "entries left after truncating after (1,11)");
        Expect(new LogState(null, Id(1, 10)), await log.GetLogStateAsync().ConfigureAwait(false), "log state after truncating after (1,11)");
    });

    /// <summary>36. Truncating after (1,5) keeps 6 entries (0–5); last (1,5), nothing purged.</summary>
    [Fact]
    public Task TruncateAfter5() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        await Feed10Async(log).ConfigureAwait(false);
        await log.TruncateAfterAsync(Id(1, 5)).ConfigureAwait(false);
        var expected = new List<LogId> { Id(0, 0) };
        expected.AddRange(IdRange(1, 1, 5));
        ExpectEntryIds(expected, await log.TryGetLogEntriesAsync(0, 100).ConfigureAwait(false), "entries after truncating after (1,5)");
        Expect(new LogState(null, Id(1, 5)), await log.GetLogStateAsync().ConfigureAwait(false), "log state after truncating after (1,5)");
        await AppendAsync(log, Blank(2, 6)).ConfigureAwait(false);
        Expect(Id(2, 6), await log.GetLogIdAsync(6).ConfigureAwait(false), "entry 6 appended again after the truncation");
    });

    /// <summary>37. Truncating after (0,0) keeps 1 entry; last (0,0).</summary>
    [Fact]
    public Task TruncateAfter0() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        await Feed10Async(log).ConfigureAwait(false);
        await log.TruncateAfterAsync(Id(0, 0)).ConfigureAwait(false);
        ExpectEntryIds([Id(0, 0)], await log.TryGetLogEntriesAsync(0, 100).ConfigureAwait(false), "entries after truncating after (0,0)");
        Expect(new LogState(null, Id(0, 0)), await log.GetLogStateAsync().ConfigureAwait(false), "log state after truncating after (0,0)");
    });

    /// <summary>38. Truncating after none keeps nothing; state {none, none}.</summary>
    [Fact]
    public Task TruncateAfterNone() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        await Feed10Async(log).ConfigureAwait(false);
        await log.TruncateAfterAsync(null).ConfigureAwait(false);
        ExpectEntryIds([], await log.TryGetLogEntriesAsync(0, 100).ConfigureAwait(false), "entries after truncating after none");
        Expect(new LogState(null, null), await log.GetLogStateAsync().ConfigureAwait(false), "log state after truncating after none");
        Expect(new Vote(1, 0), await log.ReadVoteAsync().ConfigureAwait(false), "vote after truncating every entry (must be kept)");
    });

    /// <summary>39. After purging (0,0) and appending (2,11): 11 entries, last (2,11). An empty append changes nothing and is reported durable once.</summary>
    [Fact]
    public Task AppendToLog() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        await Feed10Async(log).ConfigureAwait(false);
        await log.PurgeAsync(Id(0, 0)).ConfigureAwait(false);
        await AppendAsync(log, Blank(2, 11)).ConfigureAwait(false);
        var entries = await log.TryGetLogEntriesAsync(0, ulong.MaxValue).ConfigureAwait(false);
        Expect(11, entries.Count, "entries after purging (0,0) and appending (2,11)");
        Expect(Id(2, 11), entries[^1].LogId, "last entry");
        Expect(new LogState(Id(0, 0), Id(2, 11)), await log.GetLogStateAsync().ConfigureAwait(false), "log state");
        await AppendAsync(log).ConfigureAwait(false);
        Expect(new LogState(Id(0, 0), Id(2, 11)), await log.GetLogStateAsync().ConfigureAwait(false), "log state after an empty append");
    });
}
