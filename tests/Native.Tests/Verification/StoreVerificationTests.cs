using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native.Keys;
using RaftToolkit.Native.Records;
using RaftToolkit.Native.Tests.Records;
using RaftToolkit.Native.Verification;
using RocksDbSharp;
using Xunit.Abstractions;
using static RaftToolkit.Native.Tests.TestEntries;

namespace RaftToolkit.Native.Tests.Verification;

/// <summary>
/// <see cref="RocksDbLogStore.VerifyAsync(CancellationToken)"/> on real databases, damaged behind
/// the store's back the way <see cref="CorruptionTests"/> damages them. Every damage test damages
/// a second group too (in a flat store, a later entry of its one group), so each shows the
/// verification going on past the first problem.
/// </summary>
public sealed class StoreVerificationTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>The group each test damages first.</summary>
    private const ulong Group = 1;

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static ulong[] GroupsOf(LogKeySpace space) => space == LogKeySpace.Flat ? [Group] : [1, 2, 3];

    /// <summary>Where each damage test puts its second problem: a flipped byte in this entry's record.</summary>
    private static (ulong Group, ulong Index) SecondProblem(LogKeySpace space) => space == LogKeySpace.Flat ? (Group, 9UL) : (3UL, 2UL);

    private static RocksDbLogStoreOptions Options(LogKeySpace space) =>
        new() { KeySpace = space, FlatGroupId = Group, SyncMode = LogSyncMode.NoSync };

    private static void FlipMiddleByte(byte[] record) => record[record.Length / 2] ^= 0x10;

    /// <summary>
    /// Groups 1, 2 and 3 (a flat store: group 1 alone), each with entries 0..9: a membership
    /// entry of term 1, normal entries of term 1 to index 4 and of term 3 from index 5, a
    /// granted vote and a committed id.
    /// </summary>
    private async Task<RocksDbLogStore> OpenWithGroups(LogKeySpace space)
    {
        var store = RocksDbLogStore.Open(_dir.Sub(space.ToString()), Options(space));
        foreach (ulong group in GroupsOf(space))
        {
            var log = store.ForGroup(group);
            await log.AppendAsync(new[] { Entry.ForMembership(Id(1, 0), Membership.FromVoters(1, 2, 3)) }, IgnoringCallback.Instance);
            await log.AppendAsync(Range(1, 1, 4), IgnoringCallback.Instance);
            await log.AppendAsync(Range(3, 5, 5), IgnoringCallback.Instance);
            await log.SaveVoteAsync(new Vote(new LeaderId(3, 0), true));
            await log.SaveCommittedAsync(Id(3, 7));
        }

        return store;
    }

    /// <summary>Damages the store by <paramref name="damage"/>, then flips a byte where <see cref="SecondProblem"/> says, and verifies.</summary>
    private async Task<StoreVerification> VerifyDamaged(LogKeySpace space, Func<RocksDbLogStore, Task> damage)
    {
        await using var store = await OpenWithGroups(space);
        await damage(store);
        var (group, index) = SecondProblem(space);
        StoreDamage.Tamper(store, space, group, index, FlipMiddleByte);
        return await store.VerifyAsync();
    }

    /// <summary>Asserts the report lists <paramref name="first"/>, then the second problem, and nothing else.</summary>
    private static void AssertFound(StoreVerification report, LogKeySpace space, (StoreProblemKind Kind, ulong? Group, ulong? Index) first)
    {
        var (group, index) = SecondProblem(space);
        (StoreProblemKind, ulong?, ulong?)[] expected = [first, (StoreProblemKind.CorruptLogRecord, group, index)];
        Assert.Equal(expected, report.Problems.Select(p => (p.Kind, p.GroupId, p.Index)));
        Assert.Equal(2, report.ProblemCount);
        Assert.Equal(GroupsOf(space).Length, report.GroupsChecked);
        Assert.False(report.IsClean);
        Assert.Empty(report.Unlisted);
    }

    [Theory]
    [InlineData(LogKeySpace.Flat)]
    [InlineData(LogKeySpace.GroupPrefixed)]
    public async Task AnEmptyStoreVerifiesCleanHavingCheckedNothing(LogKeySpace space)
    {
        await using var store = RocksDbLogStore.Open(_dir.Sub("empty"), Options(space));

        var report = await store.VerifyAsync();

        Assert.True(report.IsClean);
        Assert.Equal((space, 0L, 0L), (report.KeySpace, report.GroupsChecked, report.EntriesChecked));
    }

    /// <summary>
    /// Hundreds of groups through every kind of write the store takes: appends of growing terms,
    /// purges (some past the last entry, leaving only the purged id), truncations, votes,
    /// committed ids and removals, half of it flushed to table files. All of it verifies clean,
    /// and the counts are the groups and entries the writes left.
    /// </summary>
    [Fact]
    public async Task AStoreOfManyGroupsVerifiesCleanCountingEveryGroupAndEntry()
    {
        const int Groups = 400;
        await using var store = RocksDbLogStore.Open(_dir.Sub("many"), Options(LogKeySpace.GroupPrefixed));
        long expectedGroups = 0;
        long expectedEntries = 0;
        for (ulong group = 1; group <= Groups; group++)
        {
            var log = store.ForGroup(group);
            int count = 2 + (int)(group % 20);
            LogId IdAt(ulong index) => Id(index < (ulong)(count / 2) ? 1UL : 2UL, index);
            await log.AppendAsync(Range(1, 0, count / 2), IgnoringCallback.Instance);
            await log.AppendAsync(Range(2, (ulong)(count / 2), count - (count / 2)), IgnoringCallback.Instance);
            await log.SaveVoteAsync(new Vote(new LeaderId(2, group % 3), group % 2 == 0));
            ulong first = 0;
            ulong end = (ulong)count;
            if (group % 5 == 0)
            {
                end--;
                await log.TruncateAfterAsync(IdAt(end - 1));
            }

            if (group % 3 == 0)
            {
                first = Math.Max(1, end / 2);
                await log.PurgeAsync(IdAt(first - 1));
                await log.SaveCommittedAsync(IdAt(end - 1));
            }
            else if (group % 13 == 0)
            {
                first = end = end + 5;
                await log.PurgeAsync(Id(2, first - 1));
            }

            if (group % 17 == 0)
            {
                await store.RemoveGroupAsync(group);
                continue;
            }

            expectedGroups++;
            expectedEntries += (long)(end - first);
            if (group == Groups / 2)
            {
                StoreDamage.FlushLog(store);
            }
        }

        var report = await store.VerifyAsync();

        Assert.Empty(report.Problems);
        Assert.True(report.IsClean);
        Assert.Equal((expectedGroups, expectedEntries), (report.GroupsChecked, report.EntriesChecked));
        Assert.Equal(expectedGroups, (await store.ListGroupsAsync()).Count);
    }

    [Fact]
    public async Task AFlatStoreWithAPurgeVerifiesCleanCountingItsEntries()
    {
        await using var store = await OpenWithGroups(LogKeySpace.Flat);
        await store.PurgeAsync(Id(1, 3));

        var report = await store.VerifyAsync();

        Assert.True(report.IsClean);
        Assert.Equal((1L, 6L), (report.GroupsChecked, report.EntriesChecked));
    }

    [Theory]
    [InlineData(LogKeySpace.Flat)]
    [InlineData(LogKeySpace.GroupPrefixed)]
    public async Task AFlippedByteInALogRecordIsFoundNamingGroupAndIndex(LogKeySpace space)
    {
        var report = await VerifyDamaged(space, store =>
        {
            StoreDamage.Tamper(store, space, Group, 4, FlipMiddleByte);
            return Task.CompletedTask;
        });

        AssertFound(report, space, (StoreProblemKind.CorruptLogRecord, Group, 4));
        Assert.Contains("checksum", report.Problems[0].Description, StringComparison.Ordinal);
        Assert.Contains($"group {Group} at index 4", report.Problems[0].Description, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(LogKeySpace.Flat)]
    [InlineData(LogKeySpace.GroupPrefixed)]
    public async Task AWrongVersionByteIsFoundNamingGroupAndIndex(LogKeySpace space)
    {
        var report = await VerifyDamaged(space, store =>
        {
            StoreDamage.Tamper(store, space, Group, 6, record => record[0] = 9);
            return Task.CompletedTask;
        });

        AssertFound(report, space, (StoreProblemKind.CorruptLogRecord, Group, 6));
        Assert.Contains("version 9", report.Problems[0].Description, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(LogKeySpace.Flat)]
    [InlineData(LogKeySpace.GroupPrefixed)]
    public async Task AMissingEntryIsAHoleNamingTheMissingIndex(LogKeySpace space)
    {
        var report = await VerifyDamaged(space, store =>
        {
            StoreDamage.DeleteLogKey(store, space, Group, 4);
            return Task.CompletedTask;
        });

        AssertFound(report, space, (StoreProblemKind.Hole, Group, 4));
        Assert.Contains("entry 4 is missing (index 5 follows 3)", report.Problems[0].Description, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(LogKeySpace.Flat)]
    [InlineData(LogKeySpace.GroupPrefixed)]
    public async Task SeveralMissingEntriesInARowAreOneHoleNamingTheFirstAndTheLast(LogKeySpace space)
    {
        var report = await VerifyDamaged(space, store =>
        {
            StoreDamage.DeleteLogKey(store, space, Group, 4);
            StoreDamage.DeleteLogKey(store, space, Group, 5);
            return Task.CompletedTask;
        });

        AssertFound(report, space, (StoreProblemKind.Hole, Group, 4));
        Assert.Contains("entries 4 to 5 are missing (index 6 follows 3)", report.Problems[0].Description, StringComparison.Ordinal);
    }

    /// <summary>A missing committed entry inside the log is the hole it leaves, and not a lost committed id besides.</summary>
    [Theory]
    [InlineData(LogKeySpace.Flat)]
    [InlineData(LogKeySpace.GroupPrefixed)]
    public async Task AMissingCommittedEntryIsOneHole(LogKeySpace space)
    {
        var report = await VerifyDamaged(space, store =>
        {
            StoreDamage.DeleteLogKey(store, space, Group, 7);
            return Task.CompletedTask;
        });

        AssertFound(report, space, (StoreProblemKind.Hole, Group, 7));
    }

    /// <summary>
    /// A log starts one past its last purged index, or at 0 when nothing is purged: a first
    /// entry missing there is a hole too, though no entry before it is left to show it.
    /// </summary>
    [Theory]
    [InlineData(LogKeySpace.Flat, false)]
    [InlineData(LogKeySpace.Flat, true)]
    [InlineData(LogKeySpace.GroupPrefixed, false)]
    [InlineData(LogKeySpace.GroupPrefixed, true)]
    public async Task AMissingFirstEntryIsAHoleWhereTheLogStarts(LogKeySpace space, bool purged)
    {
        ulong start = purged ? 3UL : 0UL;
        var report = await VerifyDamaged(space, async store =>
        {
            if (purged)
            {
                await store.ForGroup(Group).PurgeAsync(Id(1, start - 1));
            }

            StoreDamage.DeleteLogKey(store, space, Group, start);
        });

        AssertFound(report, space, (StoreProblemKind.Hole, Group, start));
    }

    /// <summary>
    /// A purge deletes its entries in the same write that records it: one still there is damage,
    /// the entry at the purged index itself as much as one below it (not a hole before the log's start).
    /// </summary>
    [Theory]
    [InlineData(LogKeySpace.Flat, 3UL)]
    [InlineData(LogKeySpace.Flat, 4UL)]
    [InlineData(LogKeySpace.GroupPrefixed, 3UL)]
    [InlineData(LogKeySpace.GroupPrefixed, 4UL)]
    public async Task AnEntryLeftAtOrBelowThePurgedIndexIsFoundNamingIt(LogKeySpace space, ulong left)
    {
        var report = await VerifyDamaged(space, async store =>
        {
            await store.ForGroup(Group).PurgeAsync(Id(1, 4));
            StoreDamage.PutLogKey(store, StoreDamage.LogKey(space, Group, left), LogRecordFormat.Encode(Range(1, left, 1)[0], space, Group));
        });

        AssertFound(report, space, (StoreProblemKind.EntryAtOrBelowPurged, Group, left));
        Assert.Contains("purged up to", report.Problems[0].Description, StringComparison.Ordinal);
    }

    /// <summary>A valid record of a lower term than the entry before it: only the Raft invariant catches it.</summary>
    [Theory]
    [InlineData(LogKeySpace.Flat)]
    [InlineData(LogKeySpace.GroupPrefixed)]
    public async Task ATermLowerThanTheEntryBeforeItIsFoundNamingTheIndex(LogKeySpace space)
    {
        var report = await VerifyDamaged(space, store =>
        {
            StoreDamage.PutLogKey(store, StoreDamage.LogKey(space, Group, 6), LogRecordFormat.Encode(Range(2, 6, 1)[0], space, Group));
            return Task.CompletedTask;
        });

        AssertFound(report, space, (StoreProblemKind.TermDecreases, Group, 6));
        Assert.Contains("entry 6 has term 2, lower than term 3 of entry 5 before it", report.Problems[0].Description, StringComparison.Ordinal);
    }

    /// <summary>The first entry after a purge continues from the purged id: its term may not be lower than the purged id's.</summary>
    [Theory]
    [InlineData(LogKeySpace.Flat)]
    [InlineData(LogKeySpace.GroupPrefixed)]
    public async Task AFirstEntryOfATermBelowThePurgedIdsIsFound(LogKeySpace space)
    {
        var report = await VerifyDamaged(space, async store =>
        {
            await store.ForGroup(Group).PurgeAsync(new LogId(4, 0, 5));
            StoreDamage.PutLogKey(store, StoreDamage.LogKey(space, Group, 6), LogRecordFormat.Encode(Range(3, 6, 1)[0], space, Group));
        });

        AssertFound(report, space, (StoreProblemKind.TermDecreases, Group, 6));
        Assert.Contains("entry 6 has term 3, lower than term 4 of the last purged id", report.Problems[0].Description, StringComparison.Ordinal);
    }

    /// <summary>
    /// A vote below the log's terms went backwards (a node saves a leader's vote before it writes
    /// that leader's entries): found at the first entry above it, and only there.
    /// </summary>
    [Theory]
    [InlineData(LogKeySpace.Flat)]
    [InlineData(LogKeySpace.GroupPrefixed)]
    public async Task AVoteBelowTheLogsTermsIsFoundOnceAtTheFirstEntryAboveIt(LogKeySpace space)
    {
        var report = await VerifyDamaged(space, async store => await store.ForGroup(Group).SaveVoteAsync(new Vote(new LeaderId(2, 0), true)));

        AssertFound(report, space, (StoreProblemKind.TermAboveVote, Group, 5));
        Assert.Contains("entry 5 has term 3, above the term of the saved vote", report.Problems[0].Description, StringComparison.Ordinal);
    }

    /// <summary>A committed entry is never replaced: a committed id that is not the id of the entry stored at its index is found there.</summary>
    [Theory]
    [InlineData(LogKeySpace.Flat)]
    [InlineData(LogKeySpace.GroupPrefixed)]
    public async Task ACommittedIdThatIsNotTheEntryAtItsIndexIsFound(LogKeySpace space)
    {
        var report = await VerifyDamaged(space, async store => await store.ForGroup(Group).SaveCommittedAsync(Id(1, 7)));

        AssertFound(report, space, (StoreProblemKind.CommittedNotInLog, Group, 7));
        Assert.Contains($"the committed id is {Id(1, 7)}, but the log's entry 7 is {Id(3, 7)}", report.Problems[0].Description, StringComparison.Ordinal);
    }

    /// <summary>
    /// A log that ends before its committed id lost the committed entry: found once the group's
    /// log is read to its end (so, in a flat store, after the damage in its later entry).
    /// </summary>
    [Theory]
    [InlineData(LogKeySpace.Flat)]
    [InlineData(LogKeySpace.GroupPrefixed)]
    public async Task ACommittedIdPastTheLogsLastEntryIsFound(LogKeySpace space)
    {
        var report = await VerifyDamaged(space, async store => await store.ForGroup(Group).SaveCommittedAsync(Id(3, 12)));

        var (group, index) = SecondProblem(space);
        (StoreProblemKind, ulong?, ulong?) committed = (StoreProblemKind.CommittedNotInLog, Group, 12);
        (StoreProblemKind, ulong?, ulong?) damaged = (StoreProblemKind.CorruptLogRecord, group, index);
        (StoreProblemKind, ulong?, ulong?)[] expected = space == LogKeySpace.Flat ? [damaged, committed] : [committed, damaged];
        Assert.Equal(expected, report.Problems.Select(p => (p.Kind, p.GroupId, p.Index)));
        Assert.Contains($"the committed id is {Id(3, 12)}, but the log ends at index 9", report.Problems.Single(p => p.Kind == StoreProblemKind.CommittedNotInLog).Description, StringComparison.Ordinal);
    }

    /// <summary>At the purged index, the committed id must be the purged id; below it, the purge took the entry, and nothing is judged.</summary>
    [Theory]
    [InlineData(6UL, 6UL, true)]
    [InlineData(6UL, 2UL, false)]
    public async Task ACommittedIdAtThePurgedIndexMustBeThePurgedId(ulong purgedIndex, ulong committedIndex, bool found)
    {
        const LogKeySpace Space = LogKeySpace.GroupPrefixed;
        var report = await VerifyDamaged(Space, async store =>
        {
            var log = store.ForGroup(Group);
            await log.PurgeAsync(Id(3, purgedIndex));
            await log.SaveCommittedAsync(Id(1, committedIndex));
        });

        if (found)
        {
            AssertFound(report, Space, (StoreProblemKind.CommittedNotInLog, Group, committedIndex));
            Assert.Contains($"but the log is purged up to {Id(3, purgedIndex)}", report.Problems[0].Description, StringComparison.Ordinal);
        }
        else
        {
            var (group, index) = SecondProblem(Space);
            var problem = Assert.Single(report.Problems);
            Assert.Equal((StoreProblemKind.CorruptLogRecord, group, index), (problem.Kind, problem.GroupId, problem.Index));
        }
    }

    /// <summary>An empty log, never purged, holds no committed entry.</summary>
    [Fact]
    public async Task ACommittedIdOfALogWithNoEntryIsFound()
    {
        await using var store = RocksDbLogStore.Open(_dir.Sub("empty"), Options(LogKeySpace.GroupPrefixed));
        await store.ForGroup(Group).SaveCommittedAsync(Id(1, 0));

        var report = await store.VerifyAsync();

        var problem = Assert.Single(report.Problems);
        Assert.Equal((StoreProblemKind.CommittedNotInLog, Group, 0UL), (problem.Kind, problem.GroupId, problem.Index));
        Assert.Contains("the log holds no entry", problem.Description, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(LogKeySpace.Flat, MetaLabel.Vote)]
    [InlineData(LogKeySpace.GroupPrefixed, MetaLabel.Vote)]
    [InlineData(LogKeySpace.GroupPrefixed, MetaLabel.Committed)]
    public async Task ADamagedMetaRecordIsFoundNamingGroupAndValue(LogKeySpace space, MetaLabel label)
    {
        var report = await VerifyDamaged(space, store =>
        {
            StoreDamage.TamperMeta(store, space, Group, label);
            return Task.CompletedTask;
        });

        AssertFound(report, space, (StoreProblemKind.CorruptMetaRecord, Group, null));
        Assert.Contains($"'{label}' of group {Group}", report.Problems[0].Description, StringComparison.Ordinal);
    }

    /// <summary>
    /// With its purged id unreadable, where a group's log must start is unknown: its entries are
    /// still checked against each other, but none is called a hole or a leftover for want of it.
    /// </summary>
    [Fact]
    public async Task ADamagedPurgedIdIsFoundAndTheLogIsStillCheckedWithoutIt()
    {
        const LogKeySpace Space = LogKeySpace.GroupPrefixed;
        var report = await VerifyDamaged(Space, async store =>
        {
            await store.ForGroup(Group).PurgeAsync(Id(1, 2));
            StoreDamage.TamperMeta(store, Space, Group, MetaLabel.LastPurged);
            StoreDamage.Tamper(store, Space, Group, 8, FlipMiddleByte);
        });

        var (group, index) = SecondProblem(Space);
        (StoreProblemKind, ulong?, ulong?)[] expected =
        [
            (StoreProblemKind.CorruptMetaRecord, Group, null),
            (StoreProblemKind.CorruptLogRecord, Group, 8),
            (StoreProblemKind.CorruptLogRecord, group, index),
        ];
        Assert.Equal(expected, report.Problems.Select(p => (p.Kind, p.GroupId, p.Index)));
    }

    /// <summary>
    /// With its purged id unreadable, whether a committed id past the group's last entry is the
    /// purged id, or lies below it, is unknown: it is not called lost.
    /// </summary>
    [Fact]
    public async Task ADamagedPurgedIdLeavesACommittedIdPastTheLogUnjudged()
    {
        const LogKeySpace Space = LogKeySpace.GroupPrefixed;
        var report = await VerifyDamaged(Space, async store =>
        {
            var log = store.ForGroup(Group);
            await log.PurgeAsync(Id(3, 12));
            await log.SaveCommittedAsync(Id(3, 12));
            StoreDamage.TamperMeta(store, Space, Group, MetaLabel.LastPurged);
        });

        AssertFound(report, Space, (StoreProblemKind.CorruptMetaRecord, Group, null));
    }

    /// <summary>
    /// A damaged purged id leaves only its own group's log start unknown: the next group's log
    /// is checked from where it starts, its missing first entry a hole.
    /// </summary>
    [Fact]
    public async Task ADamagedPurgedIdLeavesTheNextGroupsLogStartKnown()
    {
        const LogKeySpace Space = LogKeySpace.GroupPrefixed;
        var report = await VerifyDamaged(Space, async store =>
        {
            await store.ForGroup(Group).PurgeAsync(Id(1, 2));
            StoreDamage.TamperMeta(store, Space, Group, MetaLabel.LastPurged);
            StoreDamage.DeleteLogKey(store, Space, 2, 0);
        });

        var (group, index) = SecondProblem(Space);
        (StoreProblemKind, ulong?, ulong?)[] expected =
        [
            (StoreProblemKind.CorruptMetaRecord, Group, null),
            (StoreProblemKind.Hole, 2, 0),
            (StoreProblemKind.CorruptLogRecord, group, index),
        ];
        Assert.Equal(expected, report.Problems.Select(p => (p.Kind, p.GroupId, p.Index)));
    }

    /// <summary>
    /// Keys the store never writes: an unknown meta label, a known label after the wrong
    /// separator, an empty meta key (which sorts before the key-space marker, itself no problem),
    /// a log key of the wrong length, a key shorter than a group id in either family.
    /// </summary>
    [Theory]
    [InlineData(LogKeySpace.Flat, "meta label")]
    [InlineData(LogKeySpace.Flat, "empty meta key")]
    [InlineData(LogKeySpace.Flat, "log key length")]
    [InlineData(LogKeySpace.GroupPrefixed, "meta label")]
    [InlineData(LogKeySpace.GroupPrefixed, "meta separator")]
    [InlineData(LogKeySpace.GroupPrefixed, "log key length")]
    [InlineData(LogKeySpace.GroupPrefixed, "no group")]
    [InlineData(LogKeySpace.GroupPrefixed, "no group in meta")]
    public async Task AForeignKeyIsFoundNamingItsGroup(LogKeySpace space, string foreign)
    {
        var report = await VerifyDamaged(space, store =>
        {
            switch (foreign)
            {
                case "meta label":
                    byte[] prefix = space == LogKeySpace.Flat ? [] : [.. StoreDamage.LogKey(space, Group, 0)[..sizeof(ulong)], LogKeys.MetaSeparator];
                    StoreDamage.PutMetaKey(store, [.. prefix, .. "term"u8], [1]);
                    break;
                case "meta separator":
                    StoreDamage.PutMetaKey(store, [.. StoreDamage.LogKey(space, Group, 0)[..sizeof(ulong)], (byte)'|', .. "vote"u8], [1]);
                    break;
                case "empty meta key":
                    StoreDamage.PutMetaKey(store, [], [1]);
                    break;
                case "no group in meta":
                    StoreDamage.PutMetaKey(store, [0, 0, 0], [1]);
                    break;
                case "log key length":
                    StoreDamage.PutLogKey(store, [.. StoreDamage.LogKey(space, Group, 3), 0], LogRecordFormat.Encode(Range(1, 3, 1)[0], space, Group));
                    break;
                default:
                    StoreDamage.PutLogKey(store, [0, 0, 0], [1]);
                    break;
            }

            return Task.CompletedTask;
        });

        AssertFound(report, space, (StoreProblemKind.ForeignKey, foreign.StartsWith("no group", StringComparison.Ordinal) ? null : Group, null));
        Assert.Equal(report.Problems.Select(p => p.GroupId).OfType<ulong>().Distinct().Count(), report.GroupsWithProblems);
    }

    /// <summary>A log key of the right length naming an index past the largest a log takes: foreign, yet counted as an entry checked.</summary>
    [Theory]
    [InlineData(LogKeySpace.Flat)]
    [InlineData(LogKeySpace.GroupPrefixed)]
    public async Task ALogKeyPastTheLargestIndexIsForeignAndCountedAsAnEntryChecked(LogKeySpace space)
    {
        var report = await VerifyDamaged(space, store =>
        {
            StoreDamage.PutLogKey(store, StoreDamage.LogKey(space, Group, LogIndexes.Max + 1), [1]);
            return Task.CompletedTask;
        });

        Assert.Contains((StoreProblemKind.ForeignKey, (ulong?)Group, (ulong?)(LogIndexes.Max + 1)), report.Problems.Select(p => (p.Kind, p.GroupId, p.Index)));
        Assert.Equal(2, report.ProblemCount);
        Assert.Equal((GroupsOf(space).Length * 10L) + 1, report.EntriesChecked);
    }

    /// <summary>
    /// A group whose keys are all meta records (its log purged past its last entry, or never
    /// written), after every group with a log: counted and checked like any other.
    /// </summary>
    [Fact]
    public async Task AGroupWithMetaRecordsAloneAfterTheLastLogIsCheckedToo()
    {
        const LogKeySpace Space = LogKeySpace.GroupPrefixed;
        var report = await VerifyDamaged(Space, async store =>
        {
            var purgedPastItsEnd = store.ForGroup(4);
            await purgedPastItsEnd.AppendAsync(Range(1, 0, 3), IgnoringCallback.Instance);
            await purgedPastItsEnd.PurgeAsync(Id(1, 7));
            var voteOnly = store.ForGroup(5);
            await voteOnly.SaveVoteAsync(new Vote(new LeaderId(2, 1), false));
            StoreDamage.TamperMeta(store, Space, 5, MetaLabel.Vote);
        });

        var (group, index) = SecondProblem(Space);
        (StoreProblemKind, ulong?, ulong?)[] expected = [(StoreProblemKind.CorruptLogRecord, group, index), (StoreProblemKind.CorruptMetaRecord, 5, null)];
        Assert.Equal(expected, report.Problems.Select(p => (p.Kind, p.GroupId, p.Index)));
        Assert.Equal((5L, 30L), (report.GroupsChecked, report.EntriesChecked));
    }

    [Fact]
    public async Task ProblemsPastTheCapOfAGroupAreCountedAndSaidNotListed()
    {
        var report = await VerifyWithManyProblems(new VerificationLimits { MaxProblemsPerGroup = 10 });

        Assert.Equal(35, report.ProblemCount);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (1UL, (ulong)i)).Concat(Enumerable.Range(0, 5).Select(i => (2UL, (ulong)i))), report.Problems.Select(p => (p.GroupId!.Value, p.Index!.Value)));
        Assert.Equal([new UnlistedProblems(1, 20)], report.Unlisted);
        Assert.Equal(20, report.UnlistedCount);
        Assert.Equal(2, report.GroupsWithProblems);
    }

    [Fact]
    public async Task ProblemsPastTheCapOfTheWholeListingAreCountedAndSaidNotListed()
    {
        var report = await VerifyWithManyProblems(new VerificationLimits { MaxProblemsPerGroup = 10, MaxProblems = 12 });

        Assert.Equal(35, report.ProblemCount);
        Assert.Equal(12, report.Problems.Count);
        Assert.Equal([new UnlistedProblems(1, 20), new UnlistedProblems(2, 3)], report.Unlisted);
        Assert.Equal(23, report.UnlistedCount);
    }

    /// <summary>
    /// Once the whole listing is full, the groups reached after it have none of their problems
    /// listed: they are counted, not named in <see cref="StoreVerification.Unlisted"/>.
    /// </summary>
    [Fact]
    public async Task GroupsReachedAfterTheWholeListingIsFullAreCountedButNotNamedAsUnlisted()
    {
        var report = await VerifyWithManyProblems(new VerificationLimits { MaxProblemsPerGroup = 10, MaxProblems = 5 });

        Assert.Equal(35, report.ProblemCount);
        Assert.Equal(Enumerable.Repeat(1UL, 5), report.Problems.Select(p => p.GroupId!.Value));
        Assert.Equal([new UnlistedProblems(1, 25)], report.Unlisted);
        Assert.Equal(30, report.UnlistedCount);
        Assert.Equal(2, report.GroupsWithProblems);
    }

    [Fact]
    public async Task ProblemsOfKeysOfNoGroupPastTheCapAreCountedAndSaidNotListed()
    {
        await using var store = await OpenWithGroups(LogKeySpace.GroupPrefixed);
        for (byte key = 1; key <= 12; key++)
        {
            StoreDamage.PutLogKey(store, [0, 0, key], [1]);
        }

        var report = await store.VerifyAsync(new VerificationLimits { MaxProblemsPerGroup = 10 });

        Assert.Equal(12, report.ProblemCount);
        Assert.Equal(Enumerable.Repeat((StoreProblemKind.ForeignKey, (ulong?)null), 10), report.Problems.Select(p => (p.Kind, p.GroupId)));
        Assert.Equal([new UnlistedProblems(null, 2)], report.Unlisted);
        Assert.Equal(0, report.GroupsWithProblems);
    }

    /// <summary>Group 1 with 30 damaged records, group 2 with 5, verified under <paramref name="limits"/>.</summary>
    private async Task<StoreVerification> VerifyWithManyProblems(VerificationLimits limits)
    {
        await using var store = RocksDbLogStore.Open(_dir.Sub("many-problems"), Options(LogKeySpace.GroupPrefixed));
        foreach (var (group, damaged) in new (ulong, int)[] { (1, 30), (2, 5) })
        {
            await store.ForGroup(group).AppendAsync(Range(1, 0, 40), IgnoringCallback.Instance);
            for (ulong index = 0; index < (ulong)damaged; index++)
            {
                StoreDamage.Tamper(store, LogKeySpace.GroupPrefixed, group, index, FlipMiddleByte);
            }
        }

        return await store.VerifyAsync(limits);
    }

    [Fact]
    public async Task ACapBelowOneIsRefused()
    {
        await using var store = RocksDbLogStore.Open(_dir.Sub("cap"), Options(LogKeySpace.GroupPrefixed));

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.VerifyAsync(new VerificationLimits { MaxProblemsPerGroup = 0 }));
    }

    /// <summary>
    /// What <c>raftkit verify</c> does beside a running host: the store holds the database's
    /// lock, and a read-only open of it (which takes none), with the WAL the store's writes are
    /// still only in, sees and verifies what the store wrote.
    /// </summary>
    [Fact]
    public async Task AStoreAttachedToAReadOnlyDatabaseBesideTheOpenStoreVerifiesWhatItHolds()
    {
        string path = _dir.Sub(LogKeySpace.GroupPrefixed.ToString());
        await using var store = await OpenWithGroups(LogKeySpace.GroupPrefixed);
        StoreDamage.Tamper(store, LogKeySpace.GroupPrefixed, 3, 2, FlipMiddleByte);

        var families = new ColumnFamilies();
        families.Add(RocksDbLogStoreOptions.DefaultLogColumnFamily, new ColumnFamilyOptions());
        families.Add(RocksDbLogStoreOptions.DefaultMetaColumnFamily, new ColumnFamilyOptions());
        using var readOnly = RocksDb.OpenReadOnly(new DbOptions().SetWalDir(RocksDbLogStore.WalDirectoryOf(path)), path, families, false);
        await using var attached = RocksDbLogStore.Attach(readOnly, new RocksDbLogStoreOptions { KeySpace = LogKeySpace.GroupPrefixed });

        var report = await attached.VerifyAsync();

        (StoreProblemKind, ulong?, ulong?)[] expected = [(StoreProblemKind.CorruptLogRecord, 3, 2)];
        Assert.Equal(expected, report.Problems.Select(p => (p.Kind, p.GroupId, p.Index)));
        Assert.Equal((3L, 30L), (report.GroupsChecked, report.EntriesChecked));
        var own = await store.VerifyAsync();
        Assert.Equal(report.Problems, own.Problems);
    }

    /// <summary>
    /// Damage below the record format: RocksDB finds a table block of group 2's log damaged. The
    /// entries before it are checked, the block is reported naming the first entry it held, and
    /// the verification goes on with group 3. Where group 2's log ends is then unknown, so its
    /// committed id is not called lost.
    /// </summary>
    [Fact]
    public async Task ADamagedTableBlockIsFoundAndTheGroupsAfterItAreStillChecked()
    {
        var marker = "an entry in the middle of group 2's log"u8.ToArray();
        string path = _dir.Sub("table");
        var options = new RocksDbLogStoreOptions { Compression = Compression.No, SyncMode = LogSyncMode.NoSync };
        await using (var store = RocksDbLogStore.Open(path, options))
        {
            for (ulong group = 1; group <= 3; group++)
            {
                var log = store.ForGroup(group);
                await log.AppendAsync(Range(1, 0, 100, payloadBytes: 100), IgnoringCallback.Instance);
                await log.AppendAsync(new[] { group == 2 ? Entry.Normal(Id(1, 100), marker) : Range(1, 100, 1, payloadBytes: 100)[0] }, IgnoringCallback.Instance);
                await log.AppendAsync(Range(1, 101, 99, payloadBytes: 100), IgnoringCallback.Instance);
                await log.SaveCommittedAsync(Id(1, 199));
            }

            StoreDamage.FlushLog(store);
        }

        await StoreDamage.FlipByteOf(path, marker);
        await using var reopened = RocksDbLogStore.Open(path, options);

        // Bounded: a walk that resumed at the damaged group again would loop over it for ever
        // (disposing the store then stops it at its next key).
        var report = await Task.Run(() => reopened.VerifyAsync().AsTask()).WaitAsync(TimeSpan.FromSeconds(30));

        var problem = Assert.Single(report.Problems);
        Assert.Equal((StoreProblemKind.DamagedBlock, 2UL), (problem.Kind, problem.GroupId));
        Assert.InRange(problem.Index!.Value, 1UL, 100UL);
        Assert.Contains("block checksum mismatch", problem.Description, StringComparison.Ordinal);
        Assert.Equal(3, report.GroupsChecked);
        Assert.Equal(200 + (long)problem.Index.Value + 200, report.EntriesChecked);
    }

    /// <summary>
    /// A damaged block at the start of the log family, holding every group's entries: the walk
    /// cannot go on in that family, and the groups' committed ids, read from the meta family, are
    /// not called lost for want of logs that were never read.
    /// </summary>
    [Fact]
    public async Task AnUnreadableLogFamilyLeavesTheCommittedIdsUnjudged()
    {
        var marker = "an entry of group 2"u8.ToArray();
        string path = _dir.Sub("log-unreadable");
        var options = new RocksDbLogStoreOptions { Compression = Compression.No, SyncMode = LogSyncMode.NoSync };
        await using (var store = RocksDbLogStore.Open(path, options))
        {
            for (ulong group = 1; group <= 3; group++)
            {
                var log = store.ForGroup(group);
                await log.AppendAsync(new[] { Entry.Normal(Id(1, 0), group == 2 ? marker : new byte[marker.Length]) }, IgnoringCallback.Instance);
                await log.SaveCommittedAsync(Id(1, 0));
            }

            StoreDamage.FlushLog(store);
        }

        await StoreDamage.FlipByteOf(path, marker);
        await using var reopened = RocksDbLogStore.Open(path, options);

        var report = await reopened.VerifyAsync();

        var problem = Assert.Single(report.Problems);
        Assert.Equal((StoreProblemKind.DamagedBlock, (ulong?)null), (problem.Kind, problem.GroupId));
        Assert.Equal((3L, 0L), (report.GroupsChecked, report.EntriesChecked));
    }

    /// <summary>
    /// A damaged block of the meta family that the walk cannot read past: the groups after it
    /// have purged ids that were never read, so their logs, which start past 0, are not called
    /// holes. Many groups, so that the damaged block is not the one with the key-space marker,
    /// which opening the store reads.
    /// </summary>
    [Fact]
    public async Task AnUnreadableStretchOfTheMetaFamilyLeavesTheLaterLogsStartsUnknown()
    {
        const int Groups = 300;
        string path = _dir.Sub("meta-unreadable");
        var options = new RocksDbLogStoreOptions { Compression = Compression.No, SyncMode = LogSyncMode.NoSync };
        await using (var store = RocksDbLogStore.Open(path, options))
        {
            for (ulong group = 1; group <= Groups; group++)
            {
                var log = store.ForGroup(group);
                await log.AppendAsync(Range(1, 0, 4), IgnoringCallback.Instance);
                await log.PurgeAsync(Id(1, 1));
            }

            StoreDamage.FlushLog(store);
            StoreDamage.FlushMeta(store);
        }

        // A purged id of a group in the middle: in a data block past the first.
        await StoreDamage.FlipByteOf(path, "last_purged"u8.ToArray(), offsets => offsets[offsets.Count / 2]);
        await using var reopened = RocksDbLogStore.Open(path, options);

        var report = await reopened.VerifyAsync();

        Assert.NotEmpty(report.Problems);
        Assert.All(report.Problems, problem => Assert.Equal(StoreProblemKind.DamagedBlock, problem.Kind));
        Assert.Equal((Groups, 2L * Groups), (report.GroupsChecked, report.EntriesChecked));
    }

    /// <summary>
    /// A damaged block that took group 3's purged id but not the meta record before it (its
    /// committed id; labels sort "committed", "last_purged", "vote"): where group 3's log must
    /// start is unknown, so it is not called a hole. The seek to group 4 lands in the damaged
    /// block again, so the family's later records are not read either, and groups 4 and 5 are
    /// not judged by their purged ids. Every meta record is its own block here (a block size of
    /// one byte).
    /// </summary>
    [Fact]
    public async Task ADamagedBlockThatTookAGroupsPurgedIdLeavesWhereItsLogStartsUnknown()
    {
        const int Groups = 5;
        string path = _dir.Sub("purged-block");
        var options = new RocksDbLogStoreOptions
        {
            Compression = Compression.No,
            SyncMode = LogSyncMode.NoSync,
            ConfigureColumnFamilyOptions = (family, familyOptions) =>
            {
                if (family == RocksDbLogStoreOptions.DefaultMetaColumnFamily)
                {
                    familyOptions.SetBlockBasedTableFactory(new BlockBasedTableOptions().SetBlockSize(1));
                }
            },
        };
        await using (var store = RocksDbLogStore.Open(path, options))
        {
            for (ulong group = 1; group <= Groups; group++)
            {
                var log = store.ForGroup(group);
                await log.AppendAsync(Range(1, 0, 4), IgnoringCallback.Instance);
                await log.PurgeAsync(Id(1, 1));
                await log.SaveCommittedAsync(Id(1, 3));
            }

            StoreDamage.FlushLog(store);
            StoreDamage.FlushMeta(store);
        }

        // The data blocks come first in the file, in key order: the third is group 3's.
        await StoreDamage.FlipByteOf(path, "last_purged"u8.ToArray(), offsets => offsets[2]);
        await using var reopened = RocksDbLogStore.Open(path, options);

        var report = await reopened.VerifyAsync();

        Assert.Equal(
            [(StoreProblemKind.DamagedBlock, 3UL), (StoreProblemKind.DamagedBlock, null)],
            report.Problems.Select(p => (p.Kind, p.GroupId)));
        Assert.Equal((Groups, 2L * Groups), (report.GroupsChecked, report.EntriesChecked));
    }

    /// <summary>
    /// A verification reads the store as it stood at one moment: run over and over beside
    /// pipelined appends, truncations, purges (some past the last entry) and removals of its
    /// groups, it sees each write whole or not at all, and finds nothing wrong (no hole before a
    /// log whose purge it half saw, no entry left below one). The writer makes a least number of
    /// writes, and goes on until the verifications ran often enough, not writes for a set time:
    /// a clock would leave a writer that starts late, on a loaded machine, nothing to do. The seed
    /// (RAFTKIT_SEED to replay) fixes the writes, not the interleaving or how many there are.
    /// </summary>
    [Fact]
    public async Task AVerificationRacingWritesToTheStoreFindsNothingWrong()
    {
        int seed = TestSeed.FromEnvironmentOrNew();
        output.WriteLine($"seed {seed} (replay: RAFTKIT_SEED={seed}; thread timing is not replayed)");
        var options = new RocksDbLogStoreOptions { SyncMode = LogSyncMode.NoSync, WriteBufferSize = 1 << 20 };
        await using var store = RocksDbLogStore.Open(_dir.Sub("racing"), options);
        const int EnoughVerifications = 10;
        int verified = 0;
        var writingDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var verifying = Task.Run(async () =>
        {
            int verifications = 0, dirty = 0;
            string? first = null;
            while (!writingDone.Task.IsCompleted)
            {
                var report = await store.VerifyAsync();
                Volatile.Write(ref verified, ++verifications);
                if (!report.IsClean && dirty++ == 0)
                {
                    first = $"{report.ProblemCount} problems: {string.Join(" | ", report.Problems.Take(3))}";
                }
            }

            return (verifications, dirty, first);
        });

        // At least 5,000 writes, and on until the verifications ran enough times beside them:
        // on an idle machine the writes alone can be over before the verifying task has started.
        var writes = await Task.Run(() => WriteRacing(store, new Random(seed), writes: 5_000, goOn: () => Volatile.Read(ref verified) < EnoughVerifications));
        writingDone.SetResult();
        var (verifications, dirty, first) = await verifying;

        output.WriteLine($"{verifications} verifications racing {writes}");
        Assert.True(dirty == 0, $"seed {seed}: {dirty} of {verifications} verifications found problems; the first: {first}");
        Assert.True(verifications >= EnoughVerifications, $"seed {seed}: only {verifications} verifications ran beside the writes");
        Assert.True(writes is { Appends: > 0, Truncations: > 0, Purges: > 0, Removals: > 0 }, $"seed {seed}: not every kind of write was made: {writes}");
        var after = await store.VerifyAsync();
        Assert.True(after.IsClean, $"seed {seed}: the store does not verify clean after the writes: {string.Join(" | ", after.Problems.Take(3))}");
        Assert.Equal(writes.EntriesLeft, after.EntriesChecked);
    }

    /// <summary>The writes <see cref="WriteRacing"/> made, and the entries they left.</summary>
    private sealed record RacingWrites(int Appends, int Truncations, int Purges, int Removals, long EntriesLeft);

    /// <summary>
    /// Makes <paramref name="writes"/> writes, and more while <paramref name="goOn"/> says so, to
    /// groups 1 to 8, up to six in flight at once as a host pipelines them: appends of the current term, truncations (later appends
    /// of a new term), purges (now and then past the last entry) and removals of a group, which
    /// then starts over.
    /// </summary>
    private static async Task<RacingWrites> WriteRacing(RocksDbLogStore store, Random random, int writes, Func<bool> goOn)
    {
        const int Groups = 8;
        var logs = new List<LogId>[Groups];
        var purged = new LogId?[Groups];
        for (int g = 0; g < Groups; g++)
        {
            logs[g] = [];
        }

        ulong term = 1;
        int appends = 0, truncations = 0, purges = 0, removals = 0;
        var pending = new List<Task>();
        for (int made = 0; made < writes || goOn(); made++)
        {
            int g = random.Next(Groups);
            ulong group = (ulong)g + 1;
            var log = store.ForGroup(group);
            var entries = logs[g];
            int roll = random.Next(100);
            if (entries.Count > 0 && (roll < 20 || entries.Count > 100))
            {
                int upTo = random.Next(entries.Count + 3);
                var id = upTo < entries.Count ? entries[upTo] : new LogId(term, 0, entries[0].Index + (ulong)upTo);
                entries.RemoveRange(0, Math.Min(upTo + 1, entries.Count));
                purged[g] = id;
                pending.Add(log.PurgeAsync(id).AsTask());
                purges++;
            }
            else if (entries.Count > 0 && roll < 32)
            {
                int keep = random.Next(entries.Count);
                LogId? after = keep > 0 ? entries[keep - 1] : purged[g];
                entries.RemoveRange(keep, entries.Count - keep);
                term++;
                pending.Add(log.TruncateAfterAsync(after).AsTask());
                truncations++;
            }
            else if (roll < 34)
            {
                logs[g] = [];
                purged[g] = null;
                term++;
                pending.Add(store.RemoveGroupAsync(group).AsTask());
                removals++;
            }
            else
            {
                var batch = Range(term, entries.Count > 0 ? entries[^1].Index + 1 : purged[g].NextIndex(), 1 + random.Next(8));
                entries.AddRange(batch.Select(entry => entry.LogId));
                pending.Add(log.AppendAsync(batch, IgnoringCallback.Instance).AsTask());
                appends++;
            }

            if (pending.Count >= 1 + random.Next(6))
            {
                await Task.WhenAll(pending);
                pending.Clear();
            }
        }

        await Task.WhenAll(pending);
        return new RacingWrites(appends, truncations, purges, removals, logs.Sum(log => (long)log.Count));
    }

    [Fact]
    public async Task ACancelledVerificationStops()
    {
        await using var store = await OpenWithGroups(LogKeySpace.GroupPrefixed);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await store.VerifyAsync(new CancellationToken(canceled: true)));
    }

    /// <summary>A cancellation that comes after the verification began (here, as its read of the database begins) stops the walk at its next key.</summary>
    [Fact]
    public async Task AVerificationCancelledWhileItRunsStops()
    {
        await using var store = await OpenWithGroups(LogKeySpace.GroupPrefixed);
        using var cancellation = new CancellationTokenSource();
        store.BeforeRead = cancellation.Cancel;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await store.VerifyAsync(cancellation.Token));
    }
}
