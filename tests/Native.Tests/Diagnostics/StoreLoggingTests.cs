using Microsoft.Extensions.Logging;
using RaftToolkit.Core.Storage;
using RaftToolkit.Testing.Diagnostics;
using static RaftToolkit.Native.Tests.TestEntries;

namespace RaftToolkit.Native.Tests.Diagnostics;

public sealed class StoreLoggingTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private sealed class ThrowingCallback : IFlushCallback
    {
        public void OnFlushed(Exception? error) => throw new InvalidOperationException("the caller's bug");
    }

    [Fact]
    public async Task TheStoreLogsItsOpeningAThrowingCallbackTheFailureThatStoppedItAndItsClosing()
    {
        var logs = new CapturingLoggerFactory();
        string path = _dir.Sub("db");
        var store = RocksDbLogStore.Open(path, new RocksDbLogStoreOptions { LoggerFactory = logs });

        // The throwing callback is logged, and its append still completes.
        await store.ForGroup(1).AppendAsync(Range(1, 0, 1), new ThrowingCallback());
        store.InjectWriteFailure(new IOException("injected fsync failure"));
        await Assert.ThrowsAsync<StoreFailedException>(async () => await store.ForGroup(1).AppendAsync(Range(1, 1, 1), IgnoringCallback.Instance));
        await Assert.ThrowsAsync<StoreFailedException>(async () => await store.ForGroup(2).AppendAsync(Range(1, 0, 1), IgnoringCallback.Instance));
        await store.DisposeAsync();

        // One line for each event, none for the writes themselves, nor for the call refused after the stop.
        Assert.Collection(
            logs.Lines,
            line => Assert.Equal($"Information: Log store {path} open: GroupPrefixed key space, column families raft_log and raft_meta, Sync.", line),
            line => Assert.Equal("Error: A flush callback (ThrowingCallback) threw; the write's outcome stands and goes to its awaiting caller as well. [InvalidOperationException: the caller's bug]", line),
            line => Assert.Equal(
                $"Critical: Log store {path} stopped: a write of 1 requests (1 operations) failed, and 0 queued batches fail with it; every later call fails. Dispose the store and open it again to recover. [IOException: injected fsync failure]",
                line),
            line => Assert.Equal($"Information: Log store {path} closed.", line));
    }

    /// <summary>
    /// Continuations run inline on the writing thread. One registered by hand may throw (an
    /// awaiting method never does): that is the caller's bug, logged, and it must not stop the
    /// writer, leave the callers after it in the batch unanswered, or end the process.
    /// </summary>
    [Fact]
    public async Task AContinuationThatThrowsIsLoggedAndEveryOtherCallerOfItsBatchIsStillAnswered()
    {
        var logs = new CapturingLoggerFactory();
        await using var store = RocksDbLogStore.Open(_dir.Sub("db"), new RocksDbLogStoreOptions { LoggerFactory = logs, SyncMode = LogSyncMode.NoSync });
        using var holdWriter = HoldingCallback.HoldWriterOf(store, out var earlier);

        // Queued behind the held write, so the thread pool writes them, together, after it.
        ThrowWhenCompleted(store.ForGroup(1).AppendAsync(Range(1, 0, 1), IgnoringCallback.Instance));
        var after = store.ForGroup(2).AppendAsync(Range(1, 0, 1), IgnoringCallback.Instance).AsTask();

        holdWriter.Release();
        await earlier;
        await after.WaitAsync(TimeSpan.FromSeconds(30));
        await store.ForGroup(3).AppendAsync(Range(1, 0, 1), IgnoringCallback.Instance);
        Assert.Equal(Range(1, 0, 1), await store.ForGroup(1).TryGetLogEntriesAsync(0, 10));
        Assert.Contains("Error: A caller's continuation threw when its write completed; the store answered the other callers and goes on. [InvalidOperationException: the caller's bug]", logs.Lines);
    }

    /// <summary>
    /// Registers a continuation on <paramref name="append"/> that consumes it and throws. Without
    /// the test's scheduling context, so the store runs it inline, on its writing thread.
    /// </summary>
    private static void ThrowWhenCompleted(ValueTask append)
    {
        var awaiter = append.ConfigureAwait(false).GetAwaiter();
        awaiter.UnsafeOnCompleted(() =>
        {
            awaiter.GetResult();
            throw new InvalidOperationException("the caller's bug");
        });
    }

    [Fact]
    public async Task ALoggerThatThrowsKeepsNoCallerFromItsAnswer()
    {
        string path = _dir.Sub("db");
        var store = RocksDbLogStore.Open(path, new RocksDbLogStoreOptions { LoggerFactory = new ThrowingLoggerFactory() });
        await store.ForGroup(1).AppendAsync(Range(1, 0, 1), new ThrowingCallback());
        var failure = new IOException("injected fsync failure");
        store.InjectWriteFailure(failure);
        var stopped = await Assert.ThrowsAsync<StoreFailedException>(async () => await store.ForGroup(1).AppendAsync(Range(1, 1, 1), IgnoringCallback.Instance));
        Assert.Same(failure, stopped.InnerException);
        await store.DisposeAsync();

        await using var reopened = RocksDbLogStore.Open(path, new RocksDbLogStoreOptions { LoggerFactory = new ThrowingLoggerFactory() });
        Assert.Equal(Range(1, 0, 1), await reopened.ForGroup(1).TryGetLogEntriesAsync(0, 10));
    }
}
