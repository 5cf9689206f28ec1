using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Testing.Storage;
using Xunit;

namespace RaftToolkit.Core.Tests.Storage;

/// <summary>Loading a log's key ids at start-up tells a store's fault from a stack overflow.</summary>
public sealed class KeyLogIdsTests
{
    /// <summary>
    /// The key ids are found by bisection over the store's ids: a store that answers for another
    /// index than the one asked (one that purged the id but kept the entries, say) is named as
    /// inconsistent, rather than sending the bisection round in circles.
    /// </summary>
    [Fact]
    public async Task AStoreAnsweringForAnotherIndexIsReportedInconsistent()
    {
        var store = new InMemoryLogStore();
        var entries = Enumerable.Range(0, 8).Select(i => Entry.Blank(new LogId((ulong)(1 + (i / 3)), 0, (ulong)i))).ToArray();
        await store.AppendAndFlushAsync(entries);
        var offByOne = new OffByOneReader(store.GetReader());

        var error = await Assert.ThrowsAsync<StorageInconsistencyException>(
            async () => await RaftStorageHelper.LoadKeyLogIdsAsync(offByOne, null, entries[^1].LogId));
        Assert.Contains("Asked for the log id at index", error.Message, StringComparison.Ordinal);

        // The same log, read as it is, gives each leader's first id and the last.
        var keys = await RaftStorageHelper.LoadKeyLogIdsAsync(store.GetReader(), null, entries[^1].LogId);
        Assert.Equal([entries[0].LogId, entries[3].LogId, entries[6].LogId, entries[7].LogId], keys);
    }

    /// <summary>Answers every id one index late: what a store shows whose purge moved its first index but kept its entries.</summary>
    private sealed class OffByOneReader(IRaftLogReader inner) : IRaftLogReader
    {
        public async ValueTask<LogId> GetLogIdAsync(ulong index, CancellationToken cancellationToken = default) =>
            await inner.GetLogIdAsync(index + 1, cancellationToken);

        public ValueTask<IReadOnlyList<Entry>> TryGetLogEntriesAsync(ulong start, ulong end, CancellationToken cancellationToken = default) =>
            inner.TryGetLogEntriesAsync(start, end, cancellationToken);

        public ValueTask<IReadOnlyList<Entry>> LimitedGetLogEntriesAsync(ulong start, ulong end, CancellationToken cancellationToken = default) =>
            inner.LimitedGetLogEntriesAsync(start, end, cancellationToken);

        public ValueTask<Vote?> ReadVoteAsync(CancellationToken cancellationToken = default) => inner.ReadVoteAsync(cancellationToken);

        public IAsyncEnumerable<Entry> EntriesStreamAsync(ulong start, ulong end, CancellationToken cancellationToken = default) =>
            inner.EntriesStreamAsync(start, end, cancellationToken);

        public IAsyncEnumerable<Entry> LeaderBoundedStreamAsync(LeaderId leader, ulong start, ulong end, CancellationToken cancellationToken = default) =>
            inner.LeaderBoundedStreamAsync(leader, start, end, cancellationToken);
    }
}
