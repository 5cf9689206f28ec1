using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Testing.Faults;
using RaftToolkit.Testing.Storage;
using Xunit;

namespace RaftToolkit.Testing.Tests.Faults;

/// <summary>
/// The fault-injecting stores fail exactly the planned write, counted from when it is planned, then
/// stop like a real store: every kind of write fails, none reaches the store underneath, and reads
/// keep working.
/// </summary>
public sealed class FaultInjectionTests
{
    private static Entry Blank(ulong index) => Entry.Blank(new LogId(1, 0, index));

    [Fact]
    public async Task ThePlannedWriteFailsAndWritesNothing()
    {
        var faults = new WriteFaults();
        var store = new FaultInjectingLogStore(new InMemoryLogStore(), faults);
        await store.AppendAndFlushAsync(new[] { Blank(0) });
        faults.FailWrite(1);

        var error = await Assert.ThrowsAsync<StoreFailedException>(async () => await store.AppendAndFlushAsync(new[] { Blank(1) }));
        Assert.IsType<IOException>(error.InnerException);
        Assert.Equal(new LogId(1, 0, 0), (await store.GetLogStateAsync()).LastLogId);
    }

    [Fact]
    public async Task EveryLaterWriteFailsWithTheOriginalError()
    {
        var faults = new WriteFaults();
        var store = new FaultInjectingMultiGroupLogStore(new InMemoryMultiGroupLogStore(), faults);
        faults.FailWrite(2);
        await store.ForGroup(1).SaveVoteAsync(new Vote(1, 1));
        var first = await Assert.ThrowsAsync<StoreFailedException>(async () => await store.ForGroup(2).SaveVoteAsync(new Vote(1, 2)));

        var batch = new LogWriteBatch();
        batch.SaveVote(3, new Vote(1, 3));
        var later = await Assert.ThrowsAsync<StoreFailedException>(async () => await store.WriteAsync(batch));
        Assert.Same(first.InnerException, later.InnerException);
        Assert.Null(await store.ForGroup(2).ReadVoteAsync());
        Assert.Null(await store.ForGroup(3).ReadVoteAsync());
        Assert.Equal(new Vote(1, 1), await store.ForGroup(1).ReadVoteAsync());
    }

