using RaftToolkit.Core.Host;
using RaftToolkit.Core.Model;
using Xunit;

namespace RaftToolkit.Core.Tests.Host;

public sealed class GroupLogCacheTests
{
    private static Entry[] Entries(ulong term, ulong from, int count) =>
        Enumerable.Range(0, count).Select(i => Entry.Normal(new LogId(term, 1, from + (ulong)i), new byte[] { (byte)i })).ToArray();

    private static GroupLogCache Empty() => new(null, null, [], []);

    [Fact]
    public void HostLogCache_KnowsTheIdOfEveryWrittenIndexFromLeaderRuns()
    {
        var cache = Empty();
        cache.OnWritten(false, null, null, Entries(1, 0, 5));
        cache.OnWritten(false, null, null, Entries(3, 5, 5));

        Assert.True(cache.TryGetLogId(4, out var fourth));
        Assert.Equal(new LogId(1, 1, 4), fourth);
        Assert.True(cache.TryGetLogId(9, out var ninth));
        Assert.Equal(new LogId(3, 1, 9), ninth);
        Assert.False(cache.TryGetLogId(10, out _));
        Assert.Equal(new LogId(3, 1, 9), cache.LastLogId);
    }

    [Fact]
    public void HostLogCache_TruncationForgetsEntriesAndIdsAfterTheKeptOne()
    {
        var cache = Empty();
        cache.OnWritten(false, null, null, Entries(1, 0, 5));
        cache.OnWritten(false, null, null, Entries(2, 5, 5));

        cache.OnWritten(true, new LogId(1, 1, 3), null, Entries(4, 4, 1));

        Assert.Equal(new LogId(4, 1, 4), cache.LastLogId);
        Assert.True(cache.TryGetLogId(3, out var kept));
        Assert.Equal(new LogId(1, 1, 3), kept);
        Assert.True(cache.TryGetEntry(4, out var replaced));
        Assert.Equal(new LogId(4, 1, 4), replaced.LogId);
        Assert.False(cache.TryGetLogId(5, out _));
    }

    [Fact]
    public void HostLogCache_TrimKeepsUnappliedAndRetainedEntriesAndRecordsAMissBelowThem()
    {
        var cache = Empty();
        cache.OnWritten(false, null, null, Entries(1, 0, 100));

        cache.Trim(appliedNext: 90, retain: 10);

        Assert.Equal(80UL, cache.TailFirst);
        Assert.True(cache.TryGetEntry(80, out _));
        Assert.True(cache.TryGetLogId(10, out _), "ids stay known after their entries leave memory");
        Assert.False(cache.HasMiss);
        Assert.False(cache.TryGetEntry(10, out _));
        Assert.True(cache.HasMiss);
        Assert.True(cache.TakeMiss(32, out ulong from, out ulong end));
        Assert.Equal((10UL, 42UL), (from, end));
        Assert.False(cache.HasMiss);
    }

    [Fact]
    public void HostLogCache_BackfillAnswersTheMissedRange()
    {
        var cache = Empty();
        var all = Entries(1, 0, 100);
        cache.OnWritten(false, null, null, all);
        cache.Trim(appliedNext: 100, retain: 0);
        Assert.False(cache.TryGetEntry(20, out _));
        Assert.True(cache.TakeMiss(10, out ulong from, out ulong end));

        cache.SetBackfill(all[(int)from..(int)end]);

        Assert.True(cache.TryGetEntry(25, out var entry));
        Assert.Equal(25UL, entry.Index);
        Assert.False(cache.TryGetEntry(30, out _));
    }

    [Fact]
    public void HostLogCache_StartsFromKeyLogIdsAndTheLoadedTail()
    {
        var tail = Entries(2, 8, 2);
        var cache = new GroupLogCache(null, new LogId(2, 1, 9), [new LogId(1, 1, 0), new LogId(2, 1, 6), new LogId(2, 1, 9)], tail);

        Assert.True(cache.TryGetLogId(5, out var five));
        Assert.Equal(new LogId(1, 1, 5), five);
        Assert.True(cache.TryGetLogId(6, out var six));
        Assert.Equal(new LogId(2, 1, 6), six);
        Assert.True(cache.TryGetEntry(9, out _));
        Assert.False(cache.TryGetEntry(7, out _));
        Assert.True(cache.HasMiss);
    }

    [Fact]
    public void HostLogCache_NothingBeforeThePurgedIdIsLoadable()
    {
        var cache = new GroupLogCache(new LogId(1, 1, 9), new LogId(1, 1, 9), [new LogId(1, 1, 9)], []);

        Assert.True(cache.TryGetLogId(9, out _), "the purged id answers as a previous id");
        Assert.False(cache.TryGetLogId(8, out _));
        Assert.False(cache.TryGetEntry(5, out _));
        Assert.False(cache.HasMiss);
    }

    [Fact]
    public void HostLogCache_ReleaseDropsEveryAppliedEntryButKeepsTheUnappliedOnesAndTheIds()
    {
        var cache = Empty();
        cache.OnWritten(false, null, null, Entries(1, 0, 10));

        cache.Release(appliedNext: 8);

        Assert.Equal(2, cache.CachedEntries);
        Assert.True(cache.TryGetEntry(8, out var unapplied));
        Assert.Equal(8UL, unapplied.Index);
        Assert.True(cache.TryGetLogId(3, out var id));
        Assert.Equal(new LogId(1, 1, 3), id);
        Assert.False(cache.TryGetEntry(7, out _));
        Assert.True(cache.HasMiss, "a released entry is loaded from the store like any older one");
    }

    [Fact]
    public void HostLogCache_ReleasedCacheTakesNewWritesAfterTheLastEntry()
    {
        var cache = Empty();
        cache.OnWritten(false, null, null, Entries(1, 0, 3));
        cache.Release(appliedNext: 3);
        Assert.Equal(0, cache.CachedEntries);

        cache.OnWritten(false, null, null, Entries(2, 3, 2));

        Assert.True(cache.TryGetEntry(4, out var entry));
        Assert.Equal(new LogId(2, 1, 4), entry.LogId);
        Assert.Equal(3UL, cache.TailFirst);
    }

    [Fact]
    public void HostLogCache_PurgeKeepsTheRunsAfterThePurgedId()
    {
        var cache = Empty();
        cache.OnWritten(false, null, null, Entries(1, 0, 5));
        cache.OnWritten(false, null, null, Entries(2, 5, 5));
        cache.OnWritten(false, null, null, Entries(3, 10, 5));

        cache.Purge(new LogId(2, 1, 6));

        Assert.Equal(6UL, cache.FirstKnownIndex);
        Assert.False(cache.TryGetLogId(5, out _));
        Assert.True(cache.TryGetLogId(6, out var purged));
        Assert.Equal(new LogId(2, 1, 6), purged);
        Assert.True(cache.TryGetLogId(9, out var nine));
        Assert.Equal(new LogId(2, 1, 9), nine);
        Assert.True(cache.TryGetLogId(12, out var twelve));
        Assert.Equal(new LogId(3, 1, 12), twelve);
    }
}
