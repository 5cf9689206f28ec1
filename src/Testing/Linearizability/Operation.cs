namespace RaftToolkit.Testing.Linearizability;

/// <summary>
/// One client operation of a history: what was asked, when the call started and when it
/// returned, and what it returned. An ambiguous operation (a timeout, a lost connection) has
/// no output and never returned: it may or may not have taken effect, at any time after its call.
/// </summary>
/// <typeparam name="TInput">What the client asked.</typeparam>
/// <typeparam name="TOutput">What the system answered.</typeparam>
public sealed record Operation<TInput, TOutput>
{
    /// <summary>The client that issued the operation (for reports only).</summary>
    public required int ClientId { get; init; }

    /// <summary>What the client asked.</summary>
    public required TInput Input { get; init; }

    /// <summary>When the call was issued, on a clock shared by every client.</summary>
    public required long CallTime { get; init; }

    /// <summary>When the response arrived; <see cref="long.MaxValue"/> for an ambiguous operation.</summary>
    public required long ReturnTime { get; init; }

    /// <summary>The response; meaningless when <see cref="IsAmbiguous"/>.</summary>
    public TOutput? Output { get; init; }

    /// <summary>True when the outcome is unknown: the operation may or may not have taken effect.</summary>
    public bool IsAmbiguous { get; init; }

    /// <summary>A completed operation.</summary>
    public static Operation<TInput, TOutput> Completed(int clientId, TInput input, long callTime, TOutput output, long returnTime)
    {
        if (returnTime < callTime)
        {
            throw new ArgumentException($"An operation cannot return ({returnTime}) before it is called ({callTime}).", nameof(returnTime));
        }

        return new() { ClientId = clientId, Input = input, CallTime = callTime, Output = output, ReturnTime = returnTime };
    }

    /// <summary>An operation whose outcome is unknown.</summary>
    public static Operation<TInput, TOutput> Ambiguous(int clientId, TInput input, long callTime) =>
        new() { ClientId = clientId, Input = input, CallTime = callTime, ReturnTime = long.MaxValue, IsAmbiguous = true };

    /// <inheritdoc />
    public override string ToString() => IsAmbiguous
        ? $"client {ClientId}: {Input} -> ? [{CallTime}, ...)"
        : $"client {ClientId}: {Input} -> {Output} [{CallTime}, {ReturnTime}]";
}
