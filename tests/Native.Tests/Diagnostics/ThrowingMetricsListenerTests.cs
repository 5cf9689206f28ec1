using System.Diagnostics.Metrics;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native.Diagnostics;
using RaftToolkit.Testing.Diagnostics;
using static RaftToolkit.Native.Tests.TestEntries;

namespace RaftToolkit.Native.Tests.Diagnostics;

/// <summary>
/// Listeners of the store's instruments run inline on the thread that writes. One that throws is
/// a bug in the listener: it must not cost a caller the answer to a write RocksDB took, stop the
/// writer, or keep the store from closing.
/// </summary>
public sealed class ThrowingMetricsListenerTests : IDisposable
{
    private static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(60);

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// Throws from every measurement of the store's instruments made on a thread that armed it,
    /// and only there: the instruments are process-wide, and other tests' stores write meanwhile.
    /// </summary>
    private sealed class ThrowingListener : IDisposable
    {
        [ThreadStatic]
        private static bool t_armed;

        private readonly MeterListener _listener = new();
        private int _thrown;

        public ThrowingListener()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == StorageMetrics.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, _, _, _) => ThrowIfArmed());
            _listener.SetMeasurementEventCallback<int>((_, _, _, _) => ThrowIfArmed());
            _listener.SetMeasurementEventCallback<double>((_, _, _, _) => ThrowIfArmed());
            _listener.Start();
        }

        /// <summary>How many measurements it refused.</summary>
        public int Thrown => Volatile.Read(ref _thrown);

        /// <summary>Starts <paramref name="append"/> with the listener armed on this thread: a lone write is written by the thread that submits it.</summary>
        public static ValueTask ArmedWhile(Func<ValueTask> append)
        {
            t_armed = true;
            try
            {
                return append();
            }
            finally
            {
                t_armed = false;
            }
        }

        public void Dispose() => _listener.Dispose();

        private void ThrowIfArmed()
        {
            if (t_armed)
            {
                Interlocked.Increment(ref _thrown);
                throw new InvalidOperationException("the listener's bug");
            }
        }
    }

    [Fact]
    public async Task AThrowingListenerIsLoggedAndTheWriteIsAnsweredAndTheStoreGoesOnAndCloses()
    {
        var logs = new CapturingLoggerFactory();
        string path = _dir.Sub("db");
        var store = RocksDbLogStore.Open(path, new RocksDbLogStoreOptions { LoggerFactory = logs });
        using var listener = new ThrowingListener();

        // Nothing else writes this store, so each append is written by the thread submitting it,
        // where the listener throws.
        await ThrowingListener.ArmedWhile(() => store.ForGroup(1).AppendAsync(Range(1, 0, 1), IgnoringCallback.Instance)).AsTask().WaitAsync(HangLimit);
        Assert.True(listener.Thrown > 0, "the listener was never called on the writing thread");
        await ThrowingListener.ArmedWhile(() => store.ForGroup(1).AppendAsync(Range(1, 1, 1), IgnoringCallback.Instance)).AsTask().WaitAsync(HangLimit);
        await store.ForGroup(2).AppendAsync(Range(1, 0, 1), IgnoringCallback.Instance).AsTask().WaitAsync(HangLimit);
        await store.DisposeAsync().AsTask().WaitAsync(HangLimit);

        Assert.Contains("Error: A listener of the store's metrics threw; the write's outcome stands. [InvalidOperationException: the listener's bug]", logs.Lines);
        await using var reopened = RocksDbLogStore.Open(path);
        Assert.Equal(Range(1, 0, 2), await reopened.ForGroup(1).TryGetLogEntriesAsync(0, 10));
        Assert.Equal(Range(1, 0, 1), await reopened.ForGroup(2).TryGetLogEntriesAsync(0, 10));
    }
}
