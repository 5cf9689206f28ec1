using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft.Log;
using Xunit;

namespace RaftToolkit.Core.Tests.Raft;

/// <summary>The bounded cache of recent entries serves the tail and forgets the oldest.</summary>
public sealed class RecentEntryCacheTests
{
    [Fact]
    public void KeepsOnlyTheMostRecentEntriesWithinCapacity()
    {
        var cache = new RecentEntryCache(4);
        cache.Append(TestNode.LogOf((1, 1), (1, 1), (1, 1), (1, 1), (1, 1), (1, 1)));
        Assert.Equal(4, cache.Count);
        Assert.Equal(new LogId(1, 1, 5), cache.LastLogId);
        Assert.False(cache.TryGetEntry(1, out _));
        Assert.True(cache.TryGetEntry(2, out var entry));
        Assert.Equal(2UL, entry.Index);
    }

    [Fact]
    public void EvictedEntriesAreReadFromTheFallback()
    {
        var full = TestNode.LogOf((1, 1), (1, 1), (1, 1), (1, 1));
        var cache = new RecentEntryCache(2, fallback: new InMemoryRaftLog(full));
        cache.Append(full);
        Assert.True(cache.TryGetLogId(0, out var id));
        Assert.Equal(full[0].LogId, id);
    }

    [Fact]
    public void TruncationForgetsTheSuffixAndNamesTheNewLastId()
    {
        var cache = new RecentEntryCache(8);
        cache.Append(TestNode.LogOf((1, 1), (1, 1), (2, 2)));
        cache.TruncateFrom(2);
        Assert.Equal(new LogId(1, 1, 1), cache.LastLogId);
        Assert.False(cache.TryGetLogId(2, out _));
        cache.Append([Entry.Blank(new LogId(3, 3, 2))]);
        Assert.True(cache.TryGetLogId(2, out var id));
        Assert.Equal(new LogId(3, 3, 2), id);
    }

    [Fact]
    public void AppendWithAHoleIsRejectedBeforeAnythingChanges()
    {
        var cache = new RecentEntryCache(8);
        cache.Append(TestNode.LogOf((1, 1)));
        Assert.Throws<ArgumentException>(() => cache.Append([Entry.Blank(new LogId(1, 1, 2))]));
        Assert.Equal(1, cache.Count);
    }
}
