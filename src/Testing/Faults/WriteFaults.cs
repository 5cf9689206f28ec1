using RaftToolkit.Core.Storage;

namespace RaftToolkit.Testing.Faults;

/// <summary>
/// A plan of injected write failures shared by the fault-injecting stores: fail the n-th write
/// from now, then behave as a real store does after an I/O error — fail-stop, every later write
/// failing with <see cref="StoreFailedException"/> that carries the original error. Reads still work.
/// Or hang: every write from now on waits, as on a stalled disk, until released, and is then
/// issued to the store underneath in the order the writes were made. Thread-safe.
/// </summary>
public sealed class WriteFaults
{
    private readonly object _gate = new();
    private long _writes;
    private long _failAt = long.MaxValue;
    private Exception? _failure;

    /// <summary>True from <see cref="HangWrites"/> to <see cref="ReleaseWrites"/>.</summary>
    private bool _hanging;

    /// <summary>
    /// Writes held by a hang, oldest first, not yet issued to the store underneath. A write made
    /// while any are left, even after the release, queues behind them: a store's writes apply
    /// in the order they are issued, and a released hang must not reorder them.
    /// </summary>
    private readonly Queue<HeldWrite> _held = new();

    /// <summary>True while <see cref="ReleaseWrites"/> issues the held writes.</summary>
    private bool _releasing;

    /// <summary>Writes that started waiting on a hang, released or not.</summary>
    private long _hungWrites;

    /// <summary>How many writes were attempted so far (failed ones included).</summary>
    public long Writes
    {
        get
        {
            lock (_gate)
            {
                return _writes;
            }
        }
    }

    /// <summary>The injected I/O error, once a write has failed.</summary>
    public Exception? Failure
    {
        get
        {
            lock (_gate)
            {
                return _failure;
            }
        }
    }

    /// <summary>How many writes have waited on <see cref="HangWrites"/> so far (released ones included).</summary>
    public long HungWrites
    {
        get
        {
            lock (_gate)
            {
                return _hungWrites;
            }
        }
    }

    /// <summary>
    /// Every write from now on waits, as on a stalled disk, until <see cref="ReleaseWrites"/>: its
    /// task stays pending and nothing reaches the store underneath. Reads do not wait.
    /// </summary>
    public void HangWrites()
    {
        lock (_gate)
        {
            _hanging = true;
        }
    }

    /// <summary>
    /// Ends <see cref="HangWrites"/>: the held writes go ahead as planned (written, or failed as a
    /// planned failure says), issued to the store underneath one after another in the order they
    /// were made, and any write made meanwhile after them. A new hang stops the release where it is.
    /// </summary>
    public void ReleaseWrites()
    {
        lock (_gate)
        {
            _hanging = false;
            if (_releasing)
            {
                return;
            }

            _releasing = true;
        }

        while (true)
        {
            HeldWrite next;
            lock (_gate)
            {
                if (_hanging || _held.Count == 0)
                {
                    _releasing = false;
                    return;
                }

                next = _held.Dequeue();
            }

            // Outside the lock: issuing a write may run its caller's code, which may write again.
            next.Issue();
        }
    }

    /// <summary>
    /// Runs a fault-injecting store's <paramref name="write"/>: at once, or, while writes hang (or
    /// held ones are still being released), once its turn comes, in the order writes were made.
    /// The write itself asks <see cref="Refusal"/> or <see cref="BeforeWrite"/> whether it fails.
    /// </summary>
    public ValueTask Run(Func<ValueTask> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        lock (_gate)
        {
            if (_hanging || _held.Count > 0 || _releasing)
            {
                if (_hanging)
                {
                    _hungWrites++;
                }

                var held = new HeldWrite(write);
                _held.Enqueue(held);
                return new ValueTask(held.Completion.Task);
            }
        }

        return write();
    }

    /// <summary>The <paramref name="n"/>-th write from now (1 = the next one) fails with an I/O error.</summary>
    public void FailWrite(int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        lock (_gate)
        {
            _failAt = _writes + n;
        }
    }

    /// <summary>
    /// <see cref="BeforeWrite"/> for a store's task-returning write, which fails its task rather
    /// than throw: the error the write must fail with, or null when it goes ahead.
    /// </summary>
    public StoreFailedException? Refusal(ulong groupId, string operation)
    {
        try
        {
            BeforeWrite(groupId, operation);
            return null;
        }
        catch (StoreFailedException e)
        {
            return e;
        }
    }

    /// <summary>
    /// Called by a fault-injecting store before each write: throws when this write is the one
    /// planned to fail, or when an earlier one failed.
    /// </summary>
    /// <exception cref="StoreFailedException">This or an earlier write failed.</exception>
    public void BeforeWrite(ulong groupId, string operation)
    {
        lock (_gate)
        {
            _writes++;
            if (_failure is null && _writes >= _failAt)
            {
                _failure = new IOException($"Injected I/O error on write {_writes} ({operation} of group {groupId}).");
            }

            if (_failure is not null)
            {
                throw new StoreFailedException(_failure);
            }
        }
    }

    /// <summary>A write held by a hang: issued once released, its outcome passed to its caller's task.</summary>
    private sealed class HeldWrite(Func<ValueTask> write)
    {
        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Issue()
        {
            ValueTask issued;
            try
            {
                issued = write();
            }
            catch (Exception e)
            {
                Completion.TrySetException(e);
                return;
            }

            _ = PassOnAsync(issued);
        }

        private async Task PassOnAsync(ValueTask issued)
        {
            try
            {
                await issued.ConfigureAwait(false);
                Completion.TrySetResult();
            }
            catch (OperationCanceledException e)
            {
                Completion.TrySetCanceled(e.CancellationToken);
            }
            catch (Exception e)
            {
                Completion.TrySetException(e);
            }
        }
    }
}
