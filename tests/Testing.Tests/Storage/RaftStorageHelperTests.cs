using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Testing.KeyValue;
using RaftToolkit.Testing.Storage;
using Xunit;

namespace RaftToolkit.Testing.Tests.Storage;

public sealed class RaftStorageHelperTests
{
    private static LogId Id(ulong term, ulong index) => new(term, 0, index);

    private static Entry[] Blanks(ulong term, ulong from, ulong to)
    {
        var entries = new Entry[to - from + 1];
        for (ulong i = from; i <= to; i++)
        {
            entries[i - from] = Entry.Blank(Id(term, i));
        }

        return entries;
    }

    private static ApplyItem<KvResponse>[] Items(params Entry[] entries) => entries.Select(e => new ApplyItem<KvResponse>(e, null)).ToArray();

    [Fact]
    public async Task LastMembershipInLog_ScansBackOverSeveralStepsAndStopsAtSinceIndex()
    {
        var log = new InMemoryLogStore();
        var entries = Blanks(1, 0, 299);
        entries[10] = Entry.ForMembership(Id(1, 10), Membership.FromVoters(1));
        entries[150] = Entry.ForMembership(Id(1, 150), Membership.FromVoters(2));
        await log.AppendAndFlushAsync(entries);

        var fromStart = await RaftStorageHelper.LastMembershipInLogAsync(log, 0);
        var afterFirst = await RaftStorageHelper.LastMembershipInLogAsync(log, 11);

        Assert.Equal([Id(1, 10), Id(1, 150)], fromStart.Select(m => m.LogId!.Value));
        Assert.Equal([Id(1, 150)], afterFirst.Select(m => m.LogId!.Value));
    }

    [Fact]
    public async Task LastMembershipInLog_IgnoresPurgedEntries()
    {
        var log = new InMemoryLogStore();
        await log.AppendAndFlushAsync(Blanks(1, 0, 0).Append(Entry.ForMembership(Id(1, 1), Membership.FromVoters(1))).Append(Entry.Blank(Id(1, 2))).ToArray());
        await log.PurgeAsync(Id(1, 1));

        Assert.Empty(await RaftStorageHelper.LastMembershipInLogAsync(log, 0));
    }

    [Fact]
    public async Task InitialState_RaisesACommittedIdBehindTheAppliedIdToIt()
    {
        var log = new InMemoryLogStore();
        var sm = new InMemoryStateMachine();
        await log.AppendAndFlushAsync(Blanks(1, 0, 4));
        await log.SaveCommittedAsync(Id(1, 1));
        await sm.ApplyAsync(Items(Blanks(1, 0, 3)));

        var state = await RaftStorageHelper.GetInitialStateAsync(log, sm);

        Assert.Equal(Id(1, 3), state.Committed);
        Assert.Equal(Id(1, 3), state.LastApplied);
    }

    [Fact]
    public async Task InitialState_ReappliesCommittedEntriesInChunksAndInOrder()
    {
        var log = new InMemoryLogStore();
        var sm = new InMemoryStateMachine();
        int count = (RaftStorageHelper.ReapplyChunk * 2) + 10;
        var entries = new Entry[count];
        for (int i = 0; i < count; i++)
        {
            entries[i] = Entry.Normal(Id(1, (ulong)i), KvTypeConfig.Instance.EncodeData(KvCommand.Set("k", i.ToString())));
        }

        await log.AppendAndFlushAsync(entries);
        await log.SaveCommittedAsync(Id(1, (ulong)count - 2));

        var state = await RaftStorageHelper.GetInitialStateAsync(log, sm);

        Assert.Equal(Id(1, (ulong)count - 2), state.LastApplied);
        Assert.True(sm.TryGetValue("k", out var value));
        Assert.Equal((count - 2).ToString(), value);
    }

    [Fact]
    public async Task InitialState_FailsWhenCommittedEntriesToReapplyAreMissing()
    {
        var log = new InMemoryLogStore();
        var sm = new InMemoryStateMachine();
        await log.AppendAndFlushAsync(Blanks(1, 0, 5));
        await sm.ApplyAsync(Items(Blanks(1, 0, 1)));
        await log.PurgeAsync(Id(1, 3));
        await log.SaveCommittedAsync(Id(1, 5));

        var error = await Assert.ThrowsAsync<StorageInconsistencyException>(async () => await RaftStorageHelper.GetInitialStateAsync(log, sm));

        Assert.Contains("re-apply", error.Message);
        Assert.Equal(Id(1, 1), (await sm.GetAppliedStateAsync()).LastApplied);
    }

