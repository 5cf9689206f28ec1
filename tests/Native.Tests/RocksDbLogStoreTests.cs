using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native.Keys;
using static RaftToolkit.Native.Tests.TestEntries;

namespace RaftToolkit.Native.Tests;

public sealed class RocksDbLogStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private RocksDbLogStore OpenPrefixed() => RocksDbLogStore.Open(_dir.Sub("db"), new RocksDbLogStoreOptions { KeySpace = LogKeySpace.GroupPrefixed });

    private RocksDbLogStore OpenFlat(ulong groupId = 7) => RocksDbLogStore.Open(_dir.Sub("flat"), new RocksDbLogStoreOptions { KeySpace = LogKeySpace.Flat, FlatGroupId = groupId });

    [Fact]
    public async Task AppendedEntriesAreReadableAndDurableAcrossReopen()
    {
        var callback = new RecordingCallback();
        await using (var store = OpenPrefixed())
        {
            await store.ForGroup(1).AppendAsync(Range(1, 0, 5), callback);
            Assert.Equal([null], callback.Outcomes);
            Assert.Equal(Range(1, 0, 5), await store.ForGroup(1).TryGetLogEntriesAsync(0, 5));
        }

        await using (var reopened = OpenPrefixed())
        {
            var log = reopened.ForGroup(1);
            Assert.Equal(Range(1, 0, 5), await log.TryGetLogEntriesAsync(0, 100));
            Assert.Equal(new LogState(null, Id(1, 4)), await log.GetLogStateAsync());
        }
    }

    /// <summary>
    /// Short data is staged with its record's framing, long data goes to RocksDB from the
    /// caller's memory: entries of every length around the cutoff, of every kind, in one append
    /// and one batch, read back as written, before and after a reopen, in either key space.
    /// </summary>
    [Theory]
    [InlineData(LogKeySpace.GroupPrefixed)]
    [InlineData(LogKeySpace.Flat)]
    public async Task EntriesOfEveryLengthAroundTheStagingCutoffReadBackAsWritten(LogKeySpace space)
    {
        const int Cutoff = RaftToolkit.Native.Coalescing.WriteRequest.CallerDataMinBytes;
        int[] lengths = [0, 1, Cutoff - 1, Cutoff, Cutoff + 1, 64 * 1024];
        var entries = new List<Entry>();
        foreach (int length in lengths)
        {
            var data = new byte[length];
            Random.Shared.NextBytes(data);
            entries.Add(Entry.Normal(new LogId(3, 2, (ulong)entries.Count), data));
        }

        entries.Add(Entry.Blank(new LogId(3, 2, (ulong)entries.Count)));
        entries.Add(Entry.ForMembership(new LogId(3, 2, (ulong)entries.Count), Membership.FromVoters([1UL, 2, 3], [])));
        var options = new RocksDbLogStoreOptions { KeySpace = space, FlatGroupId = 1 };
        string path = _dir.Sub("cutoff");
        await using (var store = RocksDbLogStore.Open(path, options))
        {
            int half = entries.Count / 2;
            await store.ForGroup(1).AppendAsync(entries.Take(half).ToArray(), IgnoringCallback.Instance);
            var batch = new LogWriteBatch();
            batch.Append(1, entries.Skip(half).ToArray());
            await store.WriteAsync(batch);
            Assert.Equal(entries, await store.ForGroup(1).TryGetLogEntriesAsync(0, (ulong)entries.Count));
        }

        await using var reopened = RocksDbLogStore.Open(path, options);
        Assert.Equal(entries, await reopened.ForGroup(1).TryGetLogEntriesAsync(0, (ulong)entries.Count));
    }

    /// <summary>
    /// The store copies entries' data inside the call that writes it, so a caller may reuse its
    /// buffers as soon as the call returns: here every buffer is overwritten while its write is
    /// still queued behind a held one, spread over several batches by a small batch bound.
    /// </summary>
    [Fact]
    public async Task ACallersBuffersMayBeReusedAsSoonAsTheWriteCallReturnsBeforeItIsDurable()
    {
        await using var store = RocksDbLogStore.Open(_dir.Sub("db"), new RocksDbLogStoreOptions { MaxBatchBytes = 4096 });
        var expected = new List<Entry>();
        var writes = new List<Task>();
        using (var holdWriter = HoldingCallback.HoldWriterOf(store, out var held))
        {
            for (ulong i = 0; i < 21; i++)
            {
                var buffer = new byte[1000];
                Array.Fill(buffer, (byte)(i + 1));
                var entry = Entry.Normal(Id(1, i), buffer);
                expected.Add(Entry.Normal(Id(1, i), buffer.ToArray()));
                if (i < 20)
                {
                    writes.Add(store.ForGroup(1).AppendAsync(new[] { entry }, IgnoringCallback.Instance).AsTask());
                }
                else
                {
                    var batch = new LogWriteBatch();
                    batch.Append(1, new[] { entry });
                    writes.Add(store.WriteAsync(batch).AsTask());
                }

                Array.Fill(buffer, (byte)0xEE);
            }

            Assert.All(writes, write => Assert.False(write.IsCompleted));
            holdWriter.Release();
            await Task.WhenAll([held, .. writes]);
        }

        Assert.Equal(expected, await store.ForGroup(1).TryGetLogEntriesAsync(0, 21));
    }

    /// <summary>
    /// Once copied into the native batch, a caller's data is not kept reachable by the store,
    /// even while its write waits in the queue behind a held one.
    /// </summary>
    [Fact]
    public async Task TheStoreDoesNotKeepACallersDataReachableWhileItsWriteIsQueued()
    {
        await using var store = RocksDbLogStore.Open(_dir.Sub("db"));
        Task queued;
        WeakReference data;
        using (var holdWriter = HoldingCallback.HoldWriterOf(store, out var held))
        {
            (queued, data) = AppendLongDataAndForgetIt(store.ForGroup(1));
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            Assert.False(queued.IsCompleted);
            Assert.False(data.IsAlive, "the store still holds the caller's data of a queued write");
            holdWriter.Release();
            await Task.WhenAll(held, queued);
        }

        Assert.Single(await store.ForGroup(1).TryGetLogEntriesAsync(0, 1));
    }

    /// <summary>Appends an entry of data long enough to be passed from the caller's memory, and keeps only a weak reference to the data.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static (Task Append, WeakReference Data) AppendLongDataAndForgetIt(IRaftLogStore log)
    {
        var data = new byte[RaftToolkit.Native.Coalescing.WriteRequest.CallerDataMinBytes * 2];
        var append = log.AppendAsync(new[] { Entry.Normal(Id(1, 0), data) }, IgnoringCallback.Instance).AsTask();
        return (append, new WeakReference(data));
    }

    /// <summary>
    /// A callback says "flushed" for the caller's write and everything the group wrote before it,
    /// so an empty append, which writes nothing, is answered after the writes issued before it,
    /// as is an empty batch. Alone, it costs no write.
    /// </summary>
    [Fact]
    public async Task AnEmptyAppendOrBatchIsAnsweredOnlyAfterTheWritesIssuedBeforeIt()
    {
        await using var store = OpenPrefixed();
        var log = store.ForGroup(1);
        using var holdWriter = HoldingCallback.HoldWriterOf(store, out var earlier);

        var first = new RecordingCallback();
        var empty = new RecordingCallback();
        var firstAppend = log.AppendAsync(Range(1, 0, 3), first).AsTask();
        var emptyAppend = log.AppendAsync(ReadOnlyMemory<Entry>.Empty, empty).AsTask();
        var emptyBatch = store.WriteAsync(new LogWriteBatch()).AsTask();
        Assert.Empty(empty.Outcomes);
        Assert.False(emptyAppend.IsCompleted);
        Assert.False(emptyBatch.IsCompleted);

        holdWriter.Release();
        await Task.WhenAll(earlier, firstAppend, emptyAppend, emptyBatch);
        Assert.Equal([null], first.Outcomes);
        Assert.Equal([null], empty.Outcomes);

        long writes = store.Coalescer.WritesIssued;
        await log.AppendAsync(ReadOnlyMemory<Entry>.Empty, empty);
        Assert.Equal([null, null], empty.Outcomes);
        Assert.Equal(writes, store.Coalescer.WritesIssued);
    }

    [Fact]
    public async Task OpeningADatabaseAStoreHasOpenFailsSayingItIsInUse()
    {
        await using var first = OpenPrefixed();
        var error = Assert.Throws<StoreOpenException>(() => OpenPrefixed());
        Assert.True(error.InUse);
        Assert.Equal(_dir.Sub("db"), error.Path);
        Assert.Contains("is in use", error.Message, StringComparison.Ordinal);

        await first.ForGroup(1).AppendAsync(Range(1, 0, 1), IgnoringCallback.Instance);
        Assert.Equal(Range(1, 0, 1), await first.ForGroup(1).TryGetLogEntriesAsync(0, 10));
    }

    /// <summary>A lock file that cannot be opened (here a directory in its place) is an error of its own, not a database in use.</summary>
    [Fact]
    public async Task ALockFileThatCannotBeOpenedIsNotReportedAsADatabaseInUse()
    {
        await using (OpenPrefixed())
        {
        }

        string lockFile = Path.Combine(_dir.Sub("db"), "LOCK");
        File.Delete(lockFile);
        Directory.CreateDirectory(lockFile);

        var error = Assert.Throws<StoreOpenException>(() => OpenPrefixed());
        Assert.False(error.InUse);
        Assert.Contains("could not be opened", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OpeningAFileFailsAndLeavesItAsItWas()
    {
        string file = _dir.Sub("file");
        File.WriteAllText(file, "not a database");
        var error = Assert.Throws<StoreOpenException>(() => RocksDbLogStore.Open(file));
        Assert.False(error.InUse);
        Assert.Contains(file, error.Message, StringComparison.Ordinal);
        Assert.Equal("not a database", File.ReadAllText(file));
    }

    /// <summary>
    /// Without <see cref="RocksDbLogStoreOptions.CreateIfMissing"/>, a path that holds no database
    /// is refused before RocksDB is asked: RocksDB would make the directory, and write its info
    /// log and lock file into it, before finding no database there.
    /// </summary>
    [Fact]
    public void OpeningAMissingDatabaseWithoutCreateIfMissingFailsAndCreatesNothing()
    {
        var options = new RocksDbLogStoreOptions { CreateIfMissing = false, WalDirectory = _dir.Sub("wal") };
        string missing = _dir.Sub("missing");
        var error = Assert.Throws<StoreOpenException>(() => RocksDbLogStore.Open(missing, options));
        Assert.Equal(missing, error.Path);
        Assert.False(Directory.Exists(missing), "the refused open made the database's directory");
        Assert.False(Directory.Exists(_dir.Sub("wal")), "the refused open made the WAL's directory");
        Assert.Contains("CreateIfMissing", error.Message, StringComparison.Ordinal);

        string empty = _dir.Sub("empty");
        Directory.CreateDirectory(empty);
        Assert.Throws<StoreOpenException>(() => RocksDbLogStore.Open(empty, options));
        Assert.Empty(Directory.GetFileSystemEntries(empty));
    }

    [Fact]
    public async Task FlatStoreIsItselfTheGroupsLog()
    {
        await using (var store = OpenFlat())
        {
            await store.AppendAsync(Range(2, 0, 3), IgnoringCallback.Instance);
            await store.SaveVoteAsync(new Vote(2, 1).Commit());
            Assert.Same(store.GetReader(), store.ForGroup(7));
        }

        await using var reopened = OpenFlat();
        Assert.Equal(Range(2, 0, 3), await reopened.TryGetLogEntriesAsync(0, 3));
        Assert.Equal(new Vote(2, 1).Commit(), await reopened.ReadVoteAsync());
        Assert.Equal([7UL], await reopened.ListGroupsAsync());
    }

    [Fact]
    public async Task FlatStoreRefusesOtherGroupIds()
    {
        await using var store = OpenFlat(groupId: 7);
        Assert.Throws<ArgumentException>(() => store.ForGroup(8));
    }

    [Fact]
    public async Task GroupPrefixedStoreRefusesSingleGroupCallsWithoutAGroup()
    {
        await using var store = OpenPrefixed();
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await store.GetLogStateAsync());
    }

    [Fact]
    public async Task NonContiguousAppendIsRejectedAndWritesNothing()
    {
        await using var store = OpenPrefixed();
        var log = store.ForGroup(3);
        await log.AppendAsync(Range(1, 0, 3), IgnoringCallback.Instance);
        var error = await Assert.ThrowsAsync<LogOrderException>(async () => await log.AppendAsync(Range(1, 4, 2), IgnoringCallback.Instance));
        Assert.Equal(3UL, error.GroupId);
        Assert.Equal(Range(1, 0, 3), await log.TryGetLogEntriesAsync(0, 10));
        Assert.Equal(Id(1, 2), (await log.GetLogStateAsync()).LastLogId);
    }

    [Fact]
    public async Task EntriesWithAHoleInsideOneAppendAreRejected()
    {
        await using var store = OpenPrefixed();
        Entry[] gappy = [.. Range(1, 0, 2), .. Range(1, 3, 1)];
        await Assert.ThrowsAsync<LogOrderException>(async () => await store.ForGroup(1).AppendAsync(gappy, IgnoringCallback.Instance));
        Assert.Empty(await store.ForGroup(1).TryGetLogEntriesAsync(0, 10));
    }

    /// <summary>
    /// Membership entries are staged whole. Nodes may share one large data buffer, so the
    /// encoding's size can pass 2 GiB: it is refused as too large (before, the size wrapped to a
    /// negative number that passed the 1 GiB bound), and nothing is written.
    /// </summary>
    [Fact]
    public async Task AMembershipEntryTooLargeToEncodeIsRejectedAndWritesNothing()
    {
        await using var store = OpenPrefixed();
        var log = store.ForGroup(1);
        await log.AppendAsync(Range(1, 0, 1), IgnoringCallback.Instance);
        ReadOnlyMemory<byte> shared = new byte[800_000_000];
        var huge = Membership.Create([[1, 2, 3]], [new(1, shared), new(2, shared), new(3, shared)]);

        var error = await Assert.ThrowsAsync<ArgumentException>(async () => await log.AppendAsync(new[] { Entry.ForMembership(Id(1, 1), huge) }, IgnoringCallback.Instance));
        Assert.Contains("membership's encoding would take", error.Message, StringComparison.Ordinal);

        Assert.Equal(new LogState(null, Id(1, 0)), await log.GetLogStateAsync());
        await log.AppendAsync(Range(1, 1, 1), IgnoringCallback.Instance);
        Assert.Equal(Range(1, 0, 2), await log.TryGetLogEntriesAsync(0, 10));
    }

    [Fact]
    public async Task AWriteOfMoreThanOneGibibyteIsRejectedAndWritesNothing()
    {
        await using var store = OpenPrefixed();
        var log = store.ForGroup(1);

        // Three entries sharing one 400 MB payload: 1.2 GB to write, though none of it is staged.
        var payload = new byte[400_000_000];
        Entry[] huge = [.. Enumerable.Range(0, 3).Select(i => Entry.Normal(Id(1, (ulong)i), payload))];

        var append = await Assert.ThrowsAsync<ArgumentException>(async () => await log.AppendAsync(huge, IgnoringCallback.Instance));
        Assert.Equal("entries", append.ParamName);
        var batch = new LogWriteBatch();
        batch.Append(2, Range(1, 0, 1));
        batch.Append(1, huge);
        var write = await Assert.ThrowsAsync<ArgumentException>(async () => await store.WriteAsync(batch));
        Assert.Equal("batch", write.ParamName);

        Assert.Equal(new LogState(null, null), await log.GetLogStateAsync());
        Assert.Equal(new LogState(null, null), await store.ForGroup(2).GetLogStateAsync());
        await log.AppendAsync(Range(1, 0, 1), IgnoringCallback.Instance);
        Assert.Equal(Range(1, 0, 1), await log.TryGetLogEntriesAsync(0, 10));
    }

    [Fact]
    public async Task TruncateAfterDeletesTheTailOnly()
    {
        await using var store = OpenPrefixed();
        var log = store.ForGroup(1);
        await log.AppendAsync(Range(1, 0, 10), IgnoringCallback.Instance);
        await log.TruncateAfterAsync(Id(1, 4));
        Assert.Equal(Range(1, 0, 5), await log.TryGetLogEntriesAsync(0, 100));
        Assert.Equal(new LogState(null, Id(1, 4)), await log.GetLogStateAsync());
        await log.AppendAsync(Range(2, 5, 1), IgnoringCallback.Instance);
        Assert.Equal(Id(2, 5), await log.GetLogIdAsync(5));
    }

    /// <summary>
    /// A truncation keeps the stored entry at the index it names, whatever term it names: the
    /// log's last id is that entry's, as a reload reads it and as the in-memory store says, never
    /// the named id (Raft elections compare last log ids). Through a view and in a batch alike.
    /// </summary>
    [Fact]
    public async Task ATruncationNamingAnotherTermLeavesTheStoredEntryLastAsAReloadWould()
    {
        var named = new LogId(9, 4, 3);
        var kept = Id(1, 3);
        await using (var store = OpenPrefixed())
        {
            var log = store.ForGroup(1);
            await log.AppendAsync(Range(1, 0, 6), IgnoringCallback.Instance);
            await log.TruncateAfterAsync(named);
            Assert.Equal(new LogState(null, kept), await log.GetLogStateAsync());

            var batch = new LogWriteBatch();
            batch.Append(2, Range(1, 0, 6));
            batch.TruncateAfter(2, named);
            await store.WriteAsync(batch);
            Assert.Equal(new LogState(null, kept), await store.ForGroup(2).GetLogStateAsync());

            // Appending after it needs no read: the appended entry is last.
            await log.AppendAsync(Range(2, 4, 1), IgnoringCallback.Instance);
            Assert.Equal(new LogState(null, Id(2, 4)), await log.GetLogStateAsync());
        }

        await using var reopened = OpenPrefixed();
        Assert.Equal(new LogState(null, kept), await reopened.ForGroup(2).GetLogStateAsync());
    }

    /// <summary>
    /// Reading back a truncation's kept entry waits for an empty write; a write queued behind it
    /// may delete that entry (a lower truncation, a purge past it, the group's removal) before
    /// the read. The read then finds the log's ends moved and tries again: the answer is one a
    /// serial order gives, or the removed view's error, never an inconsistency.
    /// </summary>
    [Theory]
    [InlineData("truncate")]
    [InlineData("purge")]
    [InlineData("remove")]
    public async Task ALogStateReadBackThatAWriteBehindItOvertakesTriesAgain(string overtaking)
    {
        await using var store = OpenPrefixed();
        var log = store.ForGroup(1);
        await log.AppendAsync(Range(1, 0, 6), IgnoringCallback.Instance);

        Task<LogState> state;
        Task truncated;
        Task overtaken;
        using (var holdWriter = HoldingCallback.HoldWriterOf(store, out var earlier))
        {
            truncated = log.TruncateAfterAsync(new LogId(9, 4, 3)).AsTask();
            var reading = log.GetLogStateAsync();
            Assert.False(reading.IsCompleted, "the read-back waits for the queued writes");
            state = reading.AsTask();
            overtaken = overtaking switch
            {
                "truncate" => log.TruncateAfterAsync(Id(1, 1)).AsTask(),
                "purge" => log.PurgeAsync(Id(1, 9)).AsTask(),
                _ => store.RemoveGroupAsync(1).AsTask(),
            };
            holdWriter.Release();
            await earlier;
        }

        await Task.WhenAll(truncated, overtaken);
        switch (overtaking)
        {
            case "truncate":
                Assert.Contains(await state, new[] { new LogState(null, Id(1, 3)), new LogState(null, Id(1, 1)) });
                break;
            case "purge":
                Assert.Contains(await state, new[] { new LogState(null, Id(1, 3)), new LogState(Id(1, 9), Id(1, 9)) });
                break;
            default:
                await Assert.ThrowsAsync<UnknownGroupException>(() => state);
                break;
        }
    }

    /// <summary>
    /// A log state that reads back waits for a write, which is answered on the store's writing
    /// thread. The caller must not resume there: code that then waits for another write of the
    /// store would hold up the very thread that writes it.
    /// </summary>
    [Fact]
    public async Task AwaitingALogStateThatReadsBackDoesNotResumeTheCallerOnTheWritingThread()
    {
        await using var store = OpenPrefixed();
        var log = store.ForGroup(1);
        await log.AppendAsync(Range(1, 0, 6), IgnoringCallback.Instance);

        Task<bool> voteAfterState;
        using (var holdWriter = HoldingCallback.HoldWriterOf(store, out var earlier))
        {
            var truncated = log.TruncateAfterAsync(new LogId(9, 4, 3)).AsTask();
            var reading = log.GetLogStateAsync();
            Assert.False(reading.IsCompleted, "the read-back waits for the queued writes");
            voteAfterState = SaveVoteBlockingAfter(reading, log);
            holdWriter.Release();
            await Task.WhenAll(earlier, truncated);
        }

        Assert.True(await voteAfterState, "a vote saved (blocking) after the log state never became durable: its caller ran on the writing thread");
    }

    /// <summary>Awaits <paramref name="state"/> as library code does (without its context), then saves a vote and blocks until it is durable, for at most 10 s.</summary>
    private static async Task<bool> SaveVoteBlockingAfter(ValueTask<LogState> state, IRaftLogStore log)
    {
        await state.ConfigureAwait(false);
        return log.SaveVoteAsync(new Vote(5, 5)).AsTask().Wait(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task PurgeDeletesTheHeadAndPersistsLastPurgedAtomically()
    {
        await using (var store = OpenPrefixed())
        {
            var log = store.ForGroup(1);
            await log.AppendAsync(Range(1, 0, 10), IgnoringCallback.Instance);
            await log.PurgeAsync(Id(1, 5));
            Assert.Equal(Range(1, 6, 4), await log.TryGetLogEntriesAsync(0, 100));
        }

        await using var reopened = OpenPrefixed();
        Assert.Equal(new LogState(Id(1, 5), Id(1, 9)), await reopened.ForGroup(1).GetLogStateAsync());
        await Assert.ThrowsAsync<LogEntryNotFoundException>(async () => await reopened.ForGroup(1).GetLogIdAsync(5));
    }

    /// <summary>
    /// A purge deletes the head and records the purged id in one RocksDB write, which a crash
    /// applies whole or not at all. Two writes could leave the entries deleted with the old mark,
    /// and a reload would report the purged entries as the log's start.
    /// </summary>
    [Fact]
    public async Task APurgeIsOneWriteOfItsRangeDeletionAndItsMark()
    {
        await using var store = OpenPrefixed();
        var log = store.ForGroup(1);
        await log.AppendAsync(Range(1, 0, 10), IgnoringCallback.Instance);
        long writesBefore = store.Coalescer.WritesIssued;
        await log.PurgeAsync(Id(1, 5));

        Assert.Equal(writesBefore + 1, store.Coalescer.WritesIssued);
        Assert.Equal(new LogState(Id(1, 5), Id(1, 9)), await log.GetLogStateAsync());
    }

    [Fact]
    public async Task PurgeBeyondTheEndEmptiesTheLogAndMovesLastLogId()
    {
        await using var store = OpenPrefixed();
        var log = store.ForGroup(1);
        await log.AppendAsync(Range(1, 0, 3), IgnoringCallback.Instance);
        await log.PurgeAsync(Id(2, 7));
        Assert.Equal(new LogState(Id(2, 7), Id(2, 7)), await log.GetLogStateAsync());
        await log.AppendAsync(Range(2, 8, 1), IgnoringCallback.Instance);
        Assert.Equal(Range(2, 8, 1), await log.TryGetLogEntriesAsync(0, 100));
    }

    /// <summary>Purges and truncations are ordered by index: a later term does not make an earlier index a later purge.</summary>
    [Fact]
    public async Task PurgeBeforeTheLastPurgedIndexIsRejectedWhateverItsTerm()
    {
        await using var store = OpenPrefixed();
        var log = store.ForGroup(1);
        await log.AppendAsync(Range(1, 0, 10), IgnoringCallback.Instance);
        await log.PurgeAsync(Id(1, 5));
        await Assert.ThrowsAsync<LogOrderException>(async () => await log.PurgeAsync(Id(1, 3)));
        await Assert.ThrowsAsync<LogOrderException>(async () => await log.PurgeAsync(Id(2, 3)));
        await Assert.ThrowsAsync<LogOrderException>(async () => await log.TruncateAfterAsync(Id(1, 2)));
        Assert.Equal(new LogState(Id(1, 5), Id(1, 9)), await log.GetLogStateAsync());
    }

    /// <summary>What the store says after a truncation is what it reads back after reopening.</summary>
    [Fact]
    public async Task TruncatingAfterTheLastPurgedIndexLeavesThePurgedIdLast()
    {
        await using (var store = OpenPrefixed())
        {
            var log = store.ForGroup(1);
            await log.AppendAsync(Range(1, 0, 10), IgnoringCallback.Instance);
            await log.PurgeAsync(Id(1, 5));
            await log.TruncateAfterAsync(Id(3, 5));
            Assert.Equal(new LogState(Id(1, 5), Id(1, 5)), await log.GetLogStateAsync());
        }

        await using var reopened = OpenPrefixed();
        Assert.Equal(new LogState(Id(1, 5), Id(1, 5)), await reopened.ForGroup(1).GetLogStateAsync());
    }

    [Fact]
    public async Task VoteAndCommittedAreReadBackAfterReopen()
    {
        await using (var store = OpenPrefixed())
        {
            await store.ForGroup(4).SaveVoteAsync(new Vote(3, 2));
            await store.ForGroup(4).SaveCommittedAsync(Id(3, 9));
        }

        await using var reopened = OpenPrefixed();
        Assert.Equal(new Vote(3, 2), await reopened.ForGroup(4).ReadVoteAsync());
        Assert.Equal(Id(3, 9), await reopened.ForGroup(4).ReadCommittedAsync());
        Assert.Null(await reopened.ForGroup(5).ReadVoteAsync());
    }

    [Fact]
    public async Task LimitedReadReturnsAPrefixStartingAtTheFirstEntry()
    {
        await using var store = OpenPrefixed();
        var log = store.ForGroup(1);
        await log.AppendAsync(Range(1, 0, 2000), IgnoringCallback.Instance);
        var limited = await log.LimitedGetLogEntriesAsync(10, 2000);
        Assert.NotEmpty(limited);
        Assert.Equal(10UL, limited[0].Index);
        Assert.True(limited.Count < 1990);
    }

    [Fact]
    public async Task EntriesStreamYieldsTheWholeRangeAcrossChunks()
    {
        await using var store = OpenPrefixed();
        var log = store.ForGroup(1);
        await log.AppendAsync(Range(1, 0, 2500), IgnoringCallback.Instance);
        ulong expected = 3;
        await foreach (var entry in log.EntriesStreamAsync(3, 2400))
        {
            Assert.Equal(expected++, entry.Index);
        }

        Assert.Equal(2400UL, expected);
    }

    /// <summary>
    /// Entries above a chunk's 4 MiB: each chunk after the first starts at the entry streamed
    /// last, so a chunk that held that large entry alone would end the stream early, silently.
    /// </summary>
    [Fact]
    public async Task BothStreamsPassEntriesLargerThanAChunk()
    {
        await using var store = OpenPrefixed();
        var log = store.ForGroup(1);
        var entries = new[]
        {
            Entry.Normal(Id(1, 0), new byte[16]),
            Entry.Normal(Id(1, 1), new byte[5 << 20]),
            Entry.Normal(Id(1, 2), new byte[5 << 20]),
            Entry.Normal(Id(1, 3), new byte[16]),
        };
        await log.AppendAsync(entries, IgnoringCallback.Instance);
        await log.SaveVoteAsync(new Vote(1, 0).Commit());

        Assert.Equal(entries, await log.EntriesStreamAsync(0, 4).ToListAsync());
        Assert.Equal(entries, await log.LeaderBoundedStreamAsync(new LeaderId(1, 0), 0, 4).ToListAsync());
        Assert.Equal(entries[1..], await log.EntriesStreamAsync(1, 10).ToListAsync());
    }

    /// <summary>
    /// A stream longer than one chunk, whose log is purged past it, or truncated and rewritten
    /// in a new term, while it runs: it ends, contiguous and of one term, where it would
    /// otherwise skip the purged entries or go on into the new ones.
    /// </summary>
    [Theory]
    [InlineData("purge")]
    [InlineData("truncate and rewrite")]
    public async Task AStreamEndsWhereTheLogChangesUnderItRatherThanSkipOrSplice(string change)
    {
        await using var store = OpenPrefixed();
        var log = store.ForGroup(1);
        await log.AppendAsync(Range(1, 0, 2500), IgnoringCallback.Instance);
        var streamed = new List<LogId>();
        await foreach (var entry in log.EntriesStreamAsync(0, 2500))
        {
            streamed.Add(entry.LogId);
            if (streamed.Count == 10)
            {
                if (change == "purge")
                {
                    await log.PurgeAsync(Id(1, 1500));
                }
                else
                {
                    await log.TruncateAfterAsync(Id(1, 500));
                    await log.AppendAsync(Range(2, 501, 1999), IgnoringCallback.Instance);
                }
            }
        }

        Assert.InRange(streamed.Count, 10, 2499);
        Assert.Equal(Range(1, 0, streamed.Count).Select(entry => entry.LogId), streamed);
    }

    [Fact]
    public async Task AnInvertedRangeIsRefusedAsAnArgumentError()
    {
        await using var store = OpenPrefixed();
        var log = store.ForGroup(1);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await log.TryGetLogEntriesAsync(5, 3));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await log.LimitedGetLogEntriesAsync(5, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.EntriesStreamAsync(5, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.LeaderBoundedStreamAsync(new LeaderId(1, 0), 5, 3));
        Assert.Empty(await log.TryGetLogEntriesAsync(5, 5));
    }

    [Fact]
    public async Task LeaderBoundedStreamFailsOnceWhenTheVoteNamesAnotherLeader()
    {
        await using var store = OpenPrefixed();
        var log = store.ForGroup(1);
        await log.AppendAsync(Range(1, 0, 5), IgnoringCallback.Instance);
        await log.SaveVoteAsync(new Vote(1, 0).Commit());
        Assert.Equal(3, await CountAsync(log.LeaderBoundedStreamAsync(new LeaderId(1, 0), 0, 3)));
        await Assert.ThrowsAsync<LeaderChangedException>(async () => await CountAsync(log.LeaderBoundedStreamAsync(new LeaderId(1, 9), 0, 3)));
    }

    [Fact]
    public async Task WriteAsyncSpansGroupsAtomically()
    {
        await using var store = OpenPrefixed();
        var batch = new LogWriteBatch();
        batch.Append(1, Range(1, 0, 3));
        batch.SaveVote(2, new Vote(5, 5));
        batch.Append(2, Range(5, 0, 1));
        batch.SaveCommitted(1, Id(1, 1));
        long writesBefore = store.Coalescer.WritesIssued;
        await store.WriteAsync(batch);

        // One RocksDB write carried all six operations (three puts of entries, a vote, an entry, a
        // committed id): RocksDB applies a write batch whole or not at all, across a crash too.
        Assert.Equal(writesBefore + 1, store.Coalescer.WritesIssued);
        Assert.Equal(6, store.Coalescer.LargestWriteOperations);
        Assert.Equal(Range(1, 0, 3), await store.ForGroup(1).TryGetLogEntriesAsync(0, 9));
        Assert.Equal(new Vote(5, 5), await store.ForGroup(2).ReadVoteAsync());
        Assert.Equal(Id(1, 1), await store.ForGroup(1).ReadCommittedAsync());
    }

    [Fact]
    public async Task WriteAsyncWithOneBadOperationWritesNothing()
    {
        await using var store = OpenPrefixed();
        var batch = new LogWriteBatch();
        batch.Append(1, Range(1, 0, 3));
        batch.SaveVote(2, new Vote(5, 5));
        batch.Append(3, Range(1, 4, 1));
        await Assert.ThrowsAsync<LogOrderException>(async () => await store.WriteAsync(batch));
        Assert.Empty(await store.ForGroup(1).TryGetLogEntriesAsync(0, 9));
        Assert.Null(await store.ForGroup(2).ReadVoteAsync());
        Assert.Equal(new LogState(null, null), await store.ForGroup(1).GetLogStateAsync());
        Assert.Empty(await store.ListGroupsAsync());
    }

    [Fact]
    public async Task WriteAsyncRejectsAnAppendWithAHoleInsideItAndWritesNothing()
    {
        await using var store = OpenPrefixed();
        Entry[] gappy = [.. Range(1, 0, 2), .. Range(1, 3, 1)];
        var batch = new LogWriteBatch();
        batch.SaveVote(2, new Vote(5, 5));
        batch.Append(1, gappy);
        var error = await Assert.ThrowsAsync<LogOrderException>(async () => await store.WriteAsync(batch));
        Assert.Equal(1UL, error.GroupId);
        Assert.Empty(await store.ForGroup(1).TryGetLogEntriesAsync(0, 10));
        Assert.Equal(new LogState(null, null), await store.ForGroup(1).GetLogStateAsync());
        Assert.Null(await store.ForGroup(2).ReadVoteAsync());
        Assert.Empty(await store.ListGroupsAsync());
    }

    /// <summary>A batch is checked whole before any of it is staged: one refused argument leaves every other group as it was.</summary>
    [Fact]
    public async Task WriteAsyncWithAnOperationOutOfRangeWritesNothing()
    {
        await using var store = OpenPrefixed();
        var batch = new LogWriteBatch();
        batch.SaveVote(2, new Vote(5, 5));
        batch.Append(1, Range(1, 0, 3));
        batch.Purge(3, Id(1, LogIndexes.Max + 1));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.WriteAsync(batch));
        Assert.Null(await store.ForGroup(2).ReadVoteAsync());
        Assert.Empty(await store.ForGroup(1).TryGetLogEntriesAsync(0, 10));
        Assert.Equal(new LogState(null, null), await store.ForGroup(1).GetLogStateAsync());
        Assert.Empty(await store.ListGroupsAsync());
    }

    [Fact]
    public async Task WriteAsyncValidatesLaterOperationsAgainstEarlierOnesOfTheSameGroup()
    {
        await using var store = OpenPrefixed();
        var batch = new LogWriteBatch();
        batch.Append(1, Range(1, 0, 3));
        batch.Append(1, Range(1, 3, 2));
        batch.TruncateAfter(1, Id(1, 3));
        batch.Append(1, Range(2, 4, 1));
        await store.WriteAsync(batch);
        Assert.Equal([.. Range(1, 0, 4), .. Range(2, 4, 1)], await store.ForGroup(1).TryGetLogEntriesAsync(0, 9));
    }

    [Fact]
    public async Task WriteAsyncInterleavingGroupsOutOfOrderAppliesEachGroupsOperationsInOrder()
    {
        // The writer reorders a batch by group before RocksDB sees it; within a group, a truncate
        // or purge must still apply between the appends around it.
        await using var store = OpenPrefixed();
        var batch = new LogWriteBatch();
        batch.Append(30, Range(1, 0, 4));
        batch.Append(10, Range(1, 0, 3));
        batch.TruncateAfter(30, Id(1, 1));
        batch.SaveVote(20, new Vote(2, 2));
        batch.Purge(10, Id(1, 0));
        batch.Append(30, Range(2, 2, 2));
        batch.Append(10, Range(1, 3, 1));
        batch.SaveVote(20, new Vote(3, 3));
        batch.TruncateAfter(10, Id(1, 2));
        await store.WriteAsync(batch);

        Assert.Equal([.. Range(1, 0, 2), .. Range(2, 2, 2)], await store.ForGroup(30).TryGetLogEntriesAsync(0, 9));
        Assert.Equal(Range(1, 1, 2), await store.ForGroup(10).TryGetLogEntriesAsync(0, 9));
        Assert.Equal(new LogState(Id(1, 0), Id(1, 2)), await store.ForGroup(10).GetLogStateAsync());
        Assert.Equal(new Vote(3, 3), await store.ForGroup(20).ReadVoteAsync());
    }

    [Fact]
    public async Task ListGroupsReportsEveryGroupWithStateInOrder()
    {
        await using var store = OpenPrefixed();
        await store.ForGroup(300).AppendAsync(Range(1, 0, 1), IgnoringCallback.Instance);
        await store.ForGroup(2).SaveVoteAsync(new Vote(1, 1));
        await store.ForGroup(ulong.MaxValue).AppendAsync(Range(1, 0, 1), IgnoringCallback.Instance);
        await store.ForGroup(300).SaveVoteAsync(new Vote(1, 1));
        _ = store.ForGroup(55);
        Assert.Equal([2UL, 300UL, ulong.MaxValue], await store.ListGroupsAsync());
    }

    [Fact]
    public async Task RemovedGroupLosesEveryKeyAndOldViewsFail()
    {
        await using var store = OpenPrefixed();
        var old = store.ForGroup(9);
        await old.AppendAsync(Range(1, 0, 4), IgnoringCallback.Instance);
        await old.SaveVoteAsync(new Vote(1, 1));
        await store.ForGroup(10).AppendAsync(Range(1, 0, 4), IgnoringCallback.Instance);
        await store.RemoveGroupAsync(9);
        Assert.Equal([10UL], await store.ListGroupsAsync());
        await Assert.ThrowsAsync<UnknownGroupException>(async () => await old.GetLogStateAsync());
        Assert.Throws<UnknownGroupException>(() => old.GetReader());
        await Assert.ThrowsAsync<UnknownGroupException>(async () => await old.AppendAsync(Range(1, 4, 1), IgnoringCallback.Instance));
        var fresh = store.ForGroup(9);
        Assert.Equal(new LogState(null, null), await fresh.GetLogStateAsync());
        Assert.Null(await fresh.ReadVoteAsync());
        await fresh.AppendAsync(Range(3, 0, 1), IgnoringCallback.Instance);
        Assert.Equal(Range(4, 0, 0), await store.ForGroup(10).TryGetLogEntriesAsync(4, 9));
        Assert.Equal(4, (await store.ForGroup(10).TryGetLogEntriesAsync(0, 9)).Count);
    }

    /// <summary>
    /// Removal is idempotent, also when two removals of a group race: the second is staged
    /// against the state the first replaces, and still removes the group (as it would if it ran
    /// after the first), rather than fail as if the group were unknown.
    /// </summary>
    [Fact]
    public async Task TwoRacingRemovalsOfOneGroupBothSucceed()
    {
        const int Groups = 300;
        await using var store = await ReopenedWith(Groups, (log, _) => log.AppendAsync(Range(1, 0, 2), IgnoringCallback.Instance));

        var failures = await RaceEachGroup(Groups, g => store.RemoveGroupAsync(g), g => store.RemoveGroupAsync(g));

        Assert.Empty(failures);
        Assert.Empty(await store.ListGroupsAsync());
    }

    /// <summary>
    /// A batch write names its groups by id, so a removal of one of them that lands between
    /// staging and queueing the batch makes the batch apply to the group as the removal left it
    /// (removal first, then the batch), rather than refuse the whole batch, writes to other
    /// groups with it. A write through a view of the removed group still fails (above).
    /// </summary>
    [Fact]
    public async Task ABatchWriteRacingARemovalOfOneOfItsGroupsAppliesAfterIt()
    {
        const int Groups = 300;
        const ulong Bystanders = 1_000_000;
        await using var store = await ReopenedWith(Groups, (log, _) => log.SaveVoteAsync(new Vote(1, 1)));

        // The group first, then bystanders whose first use loads them: staging takes long enough
        // for the removal to land between staging the group's vote and queueing the batch.
        const int BystandersPerBatch = 16;
        ValueTask VoteInBatch(ulong g)
        {
            var batch = new LogWriteBatch();
            batch.SaveVote(g, new Vote(2, 2));
            for (ulong b = 0; b < BystandersPerBatch; b++)
            {
                batch.SaveVote(Bystanders + (g * BystandersPerBatch) + b, new Vote(3, 3));
            }

            return store.WriteAsync(batch);
        }

        var failures = await RaceEachGroup(Groups, g => store.RemoveGroupAsync(g), VoteInBatch);

        Assert.Empty(failures);
        for (ulong g = 1; g <= Groups; g++)
        {
            // Either order leaves no trace of the first vote; the batch's is there if it came second.
            var vote = await store.ForGroup(g).ReadVoteAsync();
            Assert.True(vote is null || vote == new Vote(2, 2), $"group {g} holds vote {vote}");
            Assert.Equal(new Vote(3, 3), await store.ForGroup(Bystanders + (g * BystandersPerBatch)).ReadVoteAsync());
        }
    }

    /// <summary>
    /// The store caches a state per group it has used, and a removal puts an empty one in the
    /// removed group's place. Once the removal is written, that stand-in is dropped unless
    /// something used it meanwhile: a service that creates and removes groups for as long as it
    /// runs holds the groups it uses, not every group it ever removed.
    /// </summary>
    [Fact]
    public async Task RemovedGroupsNobodyUsesAgainLeaveNothingCached()
    {
        const int Groups = 1_000;
        await using var store = OpenPrefixed();
        for (ulong g = 1; g <= Groups; g++)
        {
            await store.ForGroup(g).AppendAsync(Range(1, 0, 2), IgnoringCallback.Instance);
        }

        Assert.Equal(Groups, store.CachedGroups);

        for (ulong g = 1; g <= Groups; g++)
        {
            await store.RemoveGroupAsync(g);
        }

        await store.RemoveGroupAsync(Groups + 1);
        Assert.Equal(0, store.CachedGroups);
        Assert.Empty(await store.ListGroupsAsync());

        // A removed group used again starts empty, and is cached again.
        var again = store.ForGroup(7);
        Assert.Equal(new LogState(null, null), await again.GetLogStateAsync());
        await again.AppendAsync(Range(2, 0, 1), IgnoringCallback.Instance);
        Assert.Equal(Range(2, 0, 1), await store.ForGroup(7).TryGetLogEntriesAsync(0, 1));
        Assert.Equal(1, store.CachedGroups);
    }

    /// <summary>
    /// A view taken while the group's removal is queued is the new group's log, for as long as
    /// the store lives: the removal's being written does not drop its state from under it.
    /// </summary>
    [Fact]
    public async Task AViewTakenWhileItsGroupsRemovalIsQueuedStaysTheGroupsLog()
    {
        await using var store = OpenPrefixed();
        var (hold, held, removal) = await QueueARemovalOfGroup5BehindAHeldWrite(store);
        using var _ = hold;
        var fresh = store.ForGroup(5);
        hold.Release();
        await Task.WhenAll(held, removal);

        Assert.Same(fresh, store.ForGroup(5));
        await fresh.AppendAsync(Range(2, 0, 1), IgnoringCallback.Instance);
        Assert.Equal(Range(2, 0, 1), await store.ForGroup(5).TryGetLogEntriesAsync(0, 9));
    }

    /// <summary>
    /// A view taken while the group's removal is queued reads nothing of the removed group,
    /// though the database still holds it until the removal is written: no entry, vote or
    /// committed id, as its log state (empty) says. Its own writes queued behind the removal are
    /// counted in its log state, and read once written, as any write is.
    /// </summary>
    [Fact]
    public async Task AViewTakenWhileItsGroupsRemovalIsQueuedReadsNothingOfTheRemovedGroup()
    {
        await using var store = OpenPrefixed();
        await store.ForGroup(5).SaveVoteAsync(new Vote(1, 0).Commit());
        await store.ForGroup(5).SaveCommittedAsync(Id(1, 1));
        var (hold, held, removal) = await QueueARemovalOfGroup5BehindAHeldWrite(store);
        using var _ = hold;
        var fresh = store.ForGroup(5);

        Assert.Equal(new LogState(null, null), await fresh.GetLogStateAsync());
        Assert.Empty(await fresh.TryGetLogEntriesAsync(0, 10));
        Assert.Empty(await fresh.LimitedGetLogEntriesAsync(0, 10));
        Assert.Null(await fresh.ReadVoteAsync());
        Assert.Null(await fresh.ReadCommittedAsync());
        await Assert.ThrowsAsync<LogEntryNotFoundException>(async () => await fresh.GetLogIdAsync(0));

        var append = fresh.AppendAsync(Range(2, 0, 1), IgnoringCallback.Instance).AsTask();
        Assert.Equal(new LogState(null, Id(2, 0)), await fresh.GetLogStateAsync());
        var unwritten = await Assert.ThrowsAsync<LogEntryNotFoundException>(async () => await fresh.GetLogIdAsync(0));
        Assert.Contains("not written yet", unwritten.Message, StringComparison.Ordinal);
        Assert.Empty(await fresh.TryGetLogEntriesAsync(0, 10));

        hold.Release();
        await Task.WhenAll(held, removal, append);
        Assert.Equal(Range(2, 0, 1), await fresh.TryGetLogEntriesAsync(0, 10));
        Assert.Equal(Id(2, 0), await fresh.GetLogIdAsync(0));
        Assert.Null(await fresh.ReadVoteAsync());
        Assert.Null(await fresh.ReadCommittedAsync());
    }

    /// <summary>
    /// A view handed out before a removal fails as the removed group's, also when it is loaded
    /// from the database by the read that the removal races: the removal is queued and written,
    /// and the group written again, while that first read loads the view's state.
    /// </summary>
    [Theory]
    [InlineData("log state")]
    [InlineData("log id")]
    public async Task AnOldViewLoadedByAReadThatARemovalOvertakesFailsAsRemoved(string read)
    {
        await using (var first = OpenPrefixed())
        {
            await first.ForGroup(1).AppendAsync(Range(1, 0, 5), IgnoringCallback.Instance);
        }

        await using var store = OpenPrefixed();
        var old = store.ForGroup(1);
        int overtaken = 0;
        store.BeforeRead = () =>
        {
            if (Interlocked.Exchange(ref overtaken, 1) == 0)
            {
                store.RemoveGroupAsync(1).AsTask().GetAwaiter().GetResult();
                store.ForGroup(1).AppendAsync(Range(2, 0, 5), IgnoringCallback.Instance).AsTask().GetAwaiter().GetResult();
            }
        };

        var error = await Record.ExceptionAsync(async () => _ = read == "log state" ? await old.GetLogStateAsync() : (object)await old.GetLogIdAsync(3));

        Assert.Equal(1, overtaken);
        Assert.IsType<UnknownGroupException>(error);
    }

    /// <summary>
    /// A view first asked for just as the group's removal is written, its stand-in found but not
    /// yet handed out when the store drops it: the caller gets the group's next state, the one
    /// every later caller gets, not the dropped one.
    /// </summary>
    [Fact]
    public async Task AViewAskedForAsItsGroupsStandInIsDroppedIsTheStateEveryoneGets()
    {
        await using var store = OpenPrefixed();
        var (hold, held, removal) = await QueueARemovalOfGroup5BehindAHeldWrite(store);
        using var _ = hold;
        store.BeforeHandOut = () =>
        {
            // Once only: the removal is written, and its stand-in dropped, between the lookup and the hand-out.
            store.BeforeHandOut = null;
            hold.Release();
            removal.GetAwaiter().GetResult();
        };

        var view = store.ForGroup(5);

        await held;
        Assert.Same(view, store.ForGroup(5));
        Assert.Equal(new LogState(null, null), await view.GetLogStateAsync());
        await view.AppendAsync(Range(2, 0, 1), IgnoringCallback.Instance);
        Assert.Equal(Range(2, 0, 1), await store.ForGroup(5).TryGetLogEntriesAsync(0, 9));
    }

    /// <summary>
    /// A write by group id staged against a stand-in that the store drops before the write is
    /// queued applies to the group's state as it is now, so the group's log state counts it
    /// while it is queued, as it counts any write.
    /// </summary>
    [Fact]
    public async Task ABatchWriteStagedAgainstADroppedStandInCountsInTheGroupsState()
    {
        await using var store = OpenPrefixed();
        var (first, firstHeld, removal) = await QueueARemovalOfGroup5BehindAHeldWrite(store);
        using var _ = first;

        // Staged while the removal is queued (group 5 against its stand-in); the first use of
        // group 777 reads it from the database, and by the end of that read the removal is
        // written, its stand-in dropped, and the writer held again, so the batch stays queued.
        using var second = new HoldingCallback();
        Task secondHeld = Task.CompletedTask;
        store.BeforeRead = () =>
        {
            store.BeforeRead = null;
            first.Release();
            removal.GetAwaiter().GetResult();
            secondHeld = Task.Run(() => store.ForGroup(10).AppendAsync(Range(1, 0, 1), second).AsTask());
            Assert.True(second.WaitUntilHolding());
        };
        var batch = new LogWriteBatch();
        batch.Append(5, Range(3, 0, 1));
        batch.SaveVote(777, new Vote(1, 1));
        var write = store.WriteAsync(batch).AsTask();

        Assert.False(write.IsCompleted);
        Assert.Equal(new LogState(null, Id(3, 0)), await store.ForGroup(5).GetLogStateAsync());
        second.Release();
        await Task.WhenAll(write, firstHeld, secondHeld);
        Assert.Equal(Range(3, 0, 1), await store.ForGroup(5).TryGetLogEntriesAsync(0, 9));
    }

    /// <summary>
    /// Writes group 5 of <paramref name="store"/>, holds the store's writer in another write, and
    /// queues the group's removal behind it: the removal is written once <c>Hold</c> is released.
    /// </summary>
    private static async Task<(HoldingCallback Hold, Task Held, Task Removal)> QueueARemovalOfGroup5BehindAHeldWrite(RocksDbLogStore store)
    {
        await store.ForGroup(5).AppendAsync(Range(1, 0, 2), IgnoringCallback.Instance);
        var hold = HoldingCallback.HoldWriterOf(store, out var held);
        var removal = store.RemoveGroupAsync(5).AsTask();
        Assert.False(removal.IsCompleted);
        return (hold, held, removal);
    }

    /// <summary>
    /// A store whose groups 1..<paramref name="groups"/> were written by <paramref name="write"/>
    /// before it was reopened: each group's first use then loads it from the database, which
    /// widens the window between staging a write and queueing it that the race tests aim at.
    /// </summary>
    private async Task<RocksDbLogStore> ReopenedWith(int groups, Func<IRaftLogStore, ulong, ValueTask> write)
    {
        var options = new RocksDbLogStoreOptions { SyncMode = LogSyncMode.NoSync };
        await using (var store = RocksDbLogStore.Open(_dir.Sub("db"), options))
        {
            for (ulong g = 1; g <= (ulong)groups; g++)
            {
                await write(store.ForGroup(g), g);
            }
        }

        return RocksDbLogStore.Open(_dir.Sub("db"), options);
    }

    /// <summary>For each group 1..<paramref name="groups"/>, runs both calls on it at once (on two threads); returns what they threw.</summary>
    private static async Task<List<Exception>> RaceEachGroup(int groups, Func<ulong, ValueTask> first, Func<ulong, ValueTask> second)
    {
        var failures = new List<Exception>();
        using var together = new Barrier(2);
        await Coalescing.OwnThreads.Run(2, thread =>
        {
            var call = thread == 0 ? first : second;
            for (ulong g = 1; g <= (ulong)groups; g++)
            {
                together.SignalAndWait();
                try
                {
                    call(g).AsTask().GetAwaiter().GetResult();
                }
                catch (Exception e)
                {
                    lock (failures)
                    {
                        failures.Add(e);
                    }
                }
            }
        });
        return failures;
    }

    [Fact]
    public async Task ClosedStoreRefusesEveryCall()
    {
        var store = OpenPrefixed();
        var log = store.ForGroup(1);
        await store.DisposeAsync();
        await Assert.ThrowsAsync<StoreClosedException>(async () => await log.AppendAsync(Range(1, 0, 1), IgnoringCallback.Instance));
        await Assert.ThrowsAsync<StoreClosedException>(async () => await log.ReadVoteAsync());
        Assert.Throws<StoreClosedException>(() => log.GetReader());
        Assert.Throws<StoreClosedException>(() => store.ForGroup(2));
    }

    [Fact]
    public async Task MissingColumnFamilyIsATypedErrorNamingIt()
    {
        string path = _dir.Sub("cf");
        await using (RocksDbLogStore.Open(path))
        {
        }

        var error = Assert.Throws<ColumnFamilyNotFoundException>(() => RocksDbLogStore.Open(path, new RocksDbLogStoreOptions { MetaColumnFamily = "tenant_meta", CreateIfMissing = false }));
        Assert.Equal("tenant_meta", error.ColumnFamily);
        Assert.Contains("tenant_meta", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AttachedDatabaseWithoutTheColumnFamilyIsATypedError()
    {
        string path = _dir.Sub("attach");
        using var db = RocksDbSharp.RocksDb.Open(new RocksDbSharp.DbOptions().SetCreateIfMissing(true), path);
        var error = Assert.Throws<ColumnFamilyNotFoundException>(() => RocksDbLogStore.Attach(db));
        Assert.Equal(RocksDbLogStoreOptions.DefaultLogColumnFamily, error.ColumnFamily);
        await Task.CompletedTask;
    }

    /// <summary>A database disposed before it is attached is refused as disposed, not as one missing the store's column families.</summary>
    [Fact]
    public void AttachingADisposedDatabaseIsRefusedAsDisposed()
    {
        var db = RocksDbLogStore.OpenDatabase(_dir.Sub("db"), new RocksDbLogStoreOptions());
        db.Dispose();
        var error = Assert.Throws<ObjectDisposedException>(() => RocksDbLogStore.Attach(db));
        Assert.Contains("disposed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASecondStoreOverColumnFamiliesInUseIsATypedErrorAndChangesNothing()
    {
        using var db = RocksDbLogStore.OpenDatabase(_dir.Sub("shared"), new RocksDbLogStoreOptions());
        var first = RocksDbLogStore.Attach(db);
        await first.ForGroup(1).AppendAsync(Range(1, 0, 3), IgnoringCallback.Instance);
        db.CreateColumnFamily(new RocksDbSharp.ColumnFamilyOptions(), "other_log");
        db.CreateColumnFamily(new RocksDbSharp.ColumnFamilyOptions(), "other_meta");

        var same = Assert.Throws<ColumnFamilyInUseException>(() => RocksDbLogStore.Attach(db));
        Assert.Equal(RocksDbLogStoreOptions.DefaultLogColumnFamily, same.ColumnFamily);

        // One family shared is one too many; the refused store did not mark its other family
        // with its key space, as a store that opened would have.
        var overlapping = Assert.Throws<ColumnFamilyInUseException>(() =>
            RocksDbLogStore.Attach(db, new RocksDbLogStoreOptions { MetaColumnFamily = "other_meta", KeySpace = LogKeySpace.Flat }));
        Assert.Equal(RocksDbLogStoreOptions.DefaultLogColumnFamily, overlapping.ColumnFamily);
        using (var otherMeta = db.NewIterator(db.GetColumnFamily("other_meta")))
        {
            Assert.False(otherMeta.SeekToFirst().Valid());
        }

        // Other column families of the same database make a store of their own.
        await using (var beside = RocksDbLogStore.Attach(db, new RocksDbLogStoreOptions { LogColumnFamily = "other_log", MetaColumnFamily = "other_meta" }))
        {
            await beside.ForGroup(1).AppendAsync(Range(5, 0, 1), IgnoringCallback.Instance);
        }

        Assert.Equal(Range(1, 0, 3), await first.ForGroup(1).TryGetLogEntriesAsync(0, 100));

        // A disposed store gives its column families back.
        await first.DisposeAsync();
        await using var again = RocksDbLogStore.Attach(db);
        Assert.Equal(Range(1, 0, 3), await again.ForGroup(1).TryGetLogEntriesAsync(0, 100));
    }

    [Fact]
    public async Task CallerNamedColumnFamiliesAreUsed()
    {
        var options = new RocksDbLogStoreOptions { LogColumnFamily = "a_log", MetaColumnFamily = "a_meta" };
        string path = _dir.Sub("named");
        await using (var store = RocksDbLogStore.Open(path, options))
        {
            await store.ForGroup(1).AppendAsync(Range(1, 0, 1), IgnoringCallback.Instance);
        }

        var names = RocksDbSharp.RocksDb.ListColumnFamilies(new RocksDbSharp.DbOptions(), path).ToArray();
        Assert.Contains("a_log", names);
        Assert.Contains("a_meta", names);
    }

    [Theory]
    [InlineData(nameof(RocksDbLogStoreOptions.MaxBatchOperations))]
    [InlineData(nameof(RocksDbLogStoreOptions.MaxBatchBytes))]
    [InlineData(nameof(RocksDbLogStoreOptions.MaxWriteBufferNumber))]
    [InlineData(nameof(RocksDbLogStoreOptions.LogColumnFamily))]
    public void InvalidOptionsAreRejectedBeforeOpening(string option)
    {
        var options = new RocksDbLogStoreOptions();
        switch (option)
        {
            case nameof(RocksDbLogStoreOptions.MaxBatchOperations):
                options.MaxBatchOperations = 0;
                break;
            case nameof(RocksDbLogStoreOptions.MaxBatchBytes):
                options.MaxBatchBytes = 10;
                break;
            case nameof(RocksDbLogStoreOptions.MaxWriteBufferNumber):
                options.MaxWriteBufferNumber = 1;
                break;
            default:
                options.LogColumnFamily = " ";
                break;
        }

        var error = Assert.ThrowsAny<ArgumentException>(() => RocksDbLogStore.Open(_dir.Sub("invalid"), options));
        Assert.Equal(option, error.ParamName);
        Assert.False(Directory.Exists(_dir.Sub("invalid")));
    }

    private static async Task<int> CountAsync(IAsyncEnumerable<Entry> entries)
    {
        int count = 0;
        await foreach (var _ in entries)
        {
            count++;
        }

        return count;
    }
}
