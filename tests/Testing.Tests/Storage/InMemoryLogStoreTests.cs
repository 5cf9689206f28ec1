using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Testing.Storage;
using Xunit;

namespace RaftToolkit.Testing.Tests.Storage;

public sealed class InMemoryLogStoreTests
{
    private static Entry[] Blanks(ulong from, ulong to)
    {
        var entries = new Entry[to - from + 1];
        for (ulong i = from; i <= to; i++)
        {
            entries[i - from] = Entry.Blank(new LogId(1, 0, i));
        }

        return entries;
    }

    /// <summary>
    /// Indexes past <see cref="LogIndexes.Max"/> are refused, as the RocksDB store refuses them,
    /// and change nothing: the next index after the largest would wrap to 0, so a truncation
    /// after it once emptied the log, and a purge up to it kept every entry.
    /// </summary>
    [Fact]
    public async Task IndexesPastTheLastSupportedOneAreRefusedAndChangeNothing()
    {
        var store = new InMemoryMultiGroupLogStore();
        var log = store.ForGroup(1);
        await log.AppendAsync(Blanks(0, 2), new FlushAwaiter());
        var top = new LogId(1, 0, LogIndexes.Max + 1);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await log.TruncateAfterAsync(top));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await log.TruncateAfterAsync(top with { Index = ulong.MaxValue }));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await log.PurgeAsync(top));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await log.AppendAsync(new[] { Entry.Blank(top) }, new FlushAwaiter()));
        var batch = new LogWriteBatch();
        batch.TruncateAfter(1, top);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.WriteAsync(batch));

        Assert.Equal(new LogState(null, new LogId(1, 0, 2)), await log.GetLogStateAsync());
        Assert.Equal(3, (await log.TryGetLogEntriesAsync(0, 10)).Count);
        await log.TruncateAfterAsync(new LogId(1, 0, LogIndexes.Max));
        Assert.Equal(3, (await log.TryGetLogEntriesAsync(0, 10)).Count);
    }

    [Fact]
    public async Task LimitedGet_ReturnsAtMostTheConfiguredNumberOfEntries()
    {
        var store = new InMemoryLogStore(limitedReadMaxEntries: 4);
        await store.AppendAndFlushAsync(Blanks(0, 9));

        var entries = await store.LimitedGetLogEntriesAsync(2, 10);

        Assert.Equal([2UL, 3, 4, 5], entries.Select(e => e.Index));
    }

    [Fact]
    public async Task Append_ReportsTheWriteFlushedBeforeItCompletes()
    {
        var store = new InMemoryLogStore();
        var flush = new FlushAwaiter();

        await store.AppendAsync(Blanks(0, 0), flush);

        Assert.True(flush.Flushed.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Reopen_GivesANewHandleOverTheSameStateWhileTheClosedOneFails()
    {
        var store = new InMemoryLogStore(groupId: 3);
        await store.AppendAndFlushAsync(Blanks(0, 2));
        await store.SaveVoteAsync(new Vote(1, 1));
        await store.DisposeAsync();

        var reopened = store.Reopen();

        Assert.Equal(new LogState(null, new LogId(1, 0, 2)), await reopened.GetLogStateAsync());
        Assert.Equal(new Vote(1, 1), await reopened.ReadVoteAsync());
        await Assert.ThrowsAsync<StoreClosedException>(async () => await store.ReadVoteAsync());
    }

    /// <summary>
    /// A stream longer than one chunk, whose log is purged past it, or truncated and rewritten
    /// in a new term, while it runs: it ends, contiguous and of one term, where it would
    /// otherwise skip the purged entries or go on into the new ones.
    /// </summary>
    [Theory]
    [InlineData("purge")]
    [InlineData("truncate and rewrite")]
    public async Task AStream_EndsWhereTheLogChangesUnderIt_RatherThanSkipOrSplice(string change)
    {
        var store = new InMemoryLogStore();
        await store.AppendAndFlushAsync(Blanks(0, 299));
        var streamed = new List<LogId>();
        await foreach (var entry in store.EntriesStreamAsync(0, 300))
        {
            streamed.Add(entry.LogId);
            if (streamed.Count == 10)
            {
                if (change == "purge")
                {
                    await store.PurgeAsync(new LogId(1, 0, 200));
                }
                else
                {
                    await store.TruncateAfterAsync(new LogId(1, 0, 5));
                    var rewritten = Enumerable.Range(6, 294).Select(i => Entry.Blank(new LogId(2, 0, (ulong)i))).ToArray();
                    await store.AppendAndFlushAsync(rewritten);
                }
            }
        }

        Assert.InRange(streamed.Count, 10, 299);
        Assert.Equal(Blanks(0, (ulong)streamed.Count - 1).Select(entry => entry.LogId), streamed);
    }

    [Fact]
    public async Task AnInvertedRange_IsRefusedAsAnArgumentError()
    {
        var store = new InMemoryLogStore();

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.TryGetLogEntriesAsync(5, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.EntriesStreamAsync(5, 3));
    }

    [Fact]
    public async Task ACancelledCall_ChangesNothing()
    {
        var store = new InMemoryLogStore();
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await store.SaveVoteAsync(new Vote(1, 0), cancelled.Token));

        Assert.Null(await store.ReadVoteAsync());
    }

    [Fact]
    public async Task LeaderBoundedStream_StopsWhenTheVoteChangesBetweenChunks()
    {
        var store = new InMemoryLogStore();
        await store.AppendAndFlushAsync(Blanks(0, 199));
        await store.SaveVoteAsync(new Vote(1, 0).Commit());
        var seen = new List<ulong>();

        var error = await Assert.ThrowsAsync<LeaderChangedException>(async () =>
        {
            await foreach (var entry in store.LeaderBoundedStreamAsync(new LeaderId(1, 0), 0, 200))
            {
                seen.Add(entry.Index);
                if (entry.Index == 10)
                {
                    await store.SaveVoteAsync(new Vote(2, 1));
                }
            }
        });

        Assert.Equal(new Vote(2, 1), error.Actual);
        Assert.InRange(seen.Count, 11, 199);
    }

    [Fact]
    public async Task MultiGroup_ListsOnlyGroupsWithStateInAscendingOrder()
    {
        var store = new InMemoryMultiGroupLogStore();
        _ = store.ForGroup(1);
        await store.ForGroup(9).SaveVoteAsync(new Vote(1, 0));
        await store.ForGroup(4).AppendAndFlushAsync(Blanks(0, 0));
        await store.ForGroup(ulong.MaxValue).SaveCommittedAsync(new LogId(1, 0, 0));

        Assert.Equal([4UL, 9, ulong.MaxValue], await store.ListGroupsAsync());
    }

    [Fact]
    public async Task MultiGroup_ABatchAppliesEveryOperationInOrder()
    {
        var store = new InMemoryMultiGroupLogStore();
        var batch = new LogWriteBatch();
        batch.Append(1, Blanks(0, 4));
        batch.Append(2, Blanks(0, 1));
        batch.TruncateAfter(1, new LogId(1, 0, 2));
        batch.Append(1, Blanks(3, 3));
        batch.Purge(2, new LogId(1, 0, 0));
        batch.SaveVote(2, new Vote(3, 1));

        await store.WriteAsync(batch);

        Assert.Equal(new LogState(null, new LogId(1, 0, 3)), await store.ForGroup(1).GetLogStateAsync());
        Assert.Equal(new LogState(new LogId(1, 0, 0), new LogId(1, 0, 1)), await store.ForGroup(2).GetLogStateAsync());
        Assert.Equal(new Vote(3, 1), await store.ForGroup(2).ReadVoteAsync());
    }

    [Fact]
    public async Task MultiGroup_AClosedStoreRefusesNewViewsAndCalls()
    {
        var store = new InMemoryMultiGroupLogStore();
        var view = store.ForGroup(1);
        await store.DisposeAsync();

        Assert.Throws<StoreClosedException>(() => store.ForGroup(1));
        await Assert.ThrowsAsync<StoreClosedException>(async () => await view.ReadVoteAsync());
        await Assert.ThrowsAsync<StoreClosedException>(async () => await store.ListGroupsAsync());
        await Assert.ThrowsAsync<StoreClosedException>(async () => await store.WriteAsync(new LogWriteBatch()));
    }
}
