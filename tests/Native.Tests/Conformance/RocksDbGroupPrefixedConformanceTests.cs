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

    protected override IConformanceStoreFactory CreateFactory() => new GroupPrefixedStoreFactory("raftkit-prefixed-conformance");
}
