using RaftToolkit.Core.Storage;
using RaftToolkit.Native.Keys;
using RaftToolkit.Testing.Storage.Conformance;

namespace RaftToolkit.Native.Tests.Conformance;

/// <summary>
/// The conformance suite against <see cref="RocksDbLogStore"/> in the <see cref="LogKeySpace.Flat"/>
/// key space: each group id gets its own database directory (real RocksDB, real fsyncs), with
/// 1000 other groups (databases) in the isolation case.
/// Reopening closes every database and opens the same directories again.
/// </summary>
public sealed class RocksDbFlatConformanceTests : StorageConformanceSuite
{
    /// <summary>1000 other groups, as for the group-prefixed store: here 1000 more databases.</summary>
    protected override int IsolationGroupCount => 1000;

    protected override IConformanceStoreFactory CreateFactory() => new Factory();

    private sealed class Factory : IConformanceStoreFactory, IDisposable
    {
        private readonly TempDirectory _root = new("raftkit-flat-conformance");

        public ValueTask<IConformanceStore> OpenAsync(CancellationToken cancellationToken) => new(new Store(_root));

        public void Dispose() => _root.Dispose();
    }

    private sealed class Store(TempDirectory root) : IConformanceStore
    {
        private readonly Dictionary<ulong, RocksDbLogStore> _open = [];

        public IMultiGroupLogStore? MultiGroup => null;

        /// <summary>
        /// A thousand databases are open at once in the isolation case: small memtables and
        /// caches keep their memory (arena blocks are a fraction of the write buffer) modest.
        /// </summary>
        private static RocksDbLogStoreOptions SmallDatabase(ulong groupId) => new()
        {
            KeySpace = LogKeySpace.Flat,
            FlatGroupId = groupId,
            WriteBufferSize = 1 << 20,
            MaxWriteBufferNumber = 2,
            BlockCacheSize = 1 << 20,
        };

        public IRaftLogStore Group(ulong groupId)
        {
            lock (_open)
            {
                if (!_open.TryGetValue(groupId, out var store))
                {
                    store = RocksDbLogStore.Open(root.Sub($"group-{groupId}"), SmallDatabase(groupId));
                    _open.Add(groupId, store);
                }

                return store;
            }
        }

        public async ValueTask DisposeAsync()
        {
            List<RocksDbLogStore> stores;
            lock (_open)
            {
                stores = [.. _open.Values];
            }

            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
    }
}