    [Fact]
    public async Task InitialState_RebuildsTheSnapshotWhenEntriesArePurgedAndNoneExists()
    {
        var log = new InMemoryLogStore();
        var sm = new InMemoryStateMachine();
        await log.AppendAndFlushAsync(Blanks(1, 0, 5));
        await sm.ApplyAsync(Items(Blanks(1, 0, 3)));
        await log.PurgeAsync(Id(1, 2));

        var state = await RaftStorageHelper.GetInitialStateAsync(log, sm);

        Assert.NotNull(state.Snapshot);
        Assert.Equal(Id(1, 3), state.Snapshot!.LastLogId);
        Assert.NotNull(await sm.GetCurrentSnapshotAsync());
    }

    [Fact]
    public async Task InitialState_DetectsAConflictAtThePurgedIndex()
    {
        var log = new InMemoryLogStore();
        var sm = new InMemoryStateMachine();
        await log.AppendAndFlushAsync(Blanks(1, 0, 5));
        await log.PurgeAsync(Id(1, 2));
        await sm.ApplyAsync(Items(Entry.Blank(Id(2, 2))));

        var error = await Assert.ThrowsAsync<StorageInconsistencyException>(async () => await RaftStorageHelper.GetInitialStateAsync(log, sm));

        Assert.Contains("inverted log order", error.Message);
    }

    [Fact]
    public async Task KeyLogIds_MatchALinearScanWithFewLookups()
    {
        var log = new InMemoryLogStore();
        var entries = new Entry[10_000];
        var expected = new List<LogId>();
        LeaderId? previous = null;
        for (int i = 0; i < entries.Length; i++)
        {
            // Leaders change at irregular points, including runs of length one.
            ulong term = (ulong)(i < 3 ? 0 : i < 4 ? 1 : i < 5000 ? 2 : i < 5001 ? 3 : i < 9999 ? 4 : 5);
            var id = new LogId(term, term % 2, (ulong)i);
            entries[i] = Entry.Blank(id);
            if (previous != id.LeaderId)
            {
                expected.Add(id);
                previous = id.LeaderId;
            }
        }

        await log.AppendAndFlushAsync(entries);
        var counting = new CountingReader(log);

        var keys = await RaftStorageHelper.LoadKeyLogIdsAsync(counting, null, entries[^1].LogId);

        Assert.Equal(expected, keys);
        Assert.True(counting.Lookups < 200, $"Bisection should need few id lookups for 6 leaders over 10,000 entries; it made {counting.Lookups}.");
    }

    [Fact]
    public async Task KeyLogIds_EndWithTheLastLogIdWhenItIsNotALeaderStart()
    {
        var log = new InMemoryLogStore();
        await log.AppendAndFlushAsync(Blanks(1, 0, 9));

        var keys = await RaftStorageHelper.LoadKeyLogIdsAsync(log, null, Id(1, 9));

        Assert.Equal([Id(1, 0), Id(1, 9)], keys);
    }

    [Fact]
    public async Task Helpers_RejectNullArguments()
    {
        var log = new InMemoryLogStore();
        await Assert.ThrowsAsync<ArgumentNullException>(async () => await RaftStorageHelper.LastMembershipInLogAsync(null!, 0));
        await Assert.ThrowsAsync<ArgumentNullException>(async () => await RaftStorageHelper.GetMembershipAsync<KvResponse, KvSnapshot>(log, null!));
        await Assert.ThrowsAsync<ArgumentNullException>(async () => await RaftStorageHelper.GetInitialStateAsync(null!, new InMemoryStateMachine()));
    }

    private sealed class CountingReader(IRaftLogReader inner) : IRaftLogReader
    {
        public int Lookups { get; private set; }

        public ValueTask<IReadOnlyList<Entry>> TryGetLogEntriesAsync(ulong start, ulong end, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("Key log ids must be found by id lookups, not by reading ranges.");

        public ValueTask<IReadOnlyList<Entry>> LimitedGetLogEntriesAsync(ulong start, ulong end, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("Key log ids must be found by id lookups, not by reading ranges.");

        public ValueTask<LogId> GetLogIdAsync(ulong index, CancellationToken cancellationToken = default)
        {
            Lookups++;
            return inner.GetLogIdAsync(index, cancellationToken);
        }

        public ValueTask<Vote?> ReadVoteAsync(CancellationToken cancellationToken = default) => inner.ReadVoteAsync(cancellationToken);

        public IAsyncEnumerable<Entry> EntriesStreamAsync(ulong start, ulong end, CancellationToken cancellationToken = default) =>
            inner.EntriesStreamAsync(start, end, cancellationToken);

        public IAsyncEnumerable<Entry> LeaderBoundedStreamAsync(LeaderId leader, ulong start, ulong end, CancellationToken cancellationToken = default) =>
            inner.LeaderBoundedStreamAsync(leader, start, end, cancellationToken);
    }
}
