namespace RaftToolkit.Core.Transport;

/// <summary>
/// Decides which node may reach which on an <see cref="InMemoryNetwork"/>: isolate a node,
/// split the nodes into partitions, or cut one direction of one link. Thread-safe; a change
/// applies to every batch sent after it returns.
/// </summary>
/// <remarks>
/// The rules are kept as an immutable set of cut (from, to) links swapped atomically, so the
/// send path reads one reference and takes no lock.
/// </remarks>
public sealed class PartitionController
{
    private readonly object _sync = new();

    /// <summary>The links that drop everything; replaced whole on every change.</summary>
    private volatile HashSet<(ulong From, ulong To)> _cut = [];

    /// <summary>Nodes cut off from every other node.</summary>
    private HashSet<ulong> _isolated = [];

    /// <summary>The one-way and partition cuts, kept apart from isolation so each can be undone alone.</summary>
    private HashSet<(ulong From, ulong To)> _explicitCuts = [];

    /// <summary>Every node that has been named to the controller or created on the network.</summary>
    private readonly HashSet<ulong> _known = [];

    /// <summary>True when a batch from <paramref name="from"/> to <paramref name="to"/> is delivered.</summary>
    public bool CanDeliver(ulong from, ulong to) => from == to || !_cut.Contains((from, to));

    /// <summary>Cuts <paramref name="node"/> off from every other node, both ways.</summary>
    public void Isolate(ulong node)
    {
        lock (_sync)
        {
            _known.Add(node);
            _isolated.Add(node);
            Rebuild();
        }
    }

    /// <summary>Reconnects a node cut off by <see cref="Isolate"/> (other cuts stay).</summary>
    public void Reconnect(ulong node)
    {
        lock (_sync)
        {
            _isolated.Remove(node);
            Rebuild();
        }
    }

    /// <summary>
    /// Splits the nodes into <paramref name="sides"/>: nodes on different sides cannot reach each
    /// other; nodes on the same side can. Replaces any earlier partition and one-way cut.
    /// </summary>
    /// <exception cref="ArgumentException">Fewer than two sides, or a node on two sides.</exception>
    public void Partition(params IReadOnlyCollection<ulong>[] sides)
    {
        ArgumentNullException.ThrowIfNull(sides);
        if (sides.Length < 2)
        {
            throw new ArgumentException($"A partition needs at least two sides; got {sides.Length}.", nameof(sides));
        }

        var sideOf = new Dictionary<ulong, int>();
        for (int i = 0; i < sides.Length; i++)
        {
            ArgumentNullException.ThrowIfNull(sides[i], nameof(sides));
            foreach (var node in sides[i])
            {
                if (!sideOf.TryAdd(node, i))
                {
                    throw new ArgumentException($"Node {node} is on two sides of the partition.", nameof(sides));
                }
            }
        }

        var cuts = new HashSet<(ulong, ulong)>();
        foreach (var (a, sideA) in sideOf)
        {
            foreach (var (b, sideB) in sideOf)
            {
                if (sideA != sideB)
                {
                    cuts.Add((a, b));
                }
            }
        }

        lock (_sync)
        {
            _known.UnionWith(sideOf.Keys);
            _explicitCuts = cuts;
            Rebuild();
        }
    }

    /// <summary>Drops everything <paramref name="from"/> sends to <paramref name="to"/>; the other direction still works.</summary>
    /// <exception cref="ArgumentException">The two nodes are the same.</exception>
    public void CutOneWay(ulong from, ulong to)
    {
        if (from == to)
        {
            throw new ArgumentException($"A node cannot be cut from itself (node {from}).", nameof(to));
        }

        lock (_sync)
        {
            _known.Add(from);
            _known.Add(to);
            _explicitCuts = new HashSet<(ulong, ulong)>(_explicitCuts) { (from, to) };
            Rebuild();
        }
    }

    /// <summary>Removes every isolation, partition and cut.</summary>
    public void Heal()
    {
        lock (_sync)
        {
            _isolated = [];
            _explicitCuts = [];
            Rebuild();
        }
    }

    /// <summary>Registers a node so that isolating it also cuts nodes created later.</summary>
    internal void Register(ulong node)
    {
        lock (_sync)
        {
            if (_known.Add(node) && _isolated.Count > 0)
            {
                Rebuild();
            }
        }
    }

    private void Rebuild()
    {
        var cut = new HashSet<(ulong, ulong)>(_explicitCuts);
        foreach (var node in _isolated)
        {
            foreach (var other in _known)
            {
                if (other != node)
                {
                    cut.Add((node, other));
                    cut.Add((other, node));
                }
            }
        }

        _cut = cut;
    }
}
