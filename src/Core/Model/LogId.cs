namespace RaftToolkit.Core.Model;

/// <summary>
/// The identity of a log entry: the leader that proposed it and its index. Ordered by leader
/// id, then index, as openraft orders log ids.
/// </summary>
/// <param name="LeaderId">The leader that created the entry.</param>
/// <param name="Index">The entry's position in the log.</param>
public readonly record struct LogId(LeaderId LeaderId, ulong Index) : IComparable<LogId>
{
    /// <summary>Creates a log id for leader (<paramref name="term"/>, <paramref name="nodeId"/>).</summary>
    public LogId(ulong term, ulong nodeId, ulong index) : this(new LeaderId(term, nodeId), index) { }

    /// <summary>The term of the entry's leader.</summary>
    public ulong Term => LeaderId.Term;

    /// <inheritdoc />
    public int CompareTo(LogId other)
    {
        int byLeader = LeaderId.CompareTo(other.LeaderId);
        return byLeader != 0 ? byLeader : Index.CompareTo(other.Index);
    }

    /// <summary>Orders by leader id, then index.</summary>
    public static bool operator <(LogId left, LogId right) => left.CompareTo(right) < 0;

    /// <summary>Orders by leader id, then index.</summary>
    public static bool operator >(LogId left, LogId right) => left.CompareTo(right) > 0;

    /// <summary>Orders by leader id, then index.</summary>
    public static bool operator <=(LogId left, LogId right) => left.CompareTo(right) <= 0;

    /// <summary>Orders by leader id, then index.</summary>
    public static bool operator >=(LogId left, LogId right) => left.CompareTo(right) >= 0;

    /// <inheritdoc />
    public override string ToString() => $"{LeaderId}.{Index}";
}

/// <summary>Helpers for optional log ids, where "none" sorts before every id.</summary>
public static class LogIds
{
    /// <summary>The index after <paramref name="logId"/>; 0 when there is none.</summary>
    public static ulong NextIndex(this LogId? logId) => logId is { } id ? id.Index + 1 : 0;

    /// <summary>Compares optional log ids; none sorts before every id.</summary>
    public static int Compare(LogId? left, LogId? right) => (left, right) switch
    {
        (null, null) => 0,
        (null, _) => -1,
        (_, null) => 1,
        ({ } l, { } r) => l.CompareTo(r),
    };

    /// <summary>The greater of two optional log ids.</summary>
    public static LogId? Max(LogId? left, LogId? right) => Compare(left, right) >= 0 ? left : right;
}
