using System.Runtime.CompilerServices;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Testing.Storage;
using RaftToolkit.Testing.Storage.Conformance;
using Xunit;
using Xunit.Sdk;

namespace RaftToolkit.Testing.Tests.Storage;

/// <summary>
/// The conformance suite fails stores that break the storage contract in ways its cases are
/// meant to catch: each broken store below differs from the in-memory store in one way only,
/// and the case that covers that part of the contract fails on it, while the same wrapper,
/// unbroken, passes.
/// </summary>
public sealed class ConformanceSuiteCatchesBrokenStoresTests
{
    public enum Breakage
    {
        None,
        TruncatingToThePurgedIdDoesNothing,
        LeaderBoundedStreamIgnoresWhetherTheVoteIsCommitted,
        FlushCallbackFiresTwice,
        EmptyAppendIsNeverReported,
        TwoEntryAppendIsReportedLate,
        AppendIsReportedBeforeItIsApplied,
        EntriesStreamSplicesChunks,
    }

    [Theory]
    [InlineData(Breakage.TruncatingToThePurgedIdDoesNothing, nameof(StorageConformanceSuite.PurgeUpTo5))]
    [InlineData(Breakage.LeaderBoundedStreamIgnoresWhetherTheVoteIsCommitted, nameof(StorageConformanceSuite.LeaderBoundedStream))]
    [InlineData(Breakage.FlushCallbackFiresTwice, nameof(StorageConformanceSuite.GetLogEntries))]
    [InlineData(Breakage.EmptyAppendIsNeverReported, nameof(StorageConformanceSuite.AppendToLog))]
    [InlineData(Breakage.TwoEntryAppendIsReportedLate, nameof(StorageConformanceSuite.FlushOrder))]
    [InlineData(Breakage.AppendIsReportedBeforeItIsApplied, nameof(StorageConformanceSuite.FlushedIsReadable))]
    [InlineData(Breakage.EntriesStreamSplicesChunks, nameof(StorageConformanceSuite.StreamAcrossTruncation))]
    [InlineData(Breakage.EntriesStreamSplicesChunks, nameof(StorageConformanceSuite.StreamAcrossPurge))]
    public async Task TheCaseCoveringABreakageFailsOnItAndPassesWithoutIt(Breakage breakage, string caseName)
    {
        await Assert.ThrowsAnyAsync<XunitException>(() => Run(breakage, caseName));
        await Run(Breakage.None, caseName);
    }

    private static Task Run(Breakage breakage, string caseName)
    {
        var suite = new SuiteOverBrokenStore(breakage);
        var method = typeof(StorageConformanceSuite).GetMethod(caseName) ?? throw new ArgumentException($"No case named {caseName}.", nameof(caseName));
        return (Task)method.Invoke(suite, null)!;
    }

    /// <summary>Not a test class of its own (xunit runs public classes only): the cases are run one by one above.</summary>
    private sealed class SuiteOverBrokenStore(Breakage breakage) : StorageConformanceSuite
    {
        /// <summary>Short: a store that never reports a write hangs its case until this passes.</summary>
        protected override TimeSpan CaseTimeout => TimeSpan.FromSeconds(2);

        protected override IConformanceStoreFactory CreateFactory() => new Factory(breakage);
    }

    private sealed class Factory(Breakage breakage) : IConformanceStoreFactory
    {
        private readonly Dictionary<ulong, InMemoryLogStore> _storage = [];

        public ValueTask<IConformanceStore> OpenAsync(CancellationToken cancellationToken)
        {
            foreach (var (id, handle) in _storage.ToList())
            {
                _storage[id] = handle.Reopen();
            }

            return ValueTask.FromResult<IConformanceStore>(new Store(_storage, breakage));
        }
    }

    private sealed class Store(Dictionary<ulong, InMemoryLogStore> storage, Breakage breakage) : IConformanceStore
    {
        public IMultiGroupLogStore? MultiGroup => null;

