using System.Buffers;
using RaftToolkit.Core.Model;
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

    /// <summary>
    /// With one operation per batch, appends issued while the writing thread is held each wait
    /// in a batch of their own. The first of those batches fails: the ones behind it are never
    /// written, so their callers must hear the same error, not that they are durable.
    /// </summary>
    [Fact]
    public async Task WritesQueuedBehindAFailedWriteFailWithItsErrorAndAreNeverWritten()
    {
        var failure = new IOException("injected fsync failure");
        string path = _dir.Sub("queued");
        var store = RocksDbLogStore.Open(path, new RocksDbLogStoreOptions { MaxBatchOperations = 1 });
        var callbacks = new List<RecordingCallback>();
        var queued = new List<Task>();
        using (var holdWriter = HoldingCallback.HoldWriterOf(store, out var held))
        {
            for (ulong group = 1; group <= 4; group++)
            {
                var callback = new RecordingCallback();
                callbacks.Add(callback);
                queued.Add(store.ForGroup(group).AppendAsync(Range(1, 0, 1), callback).AsTask());
            }

            store.InjectWriteFailure(failure);
            holdWriter.Release();
            await held.WaitAsync(TimeSpan.FromSeconds(60));
        }

        for (int i = 0; i < queued.Count; i++)
        {
            var error = await Assert.ThrowsAsync<StoreFailedException>(() => queued[i]);
            Assert.Same(failure, error.InnerException);
            Assert.IsType<StoreFailedException>(Assert.Single(callbacks[i].Outcomes));
        }

        await store.DisposeAsync();
        await using var reopened = RocksDbLogStore.Open(path);
        Assert.Equal([9UL], await reopened.ListGroupsAsync());
    }

    /// <summary>
    /// Entry data that runs <see cref="OnNextRead"/> the next time it is read: set after taking its
    /// <see cref="MemoryManager{T}.Memory"/> (which reads it too), it runs when the store stages the
    /// append carrying it, after the call's own checks and before the write is queued.
    /// </summary>
    private sealed class DataThatActsWhenRead(byte[] bytes) : MemoryManager<byte>
    {
        private Action? _onNextRead;

        public Action OnNextRead
        {
            set => _onNextRead = value;
        }

        public override Span<byte> GetSpan()
        {
            Interlocked.Exchange(ref _onNextRead, null)?.Invoke();
            return bytes;
        }

        public override MemoryHandle Pin(int elementIndex = 0) => throw new NotSupportedException("short entry data is copied, never pinned");

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }

    /// <summary>
    /// A write whose call began while the store was healthy, and that reaches the queue after
    /// another write failed, must be refused with that failure: written, it would be reported
    /// durable by a store that promised to write nothing more.
    /// </summary>
    [Fact]
    public async Task AWriteThatReachesTheQueueAfterAFailureIsRefusedAndNeverWritten()
    {
        var failure = new IOException("injected fsync failure");
        string path = _dir.Sub("racing");
        var store = RocksDbLogStore.Open(path);
        Task? failed = null;
        var data = new DataThatActsWhenRead(new byte[16]);
        var entry = Entry.Normal(Id(1, 0), data.Memory);
        data.OnNextRead = () =>
        {
            store.InjectWriteFailure(failure);
            failed = store.ForGroup(2).AppendAsync(Range(1, 0, 1), IgnoringCallback.Instance).AsTask();
        };

        var late = await Assert.ThrowsAsync<StoreFailedException>(async () => await store.ForGroup(1).AppendAsync(new[] { entry }, IgnoringCallback.Instance));
        Assert.Same(failure, late.InnerException);
        Assert.NotNull(failed);
        Assert.Same(failure, (await Assert.ThrowsAsync<StoreFailedException>(() => failed)).InnerException);

        await store.DisposeAsync();
        await using var reopened = RocksDbLogStore.Open(path);
        Assert.Empty(await reopened.ListGroupsAsync());
    }
}
