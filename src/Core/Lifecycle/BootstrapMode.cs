using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;

namespace RaftToolkit.Core.Lifecycle;

/// <summary>How a group starts on this node.</summary>
public enum BootstrapKind : byte
{
    /// <summary>A new group: its log must be empty and its state machine without state; the initial membership is written as entry 0.</summary>
    Fresh,

    /// <summary>Restart from whatever the store holds (nothing of its own is written; start-up recovery may purge what a snapshot covers).</summary>
    Reopen,

    /// <summary>Join an existing group: start from the store (usually empty) and wait as a learner until a leader adds this node.</summary>
    Join,
}

/// <summary>
/// How <see cref="GroupLifecycle.BootstrapAsync{TNode, TData, TResponse, TSnapshot}"/> starts a
/// group: <see cref="Fresh(Model.Membership)"/>, <see cref="Reopen"/> or <see cref="Join"/>.
/// </summary>
public sealed class BootstrapMode
{
    private BootstrapMode(BootstrapKind kind, Membership? initialMembership)
    {
        Kind = kind;
        InitialMembership = initialMembership;
    }

    /// <summary>Restart from the store; a group with no state starts empty and waits as a learner.</summary>
    public static BootstrapMode Reopen { get; } = new(BootstrapKind.Reopen, null);

    /// <summary>Join an existing group: start from the store and wait as a learner until a leader replicates to this node.</summary>
    public static BootstrapMode Join { get; } = new(BootstrapKind.Join, null);

    /// <summary>Which mode this is.</summary>
    public BootstrapKind Kind { get; }

    /// <summary>Fresh only: the group's first membership.</summary>
    public Membership? InitialMembership { get; }

    /// <summary>
    /// A new group with <paramref name="initialMembership"/>. Every initial voter bootstraps with
    /// the same membership, so every log starts with the same entry 0.
    /// </summary>
    /// <exception cref="ArgumentException">The membership is joint, has no voter, or names node id 0.</exception>
    public static BootstrapMode Fresh(Membership initialMembership)
    {
        ArgumentNullException.ThrowIfNull(initialMembership);
        if (initialMembership.IsJoint)
        {
            throw new ArgumentException("A group cannot start in a joint configuration.", nameof(initialMembership));
        }

        if (initialMembership.Configs[0].Length == 0)
        {
            throw new ArgumentException("A new group needs at least one voter.", nameof(initialMembership));
        }

        foreach (ulong id in initialMembership.Voters.Concat(initialMembership.Nodes.Keys))
        {
            MembershipChange.ThrowIfNoNode(id, nameof(initialMembership));
        }

        return new BootstrapMode(BootstrapKind.Fresh, initialMembership);
    }

    /// <summary>A new group whose voters are <paramref name="voters"/> (with empty node data).</summary>
    /// <exception cref="ArgumentException">No voter, a voter named twice, or node id 0.</exception>
    public static BootstrapMode Fresh(params ulong[] voters)
    {
        ArgumentNullException.ThrowIfNull(voters);
        return Fresh(Membership.FromVoters(voters));
    }

    /// <inheritdoc />
    public override string ToString() => Kind == BootstrapKind.Fresh ? $"Fresh({InitialMembership})" : Kind.ToString();
}
