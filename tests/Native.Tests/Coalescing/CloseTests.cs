using System.Collections.Concurrent;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using static RaftToolkit.Native.Tests.TestEntries;

namespace RaftToolkit.Native.Tests.Coalescing;

/// <summary>Closing a store while other threads are writing and reading it.</summary>
public sealed class CloseTests : IDisposable
{
    /// <summary>How long a close, or the calls it interrupts, may take before the test calls it hung.</summary>
    private static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(60);

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private RocksDbLogStore Open() => RocksDbLogStore.Open(_dir.Sub("db"), new RocksDbLogStoreOptions());

    [Fact]
    public async Task ClosingWhileAppendsAndReadsAreInFlightAnswersEveryCallAndKeepsEveryAcknowledgedEntry()
    {
        const int Appenders = 16;
        const int Readers = 2;
        var store = Open();
        var acknowledged = new int[Appenders];
        var callbacks = Enumerable.Range(0, Appenders).Select(_ => new RecordingCallback()).ToArray();
        var refusals = new ConcurrentBag<Exception>();
        int appendersBelowTen = Appenders;
        var everyAppenderAtTen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Each appender appends to its own group, one awaited entry at a time, until the store
        // refuses; each reader reads every group over and over, until the store refuses.
        var running = OwnThreads.Run(Appenders + Readers, thread =>
        {
            try
            {
                if (thread < Appenders)
                {
                    var log = store.ForGroup((ulong)thread);
                    for (int i = 0; ; i++)
                    {
                        log.AppendAsync(Range(1, (ulong)i, 1), callbacks[thread]).AsTask().GetAwaiter().GetResult();
                        Volatile.Write(ref acknowledged[thread], i + 1);
                        if (i + 1 == 10 && Interlocked.Decrement(ref appendersBelowTen) == 0)
                        {
                            everyAppenderAtTen.TrySetResult();
                        }
                    }
                }

                for (int g = 0; ; g = (g + 1) % Appenders)
                {
                    store.ForGroup((ulong)g).TryGetLogEntriesAsync(0, 1_000).AsTask().GetAwaiter().GetResult();
                }
            }
            catch (Exception refused)
            {
                refusals.Add(refused);
            }
        });

        await everyAppenderAtTen.Task.WaitAsync(HangLimit);
        await store.DisposeAsync().AsTask().WaitAsync(HangLimit);
        await running.WaitAsync(HangLimit);

        // Every call the close interrupted was refused as closed: none saw a freed database.
        Assert.Equal(Appenders + Readers, refusals.Count);
        Assert.All(refusals, refusal => Assert.IsType<StoreClosedException>(refusal));

        // Every append the store took before it closed was written and answered; none after.
        await using var reopened = Open();
        for (int g = 0; g < Appenders; g++)
        {
            Assert.Equal(Range(1, 0, acknowledged[g]), await reopened.ForGroup((ulong)g).TryGetLogEntriesAsync(0, 1_000_000));
            Assert.Equal(Enumerable.Repeat<Exception?>(null, acknowledged[g]), callbacks[g].Outcomes);
        }
    }

    [Fact]
    public async Task EveryDisposeReturnsOnlyOnceTheStoreIsClosed()
    {
        var store = Open();

        // A large write queued behind a write whose callback holds the writing thread: both are
        // still to be written when the store is told to close, twice.
        using var holdWriter = HoldingCallback.HoldWriterOf(store, out var earlier);
        var large = store.ForGroup(1).AppendAsync(Range(1, 0, 20_000, payloadBytes: 1_024), IgnoringCallback.Instance).AsTask();
        var first = store.DisposeAsync().AsTask();
        var second = store.DisposeAsync().AsTask();
        holdWriter.Release();
        await second.WaitAsync(HangLimit);

        // The second caller may reuse the database at once: the first close has released it.
        await using var reopened = Open();
        await first.WaitAsync(HangLimit);
        await earlier.WaitAsync(HangLimit);
        await large.WaitAsync(HangLimit);
        Assert.Equal(new LogState(null, Id(1, 19_999)), await reopened.ForGroup(1).GetLogStateAsync());
    }

    /// <summary>
    /// A store stopped by a failed write answers that write's callers on its writing thread; a
    /// close that lands meanwhile waits for all of them, so no callback fires after it returned.
    /// </summary>
    [Fact]
    public async Task DisposeWaitsUntilEveryCallerOfAFailedWriteIsAnswered()
    {
        var store = Open();
        using var holdFailure = new HoldingCallback(onErrorOnly: true);
        var second = new RecordingCallback();

        // Hold the writing thread in an earlier append's callback while two appends queue behind it.
        using var holdWriter = HoldingCallback.HoldWriterOf(store, out var earlier);
        var failing = store.ForGroup(1).AppendAsync(Range(1, 0, 1), holdFailure).AsTask();
        var alsoFailing = store.ForGroup(1).AppendAsync(Range(1, 1, 1), second).AsTask();
        store.InjectWriteFailure(new IOException("injected"));
        holdWriter.Release();
        await earlier.WaitAsync(HangLimit);

        // The queued write failed; its first caller's callback holds the thread answering them.
        Assert.True(holdFailure.WaitUntilHolding());
        var dispose = store.DisposeAsync().AsTask();
        var answeredWhenClosed = dispose.ContinueWith(_ => second.Outcomes.Count, TaskContinuationOptions.ExecuteSynchronously);
        Assert.False(dispose.IsCompleted, "the close returned while a caller of the failed write was still to be answered");

        holdFailure.Release();
        Assert.Equal(1, await answeredWhenClosed.WaitAsync(HangLimit));
        await Assert.ThrowsAsync<StoreFailedException>(() => failing);
        await Assert.ThrowsAsync<StoreFailedException>(() => alsoFailing);
    }
}
