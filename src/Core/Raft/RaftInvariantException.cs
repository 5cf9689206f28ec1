namespace RaftToolkit.Core.Raft;

/// <summary>
/// A message or a write would break a Raft safety property (for example, truncating a committed
/// entry). Nothing was changed; the group is stopped (<see cref="RaftNode.Failure"/>), because a
/// node that saw this cannot be trusted to continue.
/// </summary>
public sealed class RaftInvariantException : Exception
{
    /// <summary>Creates the error.</summary>
    public RaftInvariantException(string message) : base(message) { }
}
