using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native.Tests.Diagnostics;
using static RaftToolkit.Native.Tests.TestEntries;

namespace RaftToolkit.Native.Tests.Coalescing;

public sealed class WriteCoalescerTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private RocksDbLogStore Open(int maxBatchOperations = 16_384) =>
        RocksDbLogStore.Open(_dir.Sub("db"), new RocksDbLogStoreOptions { MaxBatchOperations = maxBatchOperations });

    private static void AppendSequentially(IRaftLogStore log, int count)
    {
        for (int i = 0; i < count; i++)
        {
            log.AppendAsync(Range(1, (ulong)i, 1), IgnoringCallback.Instance).AsTask().GetAwaiter().GetResult();
        }
    }

    [Fact]
    public async Task ConcurrentAppendsOfManyGroupsShareSyncedWrites()
    {
        await using var store = Open();
        const int Groups = 64;
        const int PerGroup = 20;
        long before = store.Coalescer.WritesIssued;
        await OwnThreads.Run(Groups, g => AppendSequentially(store.ForGroup((ulong)g), PerGroup));
        long writes = store.Coalescer.WritesIssued - before;
        Assert.True(writes < Groups * PerGroup / 2, $"{Groups * PerGroup} appends took {writes} synced writes; expected them to be merged");
    }

    [Fact]
    public async Task EachGroupsAppendsApplyInOrderUnderConcurrency()
    {
        await using var store = Open();
        const int Groups = 32;
        const int PerGroup = 50;
        await OwnThreads.Run(Groups, g => AppendSequentially(store.ForGroup((ulong)g), PerGroup));
        for (int g = 0; g < Groups; g++)
        {
            Assert.Equal(Range(1, 0, PerGroup), await store.ForGroup((ulong)g).TryGetLogEntriesAsync(0, 1000));
        }
    }

    /// <summary>Records which entry of its group each durability callback was for, in callback order.</summary>
    private sealed class IndexRecordingCallback(List<ulong> seen, ulong index) : IFlushCallback
    {
        public void OnFlushed(Exception? error)
        {
            Assert.Null(error);
            lock (seen)
            {
                seen.Add(index);
            }
        }
    }

    [Fact]
    public async Task LargeBatchesKeepEachGroupsCallbacksInOrder()
    {
        await using var store = Open();
        const int Groups = 512;
        const int PerGroup = 8;
        const int Writers = 16;
        var seen = new List<ulong>[Groups];
        for (int g = 0; g < Groups; g++)
        {
            seen[g] = [];
        }

        // Each writer submits all the appends of its groups without waiting in between, and the
        // writers run at once: the batches hold hundreds of requests of many groups.
        await OwnThreads.Run(Writers, w =>
        {
            var pending = new List<Task>();
            for (int i = 0; i < PerGroup; i++)
            {
                for (int g = w; g < Groups; g += Writers)
                {
                    pending.Add(store.ForGroup((ulong)g).AppendAsync(Range(1, (ulong)i, 1), new IndexRecordingCallback(seen[g], (ulong)i)).AsTask());
                }
            }

            Task.WaitAll([.. pending]);
        });

        var expected = Enumerable.Range(0, PerGroup).Select(i => (ulong)i);
        for (int g = 0; g < Groups; g++)
        {
            Assert.Equal(expected, seen[g]);
        }
    }

    [Fact]
    public async Task BatchesRespectTheOperationBound()
    {
        await using var store = Open(maxBatchOperations: 4);
        await OwnThreads.Run(32, g => AppendSequentially(store.ForGroup((ulong)g), 10));
        Assert.InRange(store.Coalescer.LargestWriteOperations, 1, 4);
    }

    [Fact]
    public async Task OneWriteLargerThanTheBoundIsNeverSplit()
    {
        await using var store = Open(maxBatchOperations: 4);
        await store.ForGroup(1).AppendAsync(Range(1, 0, 10), IgnoringCallback.Instance);
        Assert.Equal(10, store.Coalescer.LargestWriteOperations);
        Assert.Equal(10, (await store.ForGroup(1).TryGetLogEntriesAsync(0, 100)).Count);
    }

    /// <summary>
    /// A native batch keeps its buffer when pooled. One that carried a write far past the batch
    /// bound is freed after it instead, so one large write does not pin its size in native memory
    /// for the store's lifetime; batches of ordinary size go on being reused.
    /// </summary>
    [Fact]
    public async Task ABatchGrownByAWriteFarPastTheBoundIsFreedNotPooled()
    {
        await using var store = RocksDbLogStore.Open(_dir.Sub("db"), new RocksDbLogStoreOptions { MaxBatchBytes = 4096 });
        var log = store.ForGroup(1);
        AppendSequentially(log, 20);
        Assert.Equal(0, store.Coalescer.OversizedBatchesFreed);

        await log.AppendAsync(Range(1, 20, 1, payloadBytes: 64 * 1024), IgnoringCallback.Instance);
        Assert.Equal(1, store.Coalescer.OversizedBatchesFreed);

        await log.AppendAsync(Range(1, 21, 1), IgnoringCallback.Instance);
        Assert.Equal(1, store.Coalescer.OversizedBatchesFreed);
        Assert.Equal(22, (await log.TryGetLogEntriesAsync(0, 100)).Count);
    }

    /// <summary>
    /// Reading an append's result before it completed is a caller's mistake, and a pooled write
    /// must not pay for it: the read fails, and the write goes on to complete, as do the writes
    /// queued after it.
    /// </summary>
    [Fact]
    public async Task ReadingAPendingAppendsResultFailsAndHarmsNoWrite()
    {
        await using var store = Open();
        var log = store.ForGroup(1);
        using var holdWriter = HoldingCallback.HoldWriterOf(store, out var earlier);

        var misused = new RecordingCallback();
        var pending = log.AppendAsync(Range(1, 0, 1), misused);
        Assert.Throws<InvalidOperationException>(() => pending.GetAwaiter().GetResult());
        var next = log.AppendAsync(Range(1, 1, 1), IgnoringCallback.Instance).AsTask();

        holdWriter.Release();
        await Task.WhenAll(earlier, next);
        Assert.Equal([null], misused.Outcomes);
        Assert.Equal(Range(1, 0, 2), await log.TryGetLogEntriesAsync(0, 10));
    }

    /// <summary>Reads the appended entry back from inside the durability callback.</summary>
    private sealed class ReadBackOnFlush(IRaftLogStore log, ulong index) : IFlushCallback
    {
        public bool SawEntry { get; private set; }

        public void OnFlushed(Exception? error)
        {
            var read = log.TryGetLogEntriesAsync(index, index + 1).AsTask().GetAwaiter().GetResult();
            SawEntry = read.Count == 1;
        }
    }

    [Fact]
    public async Task CompletionFiresOnlyAfterTheWriteReturned()
    {
        await using var store = Open();
        var log = store.ForGroup(1);
        var callbacks = new List<ReadBackOnFlush>();
        var appends = new List<Task>();
        for (int i = 0; i < 20; i++)
        {
            var callback = new ReadBackOnFlush(log, (ulong)i);
            callbacks.Add(callback);
            appends.Add(log.AppendAsync(Range(1, (ulong)i, 1), callback).AsTask());
        }

        await Task.WhenAll(appends);
        Assert.All(callbacks, c => Assert.True(c.SawEntry, "the callback fired before its entry was written"));
    }

    [Fact]
    public async Task MetricsCountAppendsBytesAndSyncedWrites()
    {
        using var measured = new StorageMeasurements();

        await using var store = Open();
        await store.ForGroup(1).AppendAsync(Range(1, 0, 5, payloadBytes: 100), IgnoringCallback.Instance);

        // Other tests may write concurrently through the same static meter: lower bounds only.
        Assert.True(measured.Sum("raftkit.storage.appends") >= 5);
        Assert.True(measured.Sum("raftkit.storage.bytes") >= 5 * 100);
        Assert.True(measured.Sum("raftkit.storage.synced_writes") >= 1);
        Assert.True(measured.EntriesPerWrite.Max() >= 5);
        Assert.True(measured.WriteLatencies.Max() > 0);
    }

    /// <summary>
    /// With one operation per batch, one group's writes issued while the writing thread is held
    /// each wait in a batch of their own, the last in the batch still open. They must be written
    /// oldest first: an append written before the truncation issued ahead of it would be deleted
    /// by it, and an older vote would overwrite a newer one.
    /// </summary>
    [Fact]
    public async Task OneGroupsWritesQueuedInSeveralBatchesApplyInTheOrderIssued()
    {
        await using var store = Open(maxBatchOperations: 1);
        var log = store.ForGroup(1);
        var queued = new List<Task>();
        using (var holdWriter = HoldingCallback.HoldWriterOf(store, out var held))
        {
            queued.Add(log.AppendAsync(Range(1, 0, 3), IgnoringCallback.Instance).AsTask());
            queued.Add(log.SaveVoteAsync(new Vote(1, 0)).AsTask());
            queued.Add(log.TruncateAfterAsync(Id(1, 0)).AsTask());
            queued.Add(log.AppendAsync(Range(2, 1, 1), IgnoringCallback.Instance).AsTask());
            queued.Add(log.SaveVoteAsync(new Vote(2, 0)).AsTask());
            holdWriter.Release();
            await held.WaitAsync(TimeSpan.FromSeconds(60));
        }

        await Task.WhenAll(queued).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal([.. Range(1, 0, 1), .. Range(2, 1, 1)], await log.TryGetLogEntriesAsync(0, 10));
        Assert.Equal(new Vote(2, 0), await log.ReadVoteAsync());
    }
}
