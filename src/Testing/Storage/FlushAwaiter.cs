using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;

namespace RaftToolkit.Testing.Storage;

/// <summary>
/// An <see cref="IFlushCallback"/> for one write that a test awaits: <see cref="Flushed"/>
/// completes when the store reports the write durable, and faults with the store's error.
/// </summary>
public sealed class FlushAwaiter : IFlushCallback
{
    private readonly TaskCompletionSource _flushed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _reports;

    /// <summary>Completes when the write is durable; faults with the error that made it never durable.</summary>
    public Task Flushed => _flushed.Task;

    /// <summary>How many times the store reported this write; a correct store reports it exactly once.</summary>
    public int ReportCount => Volatile.Read(ref _reports);

    /// <inheritdoc />
    /// <remarks>
    /// Never throws: it runs on a store thread, where an exception could stop the store's writer.
    /// A second report leaves <see cref="Flushed"/> as the first one set it and shows in
    /// <see cref="ReportCount"/>.
    /// </remarks>
    public void OnFlushed(Exception? error)
    {
        Interlocked.Increment(ref _reports);
        if (error is null)
        {
            _flushed.TrySetResult();
        }
        else
        {
            _flushed.TrySetException(error);
        }
    }
}

/// <summary>Test conveniences over <see cref="IRaftLogStore"/>.</summary>
public static class RaftLogStoreTestExtensions
{
    /// <summary>Appends <paramref name="entries"/> and waits until the store reports them durable.</summary>
    public static async Task AppendAndFlushAsync(this IRaftLogStore store, ReadOnlyMemory<Entry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var flush = new FlushAwaiter();
        await store.AppendAsync(entries, flush, cancellationToken).ConfigureAwait(false);
        await flush.Flushed.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Appends <paramref name="entries"/> and waits until the store reports them durable.</summary>
    public static Task AppendAndFlushAsync(this IRaftLogStore store, params Entry[] entries) =>
        store.AppendAndFlushAsync(entries.AsMemory(), CancellationToken.None);
}
