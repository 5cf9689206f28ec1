using RaftToolkit.Core.Storage;
using RaftToolkit.Testing.Storage;
using RaftToolkit.Testing.Storage.Conformance;

namespace RaftToolkit.Testing.Tests.Storage;

/// <summary>
/// The conformance suite against <see cref="InMemoryMultiGroupLogStore"/>, through its per-group
/// views. Reopening disposes the store and takes a new one over the same state with
/// <see cref="InMemoryMultiGroupLogStore.Reopen"/>.
/// </summary>
public sealed class InMemoryMultiGroupConformanceTests : StorageConformanceSuite
{
    protected override IConformanceStoreFactory CreateFactory() => new Factory();

    private sealed class Factory : IConformanceStoreFactory
    {
        private InMemoryMultiGroupLogStore? _last;

        public ValueTask<IConformanceStore> OpenAsync(CancellationToken cancellationToken)
        {
            _last = _last is null ? new InMemoryMultiGroupLogStore() : _last.Reopen();
            return ValueTask.FromResult<IConformanceStore>(new Store(_last));
        }
    }

    private sealed class Store(InMemoryMultiGroupLogStore store) : IConformanceStore
    {
        public IMultiGroupLogStore? MultiGroup => store;

        public IRaftLogStore Group(ulong groupId) => store.ForGroup(groupId);

        public ValueTask DisposeAsync() => store.DisposeAsync();
    }
}
