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
