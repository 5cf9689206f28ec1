using System.Buffers;
using CommunityToolkit.HighPerformance.Buffers;
using RaftToolkit.Core.Codec;
using RaftToolkit.Core.Model;

namespace RaftToolkit.Core.Types;

/// <summary>
/// The type configuration of a Raft application: the C# counterpart of openraft's
/// <c>declare_raft_types!</c>. A consumer derives from it and names only what varies — the
/// Node, AppData, AppDataResponse and SnapshotData types and how each is serialized — and gets
/// the defaults: <see cref="ulong"/> node and group ids, advanced (totally ordered) leader ids,
/// the built-in <see cref="Entry"/>, and a one-shot responder (<see cref="OneShotResponder{T}"/>)
/// that the proposer awaits as a <see cref="Task{TResult}"/>.
/// </summary>
/// <typeparam name="TNode">What the cluster knows about each member (an address, say).</typeparam>
/// <typeparam name="TData">A proposal: the application's command.</typeparam>
/// <typeparam name="TResponse">What applying a command returns to its proposer.</typeparam>
/// <typeparam name="TSnapshot">The state machine's snapshot.</typeparam>
/// <example>
/// <code>
/// public sealed class KvTypes : RaftTypeConfig&lt;KvNode, KvCommand, KvResult, KvSnapshot&gt;
/// {
///     public override IWireSerializer&lt;KvNode&gt; Node =&gt; KvNode.Serializer;
///     public override IWireSerializer&lt;KvCommand&gt; AppData =&gt; KvCommand.Serializer;
///     public override IWireSerializer&lt;KvResult&gt; AppDataResponse =&gt; KvResult.Serializer;
///     public override IWireSerializer&lt;KvSnapshot&gt; SnapshotData =&gt; KvSnapshot.Serializer;
/// }
/// </code>
/// </example>
public abstract class RaftTypeConfig<TNode, TData, TResponse, TSnapshot>
{
    /// <summary>Serializes the node data kept in memberships.</summary>
    public abstract IWireSerializer<TNode> Node { get; }

    /// <summary>Serializes proposals into the entries' payload.</summary>
    public abstract IWireSerializer<TData> AppData { get; }

    /// <summary>Serializes responses (for forwarding a proposal's result between nodes).</summary>
    public abstract IWireSerializer<TResponse> AppDataResponse { get; }

    /// <summary>Serializes snapshots for sending them in chunks.</summary>
    public abstract IWireSerializer<TSnapshot> SnapshotData { get; }

    /// <summary>Serializes <paramref name="data"/> into <paramref name="output"/> (the hot path: a pooled writer allocates nothing).</summary>
    public void EncodeData(TData data, IBufferWriter<byte> output) => AppData.Write(output, data);

    /// <summary>Serializes <paramref name="data"/> into a new array, for an entry's payload.</summary>
    public byte[] EncodeData(TData data) => EncodeToArray(AppData, data);

    /// <summary>Decodes an entry's payload.</summary>
    /// <exception cref="CodecException">The bytes are not a valid <typeparamref name="TData"/>.</exception>
    public TData DecodeData(ReadOnlySpan<byte> payload) => DecodeWhole(AppData, payload);

    /// <summary>Serializes node data for a membership.</summary>
    public byte[] EncodeNode(TNode node) => EncodeToArray(Node, node);

    /// <summary>Decodes the node data of a membership member.</summary>
    /// <exception cref="CodecException">The bytes are not a valid <typeparamref name="TNode"/>.</exception>
    public TNode DecodeNode(ReadOnlySpan<byte> data) => DecodeWhole(Node, data);

    /// <summary>The node data of <paramref name="nodeId"/> in <paramref name="membership"/>, decoded.</summary>
    /// <exception cref="ArgumentException"><paramref name="nodeId"/> is not a member.</exception>
    public TNode GetNode(Membership membership, ulong nodeId)
    {
        ArgumentNullException.ThrowIfNull(membership);
        return membership.Nodes.TryGetValue(nodeId, out var data)
            ? DecodeNode(data.Span)
            : throw new ArgumentException($"Node {nodeId} is not a member of {membership}.", nameof(nodeId));
    }

    /// <summary>Serializes a snapshot for sending it to followers in chunks.</summary>
    public byte[] EncodeSnapshot(TSnapshot snapshot) => EncodeToArray(SnapshotData, snapshot);

    /// <summary>Decodes a snapshot received from a leader.</summary>
    /// <exception cref="CodecException">The bytes are not exactly one valid <typeparamref name="TSnapshot"/>.</exception>
    public TSnapshot DecodeSnapshot(ReadOnlySpan<byte> bytes) => DecodeWhole(SnapshotData, bytes);

    /// <summary>A single-voter-set membership of <paramref name="voters"/> plus <paramref name="learners"/>, with their node data.</summary>
    /// <exception cref="ArgumentException">A voter has no node data, or a node is both voter and learner.</exception>
    public Membership CreateMembership(IReadOnlyDictionary<ulong, TNode> voters, IReadOnlyDictionary<ulong, TNode>? learners = null)
    {
        ArgumentNullException.ThrowIfNull(voters);
        var nodes = new List<KeyValuePair<ulong, ReadOnlyMemory<byte>>>(voters.Count + (learners?.Count ?? 0));
        foreach (var (id, node) in voters)
        {
            nodes.Add(new(id, EncodeNode(node)));
        }

        if (learners is not null)
        {
            foreach (var (id, node) in learners)
            {
                if (voters.ContainsKey(id))
                {
                    throw new ArgumentException($"Node {id} cannot be both a voter and a learner.", nameof(learners));
                }

                nodes.Add(new(id, EncodeNode(node)));
            }
        }

        return Membership.Create([voters.Keys], nodes);
    }

    /// <summary>A new one-shot responder for one proposal.</summary>
    public OneShotResponder<TResponse> CreateResponder() => new();

    private static byte[] EncodeToArray<T>(IWireSerializer<T> serializer, T value)
    {
        using var buffer = new ArrayPoolBufferWriter<byte>(128);
        serializer.Write(buffer, value);
        return buffer.WrittenSpan.ToArray();
    }

    private static T DecodeWhole<T>(IWireSerializer<T> serializer, ReadOnlySpan<byte> bytes)
    {
        var reader = new WireReader(bytes);
        var value = WireCodec.Read(serializer, ref reader);
        if (reader.Remaining != 0)
        {
            throw new CodecException(CodecErrorKind.TrailingBytes, $"{reader.Remaining} trailing bytes after a {typeof(T).Name}.");
        }

        return value;
    }
}
