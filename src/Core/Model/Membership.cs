using System.Collections.Immutable;

namespace RaftToolkit.Core.Model;

/// <summary>
/// A cluster configuration: one voter set, or two while a joint-consensus change is in flight,
/// plus the node map that names every member (voters and learners) with its node data.
/// Learners are the nodes of the map that are in no voter set.
/// </summary>
/// <remarks>
/// Node data is kept as the bytes the type configuration's node serializer produced, so the
/// Raft core and the log stores never depend on the application's node type; the typed view is
/// <c>RaftTypeConfig.DecodeNode</c>. Immutable; equality is structural.
/// </remarks>
public sealed class Membership : IEquatable<Membership>
{
    private readonly ImmutableArray<ImmutableArray<ulong>> _configs;
    private readonly ImmutableSortedDictionary<ulong, ReadOnlyMemory<byte>> _nodes;

    /// <summary>The last answer of <see cref="NodesOtherThan"/>, so the groups that share this instance share their peer list too.</summary>
    private OtherNodes? _otherNodes;

    /// <summary>The empty membership: one empty voter set and no nodes.</summary>
    public static Membership Empty { get; } = new([[]], ImmutableSortedDictionary<ulong, ReadOnlyMemory<byte>>.Empty);

    private Membership(ImmutableArray<ImmutableArray<ulong>> configs, ImmutableSortedDictionary<ulong, ReadOnlyMemory<byte>> nodes)
    {
        _configs = configs;
        _nodes = nodes;
    }

    /// <summary>
    /// Creates a membership from one or two voter sets and a node map. A voter missing from
    /// <paramref name="nodes"/> is added with empty node data.
    /// </summary>
    /// <exception cref="ArgumentException">No voter set, more than two, a duplicate voter within one set, or a joint membership with an empty voter set (no quorum of it could ever form, yet commits would count the other alone).</exception>
    public static Membership Create(IEnumerable<IEnumerable<ulong>> configs, IEnumerable<KeyValuePair<ulong, ReadOnlyMemory<byte>>>? nodes = null)
    {
        ArgumentNullException.ThrowIfNull(configs);
        var sets = ImmutableArray.CreateBuilder<ImmutableArray<ulong>>();
        foreach (var config in configs)
        {
            ArgumentNullException.ThrowIfNull(config, nameof(configs));
            var sorted = config.ToArray();
            Array.Sort(sorted);
            for (int i = 1; i < sorted.Length; i++)
            {
                if (sorted[i] == sorted[i - 1])
                {
                    throw new ArgumentException($"Voter {sorted[i]} appears twice in one voter set.", nameof(configs));
                }
            }

            sets.Add(ImmutableArray.Create(sorted));
        }

        if (sets.Count is < 1 or > 2)
        {
            throw new ArgumentException($"A membership has one voter set, or two while joint; got {sets.Count}.", nameof(configs));
        }

        if (sets.Count == 2 && (sets[0].IsEmpty || sets[1].IsEmpty))
        {
            throw new ArgumentException("Both voter sets of a joint membership must hold a voter.", nameof(configs));
        }

        var map = ImmutableSortedDictionary.CreateBuilder<ulong, ReadOnlyMemory<byte>>();
        if (nodes is not null)
        {
            foreach (var (id, data) in nodes)
            {
                if (!map.TryAdd(id, data))
                {
                    throw new ArgumentException($"Node {id} appears twice in the node map.", nameof(nodes));
                }
            }
        }

        foreach (var set in sets)
        {
            foreach (var voter in set)
            {
                map.TryAdd(voter, ReadOnlyMemory<byte>.Empty);
            }
        }

        return new Membership(sets.ToImmutable(), map.ToImmutable());
    }

    /// <summary>A single voter set of <paramref name="voters"/>, each with empty node data.</summary>
    public static Membership FromVoters(params ulong[] voters) => Create([voters]);

    /// <summary>A single voter set plus learners, all with empty node data.</summary>
    /// <exception cref="ArgumentException">A node is both voter and learner, or as <see cref="Create"/>.</exception>
    public static Membership FromVoters(IEnumerable<ulong> voters, IEnumerable<ulong> learners)
    {
        ArgumentNullException.ThrowIfNull(voters);
        ArgumentNullException.ThrowIfNull(learners);
        var voterSet = voters.ToArray();
        var learnerSet = learners.ToArray();
        foreach (ulong learner in learnerSet)
        {
            if (Array.IndexOf(voterSet, learner) >= 0)
            {
                throw new ArgumentException($"Node {learner} is both a voter and a learner.", nameof(learners));
            }
        }

        return Create([voterSet], learnerSet.Select(id => new KeyValuePair<ulong, ReadOnlyMemory<byte>>(id, ReadOnlyMemory<byte>.Empty)));
    }

    /// <summary>The voter sets: one, or two while joint (old first, new second).</summary>
    public ImmutableArray<ImmutableArray<ulong>> Configs => _configs;

    /// <summary>Every member (voters and learners) with its node data, sorted by id.</summary>
    public ImmutableSortedDictionary<ulong, ReadOnlyMemory<byte>> Nodes => _nodes;

    /// <summary>True while a joint-consensus change is in flight.</summary>
    public bool IsJoint => _configs.Length == 2;

