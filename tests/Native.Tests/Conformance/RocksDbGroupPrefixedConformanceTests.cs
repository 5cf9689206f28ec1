using RaftToolkit.Core.Storage;
using RaftToolkit.Native.Keys;
using RaftToolkit.Testing.Storage.Conformance;

namespace RaftToolkit.Native.Tests.Conformance;

/// <summary>
/// The conformance suite against <see cref="RocksDbLogStore"/> in the
/// <see cref="LogKeySpace.GroupPrefixed"/> key space, through its per-group views, with 1000
/// other groups sharing the column families in the isolation case (real RocksDB, real fsyncs).
/// Reopening closes the database and opens the same directory again.
/// </summary>
public sealed class RocksDbGroupPrefixedConformanceTests : StorageConformanceSuite
{
    protected override int IsolationGroupCount => 1000;

    protected override IConformanceStoreFactory CreateFactory() => new Factory();

    private sealed class Factory : IConformanceStoreFactory, IDisposable
    {
        private readonly TempDirectory _root = new("raftkit-prefixed-conformance");

        public ValueTask<IConformanceStore> OpenAsync(CancellationToken cancellationToken) =>
            new(new Store(RocksDbLogStore.Open(_root.Sub("db"), new RocksDbLogStoreOptions { KeySpace = LogKeySpace.GroupPrefixed })));

        public void Dispose() => _root.Dispose();
    }

    private sealed class Store(RocksDbLogStore store) : IConformanceStore
    {
        public IMultiGroupLogStore? MultiGroup => store;

        public IRaftLogStore Group(ulong groupId) => store.ForGroup(groupId);

        public ValueTask DisposeAsync() => store.DisposeAsync();
    }
}
