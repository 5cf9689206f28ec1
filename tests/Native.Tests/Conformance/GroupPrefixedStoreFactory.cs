using RaftToolkit.Core.Storage;
using RaftToolkit.Native.Keys;
using RaftToolkit.Testing.Storage.Conformance;

namespace RaftToolkit.Native.Tests.Conformance;

/// <summary>
/// Opens a <see cref="LogKeySpace.GroupPrefixed"/> <see cref="RocksDbLogStore"/> for the
/// conformance suite, in a temporary directory of its own (named after <paramref name="name"/>),
/// where reopening closes the database and opens the same directory again.
/// </summary>
internal class GroupPrefixedStoreFactory(string name) : IConformanceStoreFactory, IDisposable
{
    private readonly TempDirectory _root = new(name);

    public ValueTask<IConformanceStore> OpenAsync(CancellationToken cancellationToken) =>
        new(new Store(RocksDbLogStore.Open(_root.Sub("db"), new RocksDbLogStoreOptions { KeySpace = LogKeySpace.GroupPrefixed })));

    public void Dispose() => _root.Dispose();

    private sealed class Store(RocksDbLogStore store) : IConformanceStore
    {
        public IMultiGroupLogStore? MultiGroup => store;

        public IRaftLogStore Group(ulong groupId) => store.ForGroup(groupId);

        public ValueTask DisposeAsync() => store.DisposeAsync();
    }
}