    /// <summary>The union of the voter sets, sorted.</summary>
    public IEnumerable<ulong> Voters => IsJoint ? _configs[0].Union(_configs[1]).Order() : _configs[0];

    /// <summary>The members that are in no voter set, sorted.</summary>
    public IEnumerable<ulong> Learners => _nodes.Keys.Where(id => !IsVoter(id));

    /// <summary>True when <paramref name="nodeId"/> is in any voter set.</summary>
    public bool IsVoter(ulong nodeId)
    {
        foreach (var set in _configs)
        {
            if (set.BinarySearch(nodeId) >= 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when <paramref name="nodeId"/> is a member (voter or learner).</summary>
    public bool Contains(ulong nodeId) => _nodes.ContainsKey(nodeId);

    /// <summary>
    /// True when <paramref name="granted"/> holds a majority of every voter set (both sets while
    /// joint). Allocation-free; <paramref name="granted"/> may be in any order.
    /// </summary>
    public bool IsQuorum(ReadOnlySpan<ulong> granted)
    {
        foreach (var set in _configs)
        {
            int votes = 0;
            foreach (var voter in set)
            {
                if (granted.Contains(voter))
                {
                    votes++;
                }
            }

            if (votes * 2 <= set.Length)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The greatest index that a majority of every voter set has reached, given each voter's
    /// matched index (joint consensus takes the smaller of the two majorities).
    /// </summary>
    /// <param name="matchedIndexOf">Maps a voter to the highest index it has durably stored.</param>
    public ulong QuorumIndex<TMatched>(TMatched matchedIndexOf)
        where TMatched : IMatchedIndexSource, allows ref struct
    {
        ulong result = ulong.MaxValue;
        Span<ulong> scratch = stackalloc ulong[16];
        foreach (var set in _configs)
        {
            if (set.Length == 0)
            {
                continue;
            }

            Span<ulong> matched = set.Length <= scratch.Length ? scratch[..set.Length] : new ulong[set.Length];
            for (int i = 0; i < set.Length; i++)
            {
                matched[i] = matchedIndexOf.MatchedIndex(set[i]);
            }

            matched.Sort();
            // Sorted ascending, the value at (n-1)/2 is reached by the n-(n-1)/2 voters at or
            // after it: a majority.
            ulong majority = matched[(set.Length - 1) / 2];
            result = Math.Min(result, majority);
        }

        return result == ulong.MaxValue ? 0 : result;
    }

    /// <summary>Returns a copy in which <paramref name="nodeId"/> is a learner with <paramref name="data"/>.</summary>
    public Membership WithLearner(ulong nodeId, ReadOnlyMemory<byte> data)
    {
        if (IsVoter(nodeId))
        {
            throw new ArgumentException($"Node {nodeId} is already a voter.", nameof(nodeId));
        }

        return new Membership(_configs, _nodes.SetItem(nodeId, data));
    }

    /// <summary>
    /// Every node (voter or learner) but <paramref name="self"/>, in id order. The array is shared
    /// with every caller that asks for the same node: it must not be changed.
    /// </summary>
    internal ulong[] NodesOtherThan(ulong self)
    {
        // Any thread's answer is right, so a race only costs an array.
        if (Volatile.Read(ref _otherNodes) is { } cached && cached.Self == self)
        {
            return cached.Nodes;
        }

        // The dictionary's struct enumerator, not Keys: this must not box.
        int count = _nodes.ContainsKey(self) ? _nodes.Count - 1 : _nodes.Count;
        var nodes = new ulong[count];
        int i = 0;
        foreach (var node in _nodes)
        {
            if (node.Key != self)
            {
                nodes[i++] = node.Key;
            }
        }

        Volatile.Write(ref _otherNodes, new OtherNodes(self, nodes));
        return nodes;
    }

    /// <inheritdoc />
    public bool Equals(Membership? other)
    {
        if (ReferenceEquals(this, other))
        {
            return true;
        }

        if (other is null || other._configs.Length != _configs.Length || other._nodes.Count != _nodes.Count)
        {
            return false;
        }

        for (int i = 0; i < _configs.Length; i++)
        {
            if (!_configs[i].AsSpan().SequenceEqual(other._configs[i].AsSpan()))
            {
                return false;
            }
        }

        foreach (var (id, data) in _nodes)
        {
            if (!other._nodes.TryGetValue(id, out var otherData) || !data.Span.SequenceEqual(otherData.Span))
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as Membership);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var set in _configs)
        {
            hash.Add(set.Length);
            foreach (var voter in set)
            {
                hash.Add(voter);
            }
        }

        foreach (var id in _nodes.Keys)
        {
            hash.Add(id);
        }

        return hash.ToHashCode();
    }

    /// <inheritdoc />
    public override string ToString()
    {
        var voters = string.Join(" | ", _configs.Select(c => "{" + string.Join(",", c) + "}"));
        var learners = string.Join(",", Learners);
        return learners.Length == 0 ? $"voters {voters}" : $"voters {voters}, learners {{{learners}}}";
    }

    private sealed record OtherNodes(ulong Self, ulong[] Nodes);
}

/// <summary>Supplies each voter's matched index to <see cref="Membership.QuorumIndex{TMatched}"/>.</summary>
public interface IMatchedIndexSource
{
    /// <summary>The highest index <paramref name="nodeId"/> is known to have durably stored.</summary>
    ulong MatchedIndex(ulong nodeId);
}
