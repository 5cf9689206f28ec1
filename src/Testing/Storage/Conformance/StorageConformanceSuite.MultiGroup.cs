using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using Xunit;

namespace RaftToolkit.Testing.Storage.Conformance;

/// <content>Cases 46–49: many groups in one store, reopening, concurrency and bad calls.</content>
public abstract partial class StorageConformanceSuite<TResponse, TSnapshot>
{
    /// <summary>46. Every write, truncate and purge of one group leaves every other group's entries, vote, committed and purged marks byte-for-byte unchanged.</summary>
    [Fact]
    public Task GroupIsolation() => RunCaseAsync(async c =>
    {
        var others = NeighbourGroups(IsolationGroupCount);
        var all = new List<ulong>(others) { GroupUnderTest };
        await PopulateAsync(c.Store, all).ConfigureAwait(false);

        var before = new List<GroupImage>(others.Count);
        foreach (ulong id in others)
        {
            before.Add(await GroupImage.CaptureAsync(id, c.Store.Group(id)).ConfigureAwait(false));
        }

        async Task ExpectOthersUnchanged(string when)
        {
            for (int i = 0; i < others.Count; i++)
            {
                before[i].ExpectUnchanged(await GroupImage.CaptureAsync(others[i], c.Store.Group(others[i])).ConfigureAwait(false), when);
            }
        }

        var log = c.Log;
        var state = await log.GetLogStateAsync().ConfigureAwait(false);
        ulong next = state.LastLogId.NextIndex();
        await AppendAsync(log, Entry.Normal(Id(5, next), new byte[] { 1, 2, 3 }), Blank(5, next + 1)).ConfigureAwait(false);
        await log.SaveVoteAsync(new Vote(9, 1).Commit()).ConfigureAwait(false);
        await log.SaveCommittedAsync(Id(5, next)).ConfigureAwait(false);
        await ExpectOthersUnchanged($"when group {GroupUnderTest} appended, saved a vote and a committed id").ConfigureAwait(false);

        await log.TruncateAfterAsync(Id(5, next)).ConfigureAwait(false);
        await ExpectOthersUnchanged($"when group {GroupUnderTest} truncated after {Id(5, next)}").ConfigureAwait(false);

        await log.PurgeAsync(Id(5, next)).ConfigureAwait(false);
        await ExpectOthersUnchanged($"when group {GroupUnderTest} purged up to {Id(5, next)}").ConfigureAwait(false);

        // Beyond the end by far: a store that deletes a key range must stop at the group's own keys.
        await log.PurgeAsync(Id(6, 1_000_000)).ConfigureAwait(false);
        await ExpectOthersUnchanged($"when group {GroupUnderTest} purged past its end to {Id(6, 1_000_000)}").ConfigureAwait(false);

        await AppendAsync(log, Blank(6, 1_000_001), Blank(6, 1_000_002)).ConfigureAwait(false);
        await log.TruncateAfterAsync(Id(6, 1_000_000)).ConfigureAwait(false);
        await ExpectOthersUnchanged($"when group {GroupUnderTest} appended and truncated back to its purged id").ConfigureAwait(false);

        if (c.Store.MultiGroup is { } multi)
        {
            var batch = new LogWriteBatch();
            batch.Append(GroupUnderTest, new[] { Blank(7, 1_000_001), Blank(7, 1_000_002), Blank(7, 1_000_003) });
            batch.SaveVote(GroupUnderTest, new Vote(10, 0));
            batch.TruncateAfter(GroupUnderTest, Id(7, 1_000_002));
            batch.Purge(GroupUnderTest, Id(7, 1_000_001));
            batch.SaveCommitted(GroupUnderTest, Id(7, 1_000_002));
            await multi.WriteAsync(batch).ConfigureAwait(false);
            Expect(new LogState(Id(7, 1_000_001), Id(7, 1_000_002)), await log.GetLogStateAsync().ConfigureAwait(false), $"group {GroupUnderTest}'s log state after a batch of its own writes");
            await ExpectOthersUnchanged($"when a batch wrote only group {GroupUnderTest}").ConfigureAwait(false);
        }
    });

