using RaftToolkit.Core.Storage;

namespace RaftToolkit.Testing.Faults;

/// <summary>
/// A plan of injected write failures shared by the fault-injecting stores: fail the n-th write
/// from now, then behave as a real store does after an I/O error — fail-stop, every later write
/// failing with <see cref="StoreFailedException"/> that carries the original error. Reads still work.
/// Or hang: every write from now on waits, as on a stalled disk, until released. Thread-safe.
/// </summary>
public sealed class WriteFaults
{
    private readonly object _gate = new();
    private long _writes;
    private long _failAt = long.MaxValue;
    private Exception? _failure;

    /// <summary>While writes hang: completes when they are released. Null otherwise.</summary>
    private TaskCompletionSource? _hang;

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
            _hang ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>Ends <see cref="HangWrites"/>: the waiting writes go ahead as planned (written, or failed as a planned failure says), in no set order.</summary>
    public void ReleaseWrites()
    {
        TaskCompletionSource? hang;
        lock (_gate)
        {
            hang = _hang;
            _hang = null;
        }

        // Outside the lock: the released writes run on, and one may come back here.
        hang?.TrySetResult();
    }

    /// <summary>
    /// Called by a fault-injecting store before each write, before <see cref="Refusal"/>: what the
    /// write must wait for while writes hang, or null when it goes on at once.
    /// </summary>
    public Task? Hang()
    {
        lock (_gate)
        {
            if (_hang is not { } hang)
            {
                return null;
            }

            _hungWrites++;
            return hang.Task;
        }
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
}
