using RaftToolkit.Core.Storage;

namespace RaftToolkit.Core.Types;

/// <summary>
/// The default responder: completes a <see cref="Task{TResult}"/> the proposer awaits, once.
/// Continuations run asynchronously so that a proposer's code never runs on the apply loop.
/// </summary>
/// <typeparam name="TResponse">The type configuration's AppDataResponse.</typeparam>
public sealed class OneShotResponder<TResponse> : IResponder<TResponse>
{
    private readonly TaskCompletionSource<TResponse> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the proposal is applied; faults when it never will be.</summary>
    public Task<TResponse> Task => _completion.Task;

    /// <inheritdoc />
    public void Complete(TResponse response) => _completion.TrySetResult(response);

    /// <inheritdoc />
    public void Fail(Exception error) => _completion.TrySetException(error);
}