    /// <summary>47. Close and reopen: log state, vote, committed, purged and entries are exactly as before, for every group.</summary>
    [Fact]
    public Task ReopenKeepsEverything() => RunCaseAsync(async c =>
    {
        var groups = new List<ulong> { GroupUnderTest, GroupUnderTest + 1, 3, ulong.MaxValue };
        var log = c.Log;
        await Feed10Async(log).ConfigureAwait(false);
        await AppendAsync(log, Entry.Normal(Id(2, 11), new byte[] { 42, 43 }), MembershipEntry(2, 12, 1, 2, 3)).ConfigureAwait(false);
        await log.PurgeAsync(Id(1, 4)).ConfigureAwait(false);
        await log.SaveCommittedAsync(Id(2, 11)).ConfigureAwait(false);
        await log.SaveVoteAsync(new Vote(2, 0).Commit()).ConfigureAwait(false);

        var second = c.Store.Group(GroupUnderTest + 1);
        await AppendAsync(second, Blank(0, 0), Blank(1, 1), Blank(1, 2)).ConfigureAwait(false);
        await second.TruncateAfterAsync(Id(1, 1)).ConfigureAwait(false);

        var third = c.Store.Group(3);
        await third.SaveVoteAsync(new Vote(4, 2)).ConfigureAwait(false);

        var last = c.Store.Group(ulong.MaxValue);
        await AppendAsync(last, Blank(0, 0)).ConfigureAwait(false);
        await last.PurgeAsync(Id(3, 30)).ConfigureAwait(false);

        var before = new List<GroupImage>();
        foreach (ulong id in groups)
        {
            before.Add(await GroupImage.CaptureAsync(id, c.Store.Group(id)).ConfigureAwait(false));
        }

        await c.ReopenAsync().ConfigureAwait(false);
        for (int i = 0; i < groups.Count; i++)
        {
            before[i].ExpectUnchanged(await GroupImage.CaptureAsync(groups[i], c.Store.Group(groups[i])).ConfigureAwait(false), "across a close and reopen");
        }

        if (c.Store.MultiGroup is { } multi)
        {
            var listed = await multi.ListGroupsAsync().ConfigureAwait(false);
            foreach (ulong id in groups)
            {
                Expect(listed.Contains(id), $"Group {id} is listed after reopening; listed: [{string.Join(", ", listed)}].");
            }
        }

        // The reopened log goes on from where it was.
        await AppendAsync(c.Log, Blank(3, 13)).ConfigureAwait(false);
        Expect(new LogState(Id(1, 4), Id(3, 13)), await c.Log.GetLogStateAsync().ConfigureAwait(false), "log state after appending to the reopened log");
        await AppendAsync(c.Store.Group(ulong.MaxValue), Blank(3, 31)).ConfigureAwait(false);
        Expect(new LogState(Id(3, 30), Id(3, 31)), await c.Store.Group(ulong.MaxValue).GetLogStateAsync().ConfigureAwait(false), $"log state of group {ulong.MaxValue} after appending past its purged id");
    });

