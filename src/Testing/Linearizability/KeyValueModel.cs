using RaftToolkit.Testing.KeyValue;

namespace RaftToolkit.Testing.Linearizability;

/// <summary>
/// The sequential specification of the test key-value store (<see cref="KvCommand"/>): one
/// register per key, partitioned by key. Set and Delete answer the previous value, Get the
/// current one.
/// </summary>
public sealed class KeyValueModel : ILinearizabilityModel<string?, KvCommand, KvResponse>
{
    /// <summary>The one instance (the model has no state).</summary>
    public static KeyValueModel Instance { get; } = new();

    /// <inheritdoc />
    public string? Initial => null;

    /// <inheritdoc />
    public IEqualityComparer<string?> StateComparer => StringComparer.Ordinal;

    /// <inheritdoc />
    public bool Step(string? state, KvCommand input, KvResponse output, bool outputKnown, out string? next)
    {
        next = input.Operation switch
        {
            KvOperation.Set => input.Value,
            KvOperation.Delete => null,
            _ => state,
        };

        // Every operation answers the value the key held before it.
        return !outputKnown || string.Equals(output.Value, state, StringComparison.Ordinal);
    }

    /// <inheritdoc />
    public IEnumerable<IReadOnlyList<Operation<KvCommand, KvResponse>>> Partition(IReadOnlyList<Operation<KvCommand, KvResponse>> history) =>
        history.GroupBy(op => op.Input.Key, StringComparer.Ordinal).Select(group => (IReadOnlyList<Operation<KvCommand, KvResponse>>)group.ToList());
}
