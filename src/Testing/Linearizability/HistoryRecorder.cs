namespace RaftToolkit.Testing.Linearizability;

/// <summary>
/// Records a concurrent client history for <see cref="LinearizabilityChecker"/>. Thread-safe;
/// times come from one logical clock, so a return that happens-before a call always carries
/// a smaller time.
/// </summary>
/// <typeparam name="TInput">An operation's input.</typeparam>
/// <typeparam name="TOutput">An operation's output.</typeparam>
public sealed class HistoryRecorder<TInput, TOutput>
{
    private readonly object _gate = new();
    private readonly List<Operation<TInput, TOutput>?> _operations = [];
    private readonly List<(int Client, TInput Input, long Call)> _pending = [];
    private long _clock;

    /// <summary>Records the start of a call; returns a handle for <see cref="Return"/> or <see cref="Abandon"/>.</summary>
    public int Call(int clientId, TInput input)
    {
        lock (_gate)
        {
            _pending.Add((clientId, input, ++_clock));
            _operations.Add(null);
            return _pending.Count - 1;
        }
    }

    /// <summary>Records the response of call <paramref name="handle"/>.</summary>
    public void Return(int handle, TOutput output)
    {
        lock (_gate)
        {
            var (client, input, call) = Pending(handle);
            _operations[handle] = Operation<TInput, TOutput>.Completed(client, input, call, output, ++_clock);
        }
    }

    /// <summary>Records that call <paramref name="handle"/> has an unknown outcome (timed out, failed ambiguously).</summary>
    public void Abandon(int handle)
    {
        lock (_gate)
        {
            var (client, input, call) = Pending(handle);
            _operations[handle] = Operation<TInput, TOutput>.Ambiguous(client, input, call);
        }
    }

    /// <summary>The history so far; calls still pending count as ambiguous.</summary>
    public IReadOnlyList<Operation<TInput, TOutput>> Snapshot()
    {
        lock (_gate)
        {
            var history = new List<Operation<TInput, TOutput>>(_operations.Count);
            for (int i = 0; i < _operations.Count; i++)
            {
                var (client, input, call) = _pending[i];
                history.Add(_operations[i] ?? Operation<TInput, TOutput>.Ambiguous(client, input, call));
            }

            return history;
        }
    }

    private (int Client, TInput Input, long Call) Pending(int handle)
    {
        if ((uint)handle >= (uint)_pending.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(handle), handle, "No call was recorded with this handle.");
        }

        if (_operations[handle] is not null)
        {
            throw new InvalidOperationException($"Call {handle} was already completed.");
        }

        return _pending[handle];
    }
}