    /// <summary>48. Appends from many groups at once, each in order: every group's log is contiguous and complete.</summary>
    [Fact]
    public Task ConcurrentGroups() => RunCaseAsync(async c =>
    {
        int groupCount = ConcurrentGroupCount;
        int appends = ConcurrentAppendsPerGroup;
        var ids = NeighbourGroups(groupCount - 1);
        ids.Add(GroupUnderTest);
        var logs = new IRaftLogStore[ids.Count];
        for (int g = 0; g < ids.Count; g++)
        {
            logs[g] = c.Store.Group(ids[g]);
        }

        var writers = new Task<ulong>[ids.Count];
        for (int g = 0; g < ids.Count; g++)
        {
            var log = logs[g];
            ulong groupId = ids[g];
            writers[g] = Task.Run(async () =>
            {
                ulong next = 0;
                for (int a = 0; a < appends; a++)
                {
                    int size = 1 + ((a + (int)(groupId % 3)) % 3);
                    var batch = new Entry[size];
                    for (int k = 0; k < size; k++)
                    {
                        batch[k] = Entry.Normal(new LogId(1, 0, next), PayloadOf(groupId, next));
                        next++;
                    }

                    await log.AppendAndFlushAsync(batch.AsMemory(), c.Token).ConfigureAwait(false);
                }

                return next;
            });
        }

        var counts = await Task.WhenAll(writers).ConfigureAwait(false);
        for (int g = 0; g < ids.Count; g++)
        {
            var entries = await logs[g].TryGetLogEntriesAsync(0, ulong.MaxValue).ConfigureAwait(false);
            Expect((int)counts[g], entries.Count, $"entries of group {ids[g]} after {appends} concurrent appends");
            for (int i = 0; i < entries.Count; i++)
            {
                var expected = Entry.Normal(new LogId(1, 0, (ulong)i), PayloadOf(ids[g], (ulong)i));
                if (entries[i] != expected)
                {
                    Assert.Fail($"Group {ids[g]}: entry at position {i} is {entries[i]} (payload [{string.Join(",", entries[i].Data.ToArray())}]), expected {expected}: the log is not contiguous or holds another group's data.");
                }
            }

            Expect(new LogState(null, new LogId(1, 0, counts[g] - 1)), await logs[g].GetLogStateAsync().ConfigureAwait(false), $"log state of group {ids[g]}");
        }
    });

