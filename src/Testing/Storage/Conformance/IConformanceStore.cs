using RaftToolkit.Core.Storage;

namespace RaftToolkit.Testing.Storage.Conformance;

/// <summary>
/// Opens the storage one conformance case runs against. The suite asks for a new factory per
/// case, so each case starts from fresh, empty storage. If the factory is also
/// <see cref="IAsyncDisposable"/> or <see cref="IDisposable"/>, the suite disposes it when the case
/// ends (after disposing the store), so it can delete the storage.
/// </summary>
public interface IConformanceStoreFactory
{
    /// <summary>
    /// Opens the storage. Called again after the previous store was disposed, it must reopen the
    /// SAME underlying storage (as a process restart would), with everything that was durable.
    /// </summary>
    ValueTask<IConformanceStore> OpenAsync(CancellationToken cancellationToken);
}

/// <summary>
/// An open store under test. Disposing it closes the storage: every handle obtained from it must
/// then fail with <see cref="StoreClosedException"/>.
/// </summary>
public interface IConformanceStore : IAsyncDisposable
{
    /// <summary>
    /// The log of <paramref name="groupId"/>. A multi-group store returns its per-group view; a
    /// single-group store kind may back each group id with its own instance (or directory).
    /// Asking twice for one group may return the same handle or a new one over the same log.
    /// </summary>
    IRaftLogStore Group(ulong groupId);

    /// <summary>The multi-group store behind <see cref="Group"/>, or null for a single-group store kind.</summary>
    IMultiGroupLogStore? MultiGroup { get; }
}
