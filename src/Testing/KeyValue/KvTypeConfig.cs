using RaftToolkit.Core.Codec;
using RaftToolkit.Core.Types;

namespace RaftToolkit.Testing.KeyValue;

/// <summary>
/// The type configuration of the test key-value workload: nodes are addresses, proposals are
/// <see cref="KvCommand"/>s, and the state machine is <see cref="Storage.InMemoryStateMachine"/>.
/// </summary>
public sealed class KvTypeConfig : RaftTypeConfig<KvNode, KvCommand, KvResponse, KvSnapshot>
{
    /// <summary>The one instance (the configuration has no state).</summary>
    public static KvTypeConfig Instance { get; } = new();

    /// <inheritdoc />
    public override IWireSerializer<KvNode> Node => KvNode.Serializer;

    /// <inheritdoc />
    public override IWireSerializer<KvCommand> AppData => KvCommand.Serializer;

    /// <inheritdoc />
    public override IWireSerializer<KvResponse> AppDataResponse => KvResponse.Serializer;

    /// <inheritdoc />
    public override IWireSerializer<KvSnapshot> SnapshotData => KvSnapshot.Serializer;
}