    /// <summary>49. A non-contiguous append, a purge or truncate with a bad id, an unknown group or a closed store: a typed error, and nothing is written; a removed group stays removed after reopening.</summary>
    [Fact]
    public Task BadCalls() => RunCaseAsync(async c =>
    {
        var log = c.Log;
        await Feed10Async(log).ConfigureAwait(false);
        await log.PurgeAsync(Id(1, 3)).ConfigureAwait(false);
        await log.SaveCommittedAsync(Id(1, 5)).ConfigureAwait(false);
        var image = await GroupImage.CaptureAsync(GroupUnderTest, log).ConfigureAwait(false);

        async Task ExpectRefused<TException>(Func<Task> call, string what)
            where TException : Exception
        {
            await ExpectFailureAsync<TException>(call, what).ConfigureAwait(false);
            image.ExpectUnchanged(await GroupImage.CaptureAsync(GroupUnderTest, log).ConfigureAwait(false), $"after {what} was refused");
        }

        await ExpectRefused<LogOrderException>(() => AppendAsync(log, Blank(1, 12)), "an append with a hole (index 12 after 10)").ConfigureAwait(false);
        await ExpectRefused<LogOrderException>(() => AppendAsync(log, Blank(1, 10)), "an append that overlaps the last entry (index 10 again)").ConfigureAwait(false);
        await ExpectRefused<LogOrderException>(() => AppendAsync(log, Blank(1, 11), Blank(1, 13)), "an append whose entries are not contiguous (11 then 13)").ConfigureAwait(false);
        await ExpectRefused<LogOrderException>(() => log.PurgeAsync(Id(1, 2)).AsTask(), "a purge before the last purged id (2 < 3)").ConfigureAwait(false);
        await ExpectRefused<LogOrderException>(() => log.TruncateAfterAsync(Id(1, 2)).AsTask(), "a truncate before the last purged id (after 2 < 3)").ConfigureAwait(false);
        await ExpectRefused<LogOrderException>(() => log.TruncateAfterAsync(null).AsTask(), "a truncate of every entry although entries are purged").ConfigureAwait(false);

        if (c.Store.MultiGroup is { } multi)
        {
            const ulong Neighbour = GroupUnderTest + 1;
            var neighbour = c.Store.Group(Neighbour);
            await AppendAsync(neighbour, Blank(0, 0)).ConfigureAwait(false);
            var neighbourImage = await GroupImage.CaptureAsync(Neighbour, neighbour).ConfigureAwait(false);

            var batch = new LogWriteBatch();
            batch.Append(Neighbour, new[] { Blank(1, 1) });
            batch.SaveVote(Neighbour, new Vote(5, 5));
            batch.Append(GroupUnderTest, new[] { Blank(1, 11) });
            batch.Append(GroupUnderTest, new[] { Blank(1, 13) });
            await ExpectRefused<LogOrderException>(() => multi.WriteAsync(batch).AsTask(), "a batch whose last operation leaves a hole").ConfigureAwait(false);
            neighbourImage.ExpectUnchanged(await GroupImage.CaptureAsync(Neighbour, neighbour).ConfigureAwait(false), "after a batch holding a bad operation of another group was refused");

            const ulong Removed = GroupUnderTest + 2;
            var removedView = c.Store.Group(Removed);
            await AppendAsync(removedView, Blank(0, 0), Blank(1, 1)).ConfigureAwait(false);
            await removedView.SaveVoteAsync(new Vote(1, 1)).ConfigureAwait(false);
            await multi.RemoveGroupAsync(Removed).ConfigureAwait(false);
            await ExpectFailureAsync<UnknownGroupException>(async () => await removedView.GetLogStateAsync().ConfigureAwait(false), "reading the log state through a view of a removed group").ConfigureAwait(false);
            await ExpectFailureAsync<UnknownGroupException>(() => AppendAsync(removedView, Blank(1, 2)), "appending through a view of a removed group").ConfigureAwait(false);
            await ExpectFailureAsync<UnknownGroupException>(async () => await removedView.SaveVoteAsync(new Vote(2, 1)).ConfigureAwait(false), "saving a vote through a view of a removed group").ConfigureAwait(false);
            await ExpectFailureAsync<UnknownGroupException>(async () => await removedView.PurgeAsync(Id(1, 1)).ConfigureAwait(false), "purging through a view of a removed group").ConfigureAwait(false);
            await ExpectFailureAsync<UnknownGroupException>(async () => await removedView.TryGetLogEntriesAsync(0, 10).ConfigureAwait(false), "reading entries through a view of a removed group").ConfigureAwait(false);

            var fresh = await GroupImage.CaptureAsync(Removed, c.Store.Group(Removed)).ConfigureAwait(false);
            var empty = await GroupImage.CaptureAsync(Removed, new InMemoryLogStore(Removed)).ConfigureAwait(false);
            empty.ExpectUnchanged(fresh, "(a removed group must come back empty: nothing written through its old view may survive)");
            var listed = await multi.ListGroupsAsync().ConfigureAwait(false);
            Expect(!listed.Contains(Removed), $"A removed group is not listed; listed: [{string.Join(", ", listed)}].");
        }

        await c.CloseAsync().ConfigureAwait(false);
        await ExpectFailureAsync<StoreClosedException>(() => AppendAsync(log, Blank(1, 11)), "an append to a closed store").ConfigureAwait(false);
        await ExpectFailureAsync<StoreClosedException>(async () => await log.SaveVoteAsync(new Vote(7, 0)).ConfigureAwait(false), "saving a vote to a closed store").ConfigureAwait(false);
        await ExpectFailureAsync<StoreClosedException>(async () => await log.PurgeAsync(Id(1, 5)).ConfigureAwait(false), "a purge of a closed store").ConfigureAwait(false);
        await ExpectFailureAsync<StoreClosedException>(async () => await log.TruncateAfterAsync(Id(1, 8)).ConfigureAwait(false), "a truncate of a closed store").ConfigureAwait(false);
        await ExpectFailureAsync<StoreClosedException>(async () => await log.GetLogStateAsync().ConfigureAwait(false), "reading the log state of a closed store").ConfigureAwait(false);

        await c.OpenAsync().ConfigureAwait(false);
        image.ExpectUnchanged(await GroupImage.CaptureAsync(GroupUnderTest, c.Log).ConfigureAwait(false), "after the calls on the closed store were refused (checked after reopening)");
        if (c.Store.MultiGroup is { } reopened)
        {
            // A removal is durable: the group does not come back with the store.
            const ulong Removed = GroupUnderTest + 2;
            var listed = await reopened.ListGroupsAsync().ConfigureAwait(false);
            Expect(!listed.Contains(Removed), $"A removed group is not listed after reopening; listed: [{string.Join(", ", listed)}].");
            var empty = await GroupImage.CaptureAsync(Removed, new InMemoryLogStore(Removed)).ConfigureAwait(false);
            empty.ExpectUnchanged(await GroupImage.CaptureAsync(Removed, c.Store.Group(Removed)).ConfigureAwait(false), "(a removed group is still empty after reopening)");
        }
    });

