namespace RaftToolkit.Native.Coalescing;

/// <summary>
/// A second thread that completes one lane of a large written batch while the writer thread
/// completes the other, so the pass between two synced writes (every caller's continuation,
/// which usually stages and submits its next write) runs on two cores instead of one.
/// </summary>
/// <remarks>
/// <para>Order: each lane is completed in submission order by one thread, a group's requests
/// are always in one lane, and <see cref="CompleteInTwoLanes"/> returns only when both lanes are
/// done, so the next batch's completions never overtake this one's.</para>
/// <para>Liveness: the writer never depends on the partner being scheduled. It posts lane 1,
/// completes lane 0, then takes lane 1 back if the partner has not claimed it yet; it waits only
/// for a partner that is already running the lane.</para>
/// <para>The thread is dedicated rather than borrowed from the thread pool because a pool work
/// item can sit behind the very callers whose continuations it would run.</para>
/// </remarks>
internal sealed class CompletionPartner : IDisposable
{
    private const int Idle = 0;
    private const int Posted = 1;
    private const int Claimed = 2;
    private const int Done = 3;

    private readonly SemaphoreSlim _wake = new(0);
    private readonly Thread _thread;
    private NativeWriteBatch? _batch;
    private int _state;
    private volatile bool _disposed;

    public CompletionPartner()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "RaftToolkit store completions" };
        _thread.Start();
    }

    /// <summary>Completes lane 0 on this thread and lane 1 on the partner (or here, if it is late).</summary>
    public void CompleteInTwoLanes(NativeWriteBatch batch)
    {
        _batch = batch;
        Volatile.Write(ref _state, Posted);
        _wake.Release();
        batch.CompleteLane(0);
        if (Interlocked.CompareExchange(ref _state, Idle, Posted) == Posted)
        {
            batch.CompleteLane(1);
        }
        else
        {
            // The partner claimed lane 1 and is completing it right now: the wait is bounded by
            // that work, so spin and yield, never sleep a whole millisecond.
            var spin = default(SpinWait);
            while (Volatile.Read(ref _state) != Done)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }

            Volatile.Write(ref _state, Idle);
        }

        _batch = null;
    }

    public void Dispose()
    {
        _disposed = true;
        _wake.Release();
    }

    private void Run()
    {
        while (true)
        {
            _wake.Wait();
            if (_disposed)
            {
                _wake.Dispose();
                return;
            }

            // A wake-up can be stale (the writer took the lane back); only a successful claim
            // owns the posted batch, which is read after the claim so it is the current one.
            if (Interlocked.CompareExchange(ref _state, Claimed, Posted) == Posted)
            {
                _batch!.CompleteLane(1);
                Volatile.Write(ref _state, Done);
            }
        }
    }
}
