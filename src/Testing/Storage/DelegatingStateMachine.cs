using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;

namespace RaftToolkit.Testing.Storage;

/// <summary>
/// A state machine that hands every call to another one: derive from it and override only the
/// calls a test changes (an apply that waits or throws, a snapshot that is lost or cannot be
/// built or installed); the others behave as the inner state machine's.
/// </summary>
/// <typeparam name="TResponse">The type configuration's AppDataResponse.</typeparam>
/// <typeparam name="TSnapshot">The type configuration's SnapshotData.</typeparam>
/// <param name="inner">The state machine every call not overridden goes to.</param>
public class DelegatingStateMachine<TResponse, TSnapshot>(IRaftStateMachine<TResponse, TSnapshot> inner) : IRaftStateMachine<TResponse, TSnapshot>
{
    /// <summary>The state machine every call not overridden goes to.</summary>
    protected IRaftStateMachine<TResponse, TSnapshot> Inner { get; } = inner ?? throw new ArgumentNullException(nameof(inner));

    /// <inheritdoc />
    public virtual ValueTask<AppliedState> GetAppliedStateAsync(CancellationToken cancellationToken = default) => Inner.GetAppliedStateAsync(cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask ApplyAsync(ReadOnlyMemory<ApplyItem<TResponse>> items, CancellationToken cancellationToken = default) => Inner.ApplyAsync(items, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<Snapshot<TSnapshot>?> BuildSnapshotAsync(bool force, CancellationToken cancellationToken = default) => Inner.BuildSnapshotAsync(force, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<TSnapshot> BeginReceivingSnapshotAsync(CancellationToken cancellationToken = default) => Inner.BeginReceivingSnapshotAsync(cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask InstallSnapshotAsync(SnapshotMeta meta, TSnapshot snapshot, CancellationToken cancellationToken = default) => Inner.InstallSnapshotAsync(meta, snapshot, cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask<Snapshot<TSnapshot>?> GetCurrentSnapshotAsync(CancellationToken cancellationToken = default) => Inner.GetCurrentSnapshotAsync(cancellationToken);
}