    /// <summary>
    /// Group ids to fill next to <see cref="GroupUnderTest"/>: its two neighbours and the largest
    /// id first (where key-range bugs show), then ascending ids.
    /// </summary>
    protected static List<ulong> NeighbourGroups(int count)
    {
        var ids = new List<ulong>(count);
        var seen = new HashSet<ulong> { GroupUnderTest };
        foreach (ulong id in new[] { GroupUnderTest - 1, GroupUnderTest + 1, ulong.MaxValue })
        {
            if (ids.Count < count && seen.Add(id))
            {
                ids.Add(id);
            }
        }

        for (ulong id = 0; ids.Count < count; id++)
        {
            if (seen.Add(id))
            {
                ids.Add(id);
            }
        }

        return ids;
    }

    /// <summary>
    /// Gives each group entries (some purged), a vote and a committed id: through one
    /// <see cref="IMultiGroupLogStore.WriteAsync"/> batch when the store has one (fast for
    /// thousands of groups), otherwise group by group.
    /// </summary>
    private static async Task PopulateAsync(IConformanceStore store, List<ulong> groups)
    {
        if (store.MultiGroup is { } multi)
        {
            var batch = new LogWriteBatch();
            foreach (ulong id in groups)
            {
                batch.Append(id, SeedEntries(id));
                batch.SaveVote(id, SeedVote(id));
                batch.SaveCommitted(id, Id(1, 2));
                batch.Purge(id, Id(0, 0));
            }

            await multi.WriteAsync(batch).ConfigureAwait(false);
        }
        else
        {
            foreach (ulong id in groups)
            {
                var log = store.Group(id);
                await AppendAsync(log, SeedEntries(id)).ConfigureAwait(false);
                await log.SaveVoteAsync(SeedVote(id)).ConfigureAwait(false);
                await log.SaveCommittedAsync(Id(1, 2)).ConfigureAwait(false);
                await log.PurgeAsync(Id(0, 0)).ConfigureAwait(false);
            }
        }
    }

    private static Entry[] SeedEntries(ulong groupId)
    {
        int count = 3 + (int)(groupId % 5);
        var entries = new Entry[count];
        entries[0] = Blank(0, 0);
        entries[1] = MembershipEntry(1, 1, 1, 2, 3);
        for (int i = 2; i < count; i++)
        {
            entries[i] = Entry.Normal(Id(1, (ulong)i), PayloadOf(groupId, (ulong)i));
        }

        return entries;
    }

    private static Vote SeedVote(ulong groupId) => new Vote(2, groupId % 3).Commit();

    /// <summary>A payload that names its group and index, so an entry in the wrong group or place shows.</summary>
    private static byte[] PayloadOf(ulong groupId, ulong index)
    {
        var payload = new byte[16];
        BitConverter.TryWriteBytes(payload.AsSpan(0, 8), groupId);
        BitConverter.TryWriteBytes(payload.AsSpan(8, 8), index);
        return payload;
    }
}
