namespace RaftToolkit.Native.Coalescing;

/// <summary>
/// Which state object stands for each group: what the coalescer asks, under its gate, when a
/// write removes a group, names one that a removal has replaced, or has removed one.
/// </summary>
internal interface IGroupDirectory
{
    /// <summary>Under the gate: the group's current state (never a removed or forgotten one), loaded.</summary>
    GroupLogState Current(ulong groupId);

    /// <summary>Under the gate, when a removal is queued: later users of the group start empty. Returns the state that stands for the group now.</summary>
    GroupLogState ReplaceRemoved(GroupLogState removed);

    /// <summary>
    /// Under the gate, once the removal that put <paramref name="replacement"/> in place is
    /// written, before any write behind it is completed: reads through it may read the database
    /// again, and it is dropped from the cache unless it was used since.
    /// </summary>
    void RemovalWritten(GroupLogState replacement);
}