        public IRaftLogStore Group(ulong groupId)
        {
            if (!storage.TryGetValue(groupId, out var store))
            {
                store = new InMemoryLogStore(groupId);
                storage.Add(groupId, store);
            }

            return new BrokenLogStore(store, breakage);
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var store in storage.Values)
            {
                await store.DisposeAsync();
            }
        }
    }

    /// <summary>The in-memory store, but for <paramref name="breakage"/>.</summary>
    private sealed class BrokenLogStore(InMemoryLogStore inner, Breakage breakage) : IRaftLogStore
    {
        public async ValueTask AppendAsync(ReadOnlyMemory<Entry> entries, IFlushCallback callback, CancellationToken cancellationToken = default)
        {
            if (entries.IsEmpty && breakage == Breakage.EmptyAppendIsNeverReported)
            {
                return;
            }

            if (entries.Length == 2 && breakage == Breakage.TwoEntryAppendIsReportedLate)
            {
                await inner.AppendAsync(entries, Unreported.Instance, cancellationToken);
                _ = Task.Run(async () =>
                {
                    await Task.Delay(50);
                    callback.OnFlushed(null);
                });
                return;
            }

            if (breakage == Breakage.AppendIsReportedBeforeItIsApplied)
            {
                callback.OnFlushed(null);
                await inner.AppendAsync(entries, Unreported.Instance, cancellationToken);
                return;
            }

            await inner.AppendAsync(entries, callback, cancellationToken);
            if (breakage == Breakage.FlushCallbackFiresTwice)
            {
                callback.OnFlushed(null);
            }
        }

        public async ValueTask TruncateAfterAsync(LogId? logId, CancellationToken cancellationToken = default)
        {
            if (breakage == Breakage.TruncatingToThePurgedIdDoesNothing && logId is { } id
                && (await inner.GetLogStateAsync(cancellationToken)).LastPurgedLogId is { } purged && purged.Index == id.Index)
            {
                return;
            }

            await inner.TruncateAfterAsync(logId, cancellationToken);
        }

        public IAsyncEnumerable<Entry> LeaderBoundedStreamAsync(LeaderId leader, ulong start, ulong end, CancellationToken cancellationToken = default) =>
            breakage == Breakage.LeaderBoundedStreamIgnoresWhetherTheVoteIsCommitted
                ? StreamCheckingOnlyTheLeader(leader, start, end, cancellationToken)
                : inner.LeaderBoundedStreamAsync(leader, start, end, cancellationToken);

        private async IAsyncEnumerable<Entry> StreamCheckingOnlyTheLeader(LeaderId leader, ulong start, ulong end, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var vote = await inner.ReadVoteAsync(cancellationToken);
            if (vote?.LeaderId != leader)
            {
                throw new LeaderChangedException(leader, vote);
            }

            await foreach (var entry in inner.EntriesStreamAsync(start, end, cancellationToken))
            {
                yield return entry;
            }
        }

        public IRaftLogReader GetReader() => this;

        public ValueTask<LogState> GetLogStateAsync(CancellationToken cancellationToken = default) => inner.GetLogStateAsync(cancellationToken);

        public ValueTask SaveVoteAsync(Vote vote, CancellationToken cancellationToken = default) => inner.SaveVoteAsync(vote, cancellationToken);

        public ValueTask SaveCommittedAsync(LogId? committed, CancellationToken cancellationToken = default) => inner.SaveCommittedAsync(committed, cancellationToken);

        public ValueTask<LogId?> ReadCommittedAsync(CancellationToken cancellationToken = default) => inner.ReadCommittedAsync(cancellationToken);

        public ValueTask PurgeAsync(LogId logId, CancellationToken cancellationToken = default) => inner.PurgeAsync(logId, cancellationToken);

        public ValueTask<IReadOnlyList<Entry>> TryGetLogEntriesAsync(ulong start, ulong end, CancellationToken cancellationToken = default) => inner.TryGetLogEntriesAsync(start, end, cancellationToken);

        public ValueTask<IReadOnlyList<Entry>> LimitedGetLogEntriesAsync(ulong start, ulong end, CancellationToken cancellationToken = default) => inner.LimitedGetLogEntriesAsync(start, end, cancellationToken);

        public ValueTask<LogId> GetLogIdAsync(ulong index, CancellationToken cancellationToken = default) => inner.GetLogIdAsync(index, cancellationToken);

        public ValueTask<Vote?> ReadVoteAsync(CancellationToken cancellationToken = default) => inner.ReadVoteAsync(cancellationToken);

        public IAsyncEnumerable<Entry> EntriesStreamAsync(ulong start, ulong end, CancellationToken cancellationToken = default) =>
            breakage == Breakage.EntriesStreamSplicesChunks
                ? StreamFromWhereTheLastChunkEnded(start, end, cancellationToken)
                : inner.EntriesStreamAsync(start, end, cancellationToken);

        /// <summary>Reads each chunk from the index after the last one streamed, without checking that entry is still there.</summary>
        private async IAsyncEnumerable<Entry> StreamFromWhereTheLastChunkEnded(ulong start, ulong end, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            ulong next = start;
            while (next < end)
            {
                var chunk = await inner.LimitedGetLogEntriesAsync(next, end, cancellationToken);
                if (chunk.Count == 0)
                {
                    yield break;
                }

                foreach (var entry in chunk)
                {
                    yield return entry;
                }

                next = chunk[^1].Index + 1;
            }
        }
    }

    /// <summary>Swallows the inner store's report, for a broken store that reports the write itself.</summary>
    private sealed class Unreported : IFlushCallback
    {
        public static readonly Unreported Instance = new();

        public void OnFlushed(Exception? error)
        {
        }
    }
}
