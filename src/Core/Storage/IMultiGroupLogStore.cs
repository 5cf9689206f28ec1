namespace RaftToolkit.Core.Storage;

/// <summary>
/// A store that keeps the logs of many groups. Each group sees exactly the
/// <see cref="IRaftLogStore"/> contract through <see cref="ForGroup"/>; writes to one group never
/// touch another group's state. <see cref="WriteAsync"/> persists the work of many groups in one
/// atomic, durable write: the host's one fsync per round.
/// </summary>
public interface IMultiGroupLogStore : IAsyncDisposable
{
    /// <summary>The log of <paramref name="groupId"/>, created empty on first use.</summary>
    /// <exception cref="StoreClosedException">The store is closed.</exception>
    IRaftLogStore ForGroup(ulong groupId);

    /// <summary>The ids of every group that has state in the store, in ascending order.</summary>
    ValueTask<IReadOnlyList<ulong>> ListGroupsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes every key of <paramref name="groupId"/> durably. Views handed out before fail
    /// with <see cref="UnknownGroupException"/> from then on; a later <see cref="ForGroup"/>,
    /// <see cref="WriteAsync"/> or removal (even one racing this one) finds the group empty.
    /// </summary>
    ValueTask RemoveGroupAsync(ulong groupId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies every operation of <paramref name="batch"/> in order as one atomic write, and
    /// completes when it is durable. The batch is validated whole before anything is written:
    /// a bad operation fails the call and writes nothing. An empty batch writes nothing and
    /// completes once the writes issued before it are durable.
    /// </summary>
    ValueTask WriteAsync(LogWriteBatch batch, CancellationToken cancellationToken = default);
}