    [Fact]
    public void FailingAWriteBeforeTheNextIsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new WriteFaults().FailWrite(0));

    [Fact]
    public async Task TheNthWriteIsCountedFromWhenThePlanIsMade()
    {
        var faults = new WriteFaults();
        var store = new FaultInjectingLogStore(new InMemoryLogStore(), faults);
        await store.SaveVoteAsync(new Vote(1, 1));
        await store.SaveVoteAsync(new Vote(2, 1));
        faults.FailWrite(2);

        await store.SaveVoteAsync(new Vote(3, 1));
        await Assert.ThrowsAsync<StoreFailedException>(async () => await store.SaveVoteAsync(new Vote(4, 1)));
        Assert.Equal(new Vote(3, 1), await store.ReadVoteAsync());
    }

    /// <summary>
    /// An injected failure behaves as a real store's I/O error: the call returns a failed task
    /// rather than throwing, and an append's flush callback is told, so that code waiting on
    /// either learns the write will never be durable.
    /// </summary>
    [Fact]
    public async Task AnInjectedFailureFailsTheTaskAndTellsTheAppendsCallback()
    {
        var faults = new WriteFaults();
        var store = new FaultInjectingLogStore(new InMemoryLogStore(), faults);
        faults.FailWrite(1);
        var callback = new FlushAwaiter();

        ValueTask append = default;
        var thrown = Record.Exception(() => append = store.AppendAsync(new[] { Blank(0) }, callback));
        Assert.Null(thrown);
        await Assert.ThrowsAsync<StoreFailedException>(async () => await append);
        Assert.Equal(1, callback.ReportCount);
        await Assert.ThrowsAsync<StoreFailedException>(() => callback.Flushed);

        ValueTask vote = default;
        Assert.Null(Record.Exception(() => vote = store.SaveVoteAsync(new Vote(1, 1))));
        await Assert.ThrowsAsync<StoreFailedException>(async () => await vote);
    }

    [Fact]
    public async Task WritesCountsFailedAttempts()
    {
        var faults = new WriteFaults();
        var store = new FaultInjectingLogStore(new InMemoryLogStore(), faults);
        faults.FailWrite(1);
        await Assert.ThrowsAsync<StoreFailedException>(async () => await store.SaveVoteAsync(new Vote(1, 1)));
        await Assert.ThrowsAsync<StoreFailedException>(async () => await store.SaveVoteAsync(new Vote(1, 1)));
        Assert.Equal(2, faults.Writes);
        Assert.IsType<IOException>(faults.Failure);
    }

    [Fact]
    public async Task EveryKindOfWriteOfAStoppedStoreFailsAndChangesNothing()
    {
        var inner = new InMemoryLogStore();
        var faults = new WriteFaults();
        var store = new FaultInjectingLogStore(inner, faults);
        await store.AppendAndFlushAsync(new[] { Blank(0), Blank(1), Blank(2) });
        await store.SaveVoteAsync(new Vote(1, 1));
        await store.SaveCommittedAsync(new LogId(1, 0, 1));
        faults.FailWrite(1);

        var writes = new (string Name, Func<Task> Write)[]
        {
            ("append", () => store.AppendAndFlushAsync(new[] { Blank(3) })),
            ("save vote", async () => await store.SaveVoteAsync(new Vote(2, 2))),
            ("save committed", async () => await store.SaveCommittedAsync(new LogId(1, 0, 2))),
            ("truncate", async () => await store.TruncateAfterAsync(new LogId(1, 0, 0))),
            ("purge", async () => await store.PurgeAsync(new LogId(1, 0, 1))),
        };
        foreach (var (name, write) in writes)
        {
            var error = await Record.ExceptionAsync(write);
            Assert.True(error is StoreFailedException, $"{name} on a stopped store should fail with StoreFailedException, got {error?.GetType().Name ?? "success"}");
        }

        var state = await inner.GetLogStateAsync();
        Assert.Equal(new LogId(1, 0, 2), state.LastLogId);
        Assert.Null(state.LastPurgedLogId);
        Assert.Equal(new Vote(1, 1), await inner.ReadVoteAsync());
        Assert.Equal(new LogId(1, 0, 1), await inner.ReadCommittedAsync());
        Assert.Equal(3, (await store.TryGetLogEntriesAsync(0, 3)).Count);
    }

    [Fact]
    public async Task EveryKindOfWriteOfAStoppedMultiGroupStoreFailsAndChangesNothing()
    {
        var inner = new InMemoryMultiGroupLogStore();
        var faults = new WriteFaults();
        var store = new FaultInjectingMultiGroupLogStore(inner, faults);
        await store.ForGroup(1).SaveVoteAsync(new Vote(1, 1));
        faults.FailWrite(1);

        var batch = new LogWriteBatch();
        batch.SaveVote(2, new Vote(1, 2));
        var writes = new (string Name, Func<Task> Write)[]
        {
            ("batch", async () => await store.WriteAsync(batch)),
            ("remove group", async () => await store.RemoveGroupAsync(1)),
            ("group view", async () => await store.ForGroup(3).SaveVoteAsync(new Vote(1, 3))),
        };
        foreach (var (name, write) in writes)
        {
            var error = await Record.ExceptionAsync(write);
            Assert.True(error is StoreFailedException, $"{name} on a stopped store should fail with StoreFailedException, got {error?.GetType().Name ?? "success"}");
        }

        Assert.Equal(new Vote(1, 1), await inner.ForGroup(1).ReadVoteAsync());
        Assert.Null(await inner.ForGroup(2).ReadVoteAsync());
        Assert.Null(await inner.ForGroup(3).ReadVoteAsync());
    }

    /// <summary>
    /// A hang holds every write, batch and group view alike, as a stalled disk does: the task stays
    /// pending, nothing reaches the store underneath and reads go on; once released, the held
    /// writes complete and later ones do not wait.
    /// </summary>
    [Fact]
    public async Task HungWritesWaitUntilReleasedThenGoAhead()
    {
        var inner = new InMemoryMultiGroupLogStore();
        var faults = new WriteFaults();
        var store = new FaultInjectingMultiGroupLogStore(inner, faults);
        await store.ForGroup(1).SaveVoteAsync(new Vote(1, 1));
        faults.HangWrites();

        var batch = new LogWriteBatch();
        batch.SaveVote(2, new Vote(1, 2));
        var held = new[] { store.WriteAsync(batch).AsTask(), store.ForGroup(3).SaveVoteAsync(new Vote(1, 3)).AsTask() };

        // A write takes its hang within the call: both are waiting on the release by now.
        Assert.Equal(2, faults.HungWrites);
        Assert.All(held, write => Assert.False(write.IsCompleted, "a write completed while writes hang"));
        Assert.Equal(new Vote(1, 1), await store.ForGroup(1).ReadVoteAsync());
        Assert.Null(await inner.ForGroup(2).ReadVoteAsync());

        faults.ReleaseWrites();
        await Task.WhenAll(held).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(new Vote(1, 2), await inner.ForGroup(2).ReadVoteAsync());
        Assert.Equal(new Vote(1, 3), await inner.ForGroup(3).ReadVoteAsync());
        Assert.True(store.ForGroup(4).SaveVoteAsync(new Vote(1, 4)).IsCompleted, "a write after the release waited");
        Assert.Equal(2, faults.HungWrites);
    }

    /// <summary>
    /// Released, held writes reach the store underneath in the order they were made, as a
    /// stalled disk's would: appends that follow each other all succeed, and a write made right
    /// after the release waits for them, so a vote saved then is not overwritten by an older one.
    /// </summary>
    [Fact]
    public async Task HeldWritesAreIssuedInTheOrderTheyWereMadeAndAWriteAfterTheReleaseFollowsThem()
    {
        var inner = new InMemoryMultiGroupLogStore();
        var faults = new WriteFaults();
        var log = new FaultInjectingMultiGroupLogStore(inner, faults).ForGroup(1);
        faults.HangWrites();
        var appends = Enumerable.Range(0, 8).Select(i => log.AppendAsync(new[] { Blank((ulong)i) }, new FlushRecorder()).AsTask()).ToList();
        var olderVote = log.SaveVoteAsync(new Vote(2, 1)).AsTask();

        faults.ReleaseWrites();
        var newerVote = log.SaveVoteAsync(new Vote(3, 1)).AsTask();

        await Task.WhenAll([.. appends, olderVote, newerVote]).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(new LogId(1, 0, 7), (await inner.ForGroup(1).GetLogStateAsync()).LastLogId);
        Assert.Equal(new Vote(3, 1), await inner.ForGroup(1).ReadVoteAsync());
        Assert.Equal(9, faults.HungWrites);
    }

    private sealed class FlushRecorder : IFlushCallback
    {
        public void OnFlushed(Exception? error)
        {
        }
    }
}
