namespace RaftToolkit.Testing.Linearizability;

/// <summary>
/// The sequential specification a history is checked against: an initial state and a step
/// function. States must be immutable values with a meaningful equality: the checker memoizes
/// (linearized set, state) pairs to prune the search.
/// </summary>
/// <typeparam name="TState">The specification's state.</typeparam>
/// <typeparam name="TInput">An operation's input.</typeparam>
/// <typeparam name="TOutput">An operation's output.</typeparam>
public interface ILinearizabilityModel<TState, TInput, TOutput>
{
    /// <summary>The state before any operation.</summary>
    TState Initial { get; }

    /// <summary>Compares states for the memoization cache.</summary>
    IEqualityComparer<TState> StateComparer { get; }

    /// <summary>
    /// Applies <paramref name="input"/> to <paramref name="state"/>. Returns false when the
    /// specification could not have answered <paramref name="output"/>; for an ambiguous
    /// operation (<paramref name="outputKnown"/> false) only the transition matters.
    /// </summary>
    bool Step(TState state, TInput input, TOutput? output, bool outputKnown, out TState next);

    /// <summary>
    /// Splits a history into independent parts checked separately (by key, for a key-value
    /// store): a history is linearizable exactly when every part is.
    /// </summary>
    IEnumerable<IReadOnlyList<Operation<TInput, TOutput>>> Partition(IReadOnlyList<Operation<TInput, TOutput>> history);
}
