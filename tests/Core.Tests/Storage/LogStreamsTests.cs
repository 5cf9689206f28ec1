using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using Xunit;

namespace RaftToolkit.Core.Tests.Storage;

public sealed class LogStreamsTests
{
    /// <summary>A log the test can change between chunks; reads at most three entries a chunk.</summary>
    private sealed class ChunkedLog(IEnumerable<Entry> entries)
    {
        public List<Entry> Entries { get; } = [.. entries];

        public List<ulong> ChunkStarts { get; } = [];

        public ValueTask<IReadOnlyList<Entry>> Read(ulong from, ulong end, CancellationToken cancellationToken)
        {
            ChunkStarts.Add(from);
            return ValueTask.FromResult<IReadOnlyList<Entry>>([.. Entries.Where(e => e.Index >= from && e.Index < end).Take(3)]);
        }
    }

    private static Entry[] Blanks(ulong term, ulong first, ulong count) =>
        [.. Enumerable.Range(0, (int)count).Select(i => Entry.Blank(new LogId(term, 0, first + (ulong)i)))];

    [Fact]
    public async Task StreamsTheRangeChunkByChunk_EachChunkAfterTheFirstFromTheLastEntryStreamed()
    {
        var log = new ChunkedLog(Blanks(1, 0, 10));
        var streamed = new List<ulong>();
        await foreach (var entry in LogStreams.ContiguousAsync(2, 9, log.Read))
        {
            streamed.Add(entry.Index);
        }

        Assert.Equal([2UL, 3, 4, 5, 6, 7, 8], streamed);
        Assert.Equal([2UL, 4, 6], log.ChunkStarts);
    }

    [Fact]
    public async Task StartsAtTheFirstEntryThatExists()
    {
        var log = new ChunkedLog(Blanks(1, 5, 3));
        var streamed = new List<ulong>();
        await foreach (var entry in LogStreams.ContiguousAsync(0, 100, log.Read))
        {
            streamed.Add(entry.Index);
        }

        Assert.Equal([5UL, 6, 7], streamed);
    }

    [Theory]
    [InlineData("purge")]
    [InlineData("truncate and rewrite")]
    public async Task EndsWhereTheLogNoLongerHoldsTheLastEntryStreamed(string change)
    {
        var log = new ChunkedLog(Blanks(1, 0, 10));
        var streamed = new List<LogId>();
        await foreach (var entry in LogStreams.ContiguousAsync(0, 10, log.Read))
        {
            streamed.Add(entry.LogId);
            if (streamed.Count == 1)
            {
                log.Entries.RemoveRange(0, change == "purge" ? 6 : 10);
                if (change != "purge")
                {
                    log.Entries.AddRange(Blanks(1, 0, 1));
                    log.Entries.AddRange(Blanks(2, 1, 9));
                }
            }
        }

        // The first chunk (0, 1, 2) was read before the change; the next, from 2, finds it gone or rewritten.
        Assert.Equal(Blanks(1, 0, 3).Select(e => e.LogId), streamed);
    }
}
