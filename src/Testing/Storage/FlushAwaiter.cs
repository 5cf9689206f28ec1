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

    /// <summary>Completes when the write is durable; faults with the error that made it never durable.</summary>
    public Task Flushed => _flushed.Task;

    /// <inheritdoc />
    /// <remarks>A second report is a store bug; it is recorded as a fault if the first one has not been observed yet.</remarks>
    public void OnFlushed(Exception? error)
    {
        if (error is null)
        {
            if (!_flushed.TrySetResult())
            {
                throw new InvalidOperationException("The store reported the same write flushed twice.");
            }
        }
        else if (!_flushed.TrySetException(error))
        {
            throw new InvalidOperationException("The store reported the same write flushed twice.", error);
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
