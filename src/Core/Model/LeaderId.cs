namespace RaftToolkit.Core.Model;

/// <summary>
/// The identity of a leader in "advanced" mode: a (term, node) pair, totally ordered by term
/// and then by node id. A term may see several leaders; the greatest leader id wins.
/// </summary>
/// <param name="Term">The election term.</param>
/// <param name="NodeId">The node that was (or asked to be) elected.</param>
public readonly record struct LeaderId(ulong Term, ulong NodeId) : IComparable<LeaderId>
{
    /// <summary>The leader id every node starts from: term 0, node 0.</summary>
    public static LeaderId Initial => default;

    /// <inheritdoc />
    public int CompareTo(LeaderId other)
    {
        int byTerm = Term.CompareTo(other.Term);
        return byTerm != 0 ? byTerm : NodeId.CompareTo(other.NodeId);
    }

    /// <summary>Orders by term, then node.</summary>
    public static bool operator <(LeaderId left, LeaderId right) => left.CompareTo(right) < 0;

    /// <summary>Orders by term, then node.</summary>
    public static bool operator >(LeaderId left, LeaderId right) => left.CompareTo(right) > 0;

    /// <summary>Orders by term, then node.</summary>
    public static bool operator <=(LeaderId left, LeaderId right) => left.CompareTo(right) <= 0;

    /// <summary>Orders by term, then node.</summary>
    public static bool operator >=(LeaderId left, LeaderId right) => left.CompareTo(right) >= 0;

    /// <inheritdoc />
    public override string ToString() => $"T{Term}-N{NodeId}";
}
