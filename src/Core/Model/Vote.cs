namespace RaftToolkit.Core.Model;

/// <summary>
/// What a node voted for, and whether that leader has been granted by a quorum
/// (<see cref="Committed"/>). Ordered as openraft orders votes in advanced mode: by leader id,
/// and for the same leader id a committed vote is greater than an uncommitted one.
/// A persisted vote never goes backwards.
/// </summary>
/// <param name="LeaderId">The leader voted for.</param>
/// <param name="Committed">True once a quorum granted this leader.</param>
public readonly record struct Vote(LeaderId LeaderId, bool Committed) : IComparable<Vote>
{
    /// <summary>Creates an uncommitted vote for <paramref name="nodeId"/> in <paramref name="term"/>.</summary>
    public Vote(ulong term, ulong nodeId) : this(new LeaderId(term, nodeId), false) { }

    /// <summary>The term of the vote.</summary>
    public ulong Term => LeaderId.Term;

    /// <summary>The node voted for.</summary>
    public ulong NodeId => LeaderId.NodeId;

    /// <summary>Returns this vote marked as granted by a quorum.</summary>
    public Vote Commit() => this with { Committed = true };

    /// <inheritdoc />
    public int CompareTo(Vote other)
    {
        int byLeader = LeaderId.CompareTo(other.LeaderId);
        return byLeader != 0 ? byLeader : Committed.CompareTo(other.Committed);
    }

    /// <summary>Orders by leader id, then committed after uncommitted.</summary>
    public static bool operator <(Vote left, Vote right) => left.CompareTo(right) < 0;

    /// <summary>Orders by leader id, then committed after uncommitted.</summary>
    public static bool operator >(Vote left, Vote right) => left.CompareTo(right) > 0;

    /// <summary>Orders by leader id, then committed after uncommitted.</summary>
    public static bool operator <=(Vote left, Vote right) => left.CompareTo(right) <= 0;

    /// <summary>Orders by leader id, then committed after uncommitted.</summary>
    public static bool operator >=(Vote left, Vote right) => left.CompareTo(right) >= 0;

    /// <inheritdoc />
    public override string ToString() => Committed ? $"{LeaderId}:committed" : $"{LeaderId}:uncommitted";
}
