namespace RaftToolkit.Native.Coalescing;

/// <summary>
/// Which state object stands for each group: what the coalescer asks, under its gate, when a
/// write removes a group or names one that a removal has just replaced.
/// </summary>
internal interface IGroupDirectory
{
    /// <summary>Under the gate: the group's current state (never a removed one).</summary>
    GroupLogState Current(ulong groupId);

    /// <summary>Under the gate, when a removal is queued: later users of the group start empty.</summary>
    void ReplaceRemoved(GroupLogState removed);
}
