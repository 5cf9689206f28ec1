using RaftToolkit.Core.Storage;
using static RaftToolkit.Native.Tests.TestEntries;

namespace RaftToolkit.Native.Tests.Coalescing;

public sealed class FailStopTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// When the write of group 1 becomes durable, its callback injects a failure and queues
    /// appends of five other groups: they all land in the batch whose write fails.
    /// </summary>
    private sealed class QueueFailingBatch(RocksDbLogStore store, Exception failure) : IFlushCallback
    {
        public List<Task> Queued { get; } = [];

        public List<RecordingCallback> Callbacks { get; } = [];

        public void OnFlushed(Exception? error)
        {
            Assert.Null(error);
            store.InjectWriteFailure(failure);
            for (ulong group = 2; group <= 6; group++)
            {
                var callback = new RecordingCallback();
                Callbacks.Add(callback);
                Queued.Add(store.ForGroup(group).AppendAsync(Range(1, 0, 2), callback).AsTask());
            }
        }
    }

    [Fact]
    public async Task AFailedWriteFailsEveryAppendInItsBatchAndEveryLaterOne()
    {
        var failure = new IOException("injected fsync failure");
        string path = _dir.Sub("db");
        var store = RocksDbLogStore.Open(path);
        var trigger = new QueueFailingBatch(store, failure);
        await store.ForGroup(1).AppendAsync(Range(1, 0, 1), trigger);

        foreach (var queued in trigger.Queued)
        {
            var error = await Assert.ThrowsAsync<StoreFailedException>(() => queued);
            Assert.Same(failure, error.InnerException);
        }

        Assert.All(trigger.Callbacks, callback => Assert.NotNull(Assert.Single(callback.Outcomes)));

        var late = await Assert.ThrowsAsync<StoreFailedException>(async () => await store.ForGroup(7).AppendAsync(Range(1, 0, 1), IgnoringCallback.Instance));
        Assert.Same(failure, late.InnerException);
        await Assert.ThrowsAsync<StoreFailedException>(async () => await store.ForGroup(1).SaveVoteAsync(new Core.Model.Vote(1, 1)));
        await store.DisposeAsync();

        await using var reopened = RocksDbLogStore.Open(path);
        Assert.Equal(Range(1, 0, 1), await reopened.ForGroup(1).TryGetLogEntriesAsync(0, 10));
        for (ulong group = 2; group <= 7; group++)
        {
            Assert.Empty(await reopened.ForGroup(group).TryGetLogEntriesAsync(0, 10));
        }

        Assert.Equal([1UL], await reopened.ListGroupsAsync());
        await reopened.ForGroup(2).AppendAsync(Range(1, 0, 1), IgnoringCallback.Instance);
        Assert.Single(await reopened.ForGroup(2).TryGetLogEntriesAsync(0, 10));
    }

    [Fact]
    public async Task AFailedMultiGroupWriteLeavesNoGroupWritten()
    {
        var failure = new IOException("injected write failure");
        string path = _dir.Sub("batch");
        await using (var store = RocksDbLogStore.Open(path))
        {
            var batch = new LogWriteBatch();
            batch.Append(1, Range(1, 0, 3));
            batch.SaveVote(2, new Core.Model.Vote(4, 4));
            store.InjectWriteFailure(failure);
            var error = await Assert.ThrowsAsync<StoreFailedException>(async () => await store.WriteAsync(batch));
            Assert.Same(failure, error.InnerException);
        }

        await using var reopened = RocksDbLogStore.Open(path);
        Assert.Empty(await reopened.ListGroupsAsync());
    }
}
