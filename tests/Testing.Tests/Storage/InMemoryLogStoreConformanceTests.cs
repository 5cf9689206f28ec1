using RaftToolkit.Core.Storage;
using RaftToolkit.Testing.Storage;
using RaftToolkit.Testing.Storage.Conformance;

namespace RaftToolkit.Testing.Tests.Storage;

/// <summary>
/// The conformance suite against <see cref="InMemoryLogStore"/>, a single-group store: each
/// group id gets its own store instance. "Reopening" keeps those instances' state alive: closing
/// disposes the handles (so calls on them fail as on a closed store), and reopening takes new
/// handles over the same state with <see cref="InMemoryLogStore.Reopen"/>.
/// </summary>
public sealed class InMemoryLogStoreConformanceTests : StorageConformanceSuite
{
    protected override IConformanceStoreFactory CreateFactory() => new Factory();

    /// <remarks>Disposed by the suite after each case: checks that the suite closed the store first.</remarks>
    private sealed class Factory : IConformanceStoreFactory, IDisposable
    {
        /// <summary>The latest handle of each group: the "storage" that survives a reopen.</summary>
        private readonly Dictionary<ulong, InMemoryLogStore> _storage = new();

        public ValueTask<IConformanceStore> OpenAsync(CancellationToken cancellationToken)
        {
            foreach (var (id, handle) in _storage.ToList())
            {
                _storage[id] = handle.Reopen();
            }

            return ValueTask.FromResult<IConformanceStore>(new Store(_storage));
        }

        public void Dispose()
        {
            foreach (var (id, handle) in _storage)
            {
                if (!handle.IsClosed)
                {
                    throw new InvalidOperationException($"The suite left group {id}'s store open at the end of the case.");
                }
            }
        }
    }

    private sealed class Store(Dictionary<ulong, InMemoryLogStore> storage) : IConformanceStore
    {
        public IMultiGroupLogStore? MultiGroup => null;

        public IRaftLogStore Group(ulong groupId)
        {
            lock (storage)
            {
                if (!storage.TryGetValue(groupId, out var store))
                {
                    store = new InMemoryLogStore(groupId);
                    storage.Add(groupId, store);
                }

                return store;
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var store in storage.Values)
            {
                await store.DisposeAsync();
            }
        }
    }
}
