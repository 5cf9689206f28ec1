using RaftToolkit.Core.Model;

namespace RaftToolkit.Core.Raft;

/// <summary>One step of a <see cref="MembershipChange"/>.</summary>
public enum MembershipChangeOperation : byte
{
    /// <summary>Make the named nodes voters (learners named here are promoted).</summary>
    AddVoters = 0,

    /// <summary>Remove the named voters (they become learners when <see cref="MembershipChange.Retain"/> is set).</summary>
    RemoveVoters = 1,

    /// <summary>Add the named nodes as learners (or update a learner's node data).</summary>
    AddLearners = 2,

    /// <summary>Remove the named learners.</summary>
    RemoveLearners = 3,

    /// <summary>Make the named nodes the whole voter set; voters not named are removed (or kept as learners with <see cref="MembershipChange.Retain"/>).</summary>
    ReplaceVoters = 4,
}

/// <summary>
/// A requested change of a group's configuration: one operation, or a batch applied in order to
/// the current voter set and node map. Learners not named are left untouched. The leader turns
/// a change of the voter set into a joint configuration (old and new voters both needed) and
/// leaves it on its own once the joint entry commits; a change of learners alone is one entry.
/// </summary>
public sealed class MembershipChange
{
    private readonly Step[] _steps;

    private MembershipChange(Step[] steps, bool retain)
    {
        _steps = steps;
        Retain = retain;
    }

    /// <summary>When set, removed voters stay in the group as learners instead of leaving it.</summary>
    public bool Retain { get; }

    /// <summary>Makes <paramref name="ids"/> voters (with empty node data when new).</summary>
    public static MembershipChange AddVoters(params ulong[] ids) => Of(MembershipChangeOperation.AddVoters, ids);

    /// <summary>Makes <paramref name="id"/> a voter with <paramref name="data"/> as its node data.</summary>
    public static MembershipChange AddVoter(ulong id, ReadOnlyMemory<byte> data)
    {
        ThrowIfNoNode(id, nameof(id));
        return new([new Step(MembershipChangeOperation.AddVoters, id, null, data, true)], false);
    }

    /// <summary>Removes the voters <paramref name="ids"/>.</summary>
    public static MembershipChange RemoveVoters(params ulong[] ids) => Of(MembershipChangeOperation.RemoveVoters, ids);

    /// <summary>Adds <paramref name="ids"/> as learners (with empty node data when new).</summary>
    public static MembershipChange AddLearners(params ulong[] ids) => Of(MembershipChangeOperation.AddLearners, ids);

    /// <summary>Adds <paramref name="id"/> as a learner with <paramref name="data"/> as its node data.</summary>
    public static MembershipChange AddLearner(ulong id, ReadOnlyMemory<byte> data)
    {
        ThrowIfNoNode(id, nameof(id));
        return new([new Step(MembershipChangeOperation.AddLearners, id, null, data, true)], false);
    }

    /// <summary>
    /// Node id 0 means "no node" (no leader, no vote): a voter 0 could never answer, so a
    /// configuration naming one would stall forever in joint consensus.
    /// </summary>
    internal static void ThrowIfNoNode(ulong id, string paramName)
    {
        if (id == 0)
        {
            throw new ArgumentException("Node id 0 means \"no node\"; members need ids of at least 1.", paramName);
        }
    }

    /// <summary>Removes the learners <paramref name="ids"/>.</summary>
    public static MembershipChange RemoveLearners(params ulong[] ids) => Of(MembershipChangeOperation.RemoveLearners, ids);

    /// <summary>
    /// Makes <paramref name="ids"/> the whole voter set. A node not yet a voter must already be a
    /// member (a learner, or added earlier in the same batch): refused otherwise.
    /// </summary>
    public static MembershipChange ReplaceVoters(params ulong[] ids) => Of(MembershipChangeOperation.ReplaceVoters, ids);

    /// <summary>A batch: the steps of every change in order, retaining removed voters if any of them asks to.</summary>
    /// <exception cref="ArgumentException">No change given.</exception>
    public static MembershipChange Batch(params MembershipChange[] changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        if (changes.Length == 0)
        {
            throw new ArgumentException("A batch needs at least one change.", nameof(changes));
        }

        var steps = new List<Step>();
        bool retain = false;
        foreach (var change in changes)
        {
            ArgumentNullException.ThrowIfNull(change, nameof(changes));
            steps.AddRange(change._steps);
            retain |= change.Retain;
        }

        return new([.. steps], retain);
    }

    /// <summary>The same steps with <see cref="Retain"/> set to <paramref name="retain"/>.</summary>
    public MembershipChange WithRetain(bool retain) => new(_steps, retain);

    /// <summary>
    /// Applies the steps to the uniform configuration <paramref name="current"/>: the new voter set
    /// and node map, or a message saying why the change is invalid.
    /// </summary>
    internal bool TryApply(Membership current, out Membership target, out string? error)
    {
        target = current;
        var voters = new SortedSet<ulong>(current.Configs[0]);
        var nodes = new SortedDictionary<ulong, ReadOnlyMemory<byte>>();
        foreach (var (id, data) in current.Nodes)
        {
            nodes.Add(id, data);
        }

        foreach (var step in _steps)
        {
            ulong id = step.Id;
            switch (step.Operation)
            {
                case MembershipChangeOperation.AddVoters:
                    voters.Add(id);
                    AddNode(nodes, id, step.Data, step.HasData);
                    break;
                case MembershipChangeOperation.RemoveVoters:
                    if (!voters.Remove(id))
                    {
                        error = $"Node {id} is not a voter, so it cannot be removed as one.";
                        return false;
                    }

                    if (!Retain)
                    {
                        nodes.Remove(id);
                    }

                    break;
                case MembershipChangeOperation.AddLearners:
                    if (voters.Contains(id))
                    {
                        error = $"Node {id} is a voter; remove it as a voter (with Retain) to make it a learner.";
                        return false;
                    }

                    AddNode(nodes, id, step.Data, step.HasData);
                    break;
                case MembershipChangeOperation.RemoveLearners:
                    if (voters.Contains(id) || !nodes.Remove(id))
                    {
                        error = $"Node {id} is not a learner, so it cannot be removed as one.";
                        return false;
                    }

                    break;
                case MembershipChangeOperation.ReplaceVoters:
                    var named = step.ReplaceIds!;
                    foreach (var voter in voters.ToArray())
                    {
                        if (Array.IndexOf(named, voter) < 0)
                        {
                            voters.Remove(voter);
                            if (!Retain)
                            {
                                nodes.Remove(voter);
                            }
                        }
                    }

                    foreach (var newVoter in named)
                    {
                        if (!voters.Contains(newVoter) && !nodes.ContainsKey(newVoter))
                        {
                            error = NotAMember(newVoter);
                            return false;
                        }

                        voters.Add(newVoter);
                        AddNode(nodes, newVoter, default, false);
                    }

                    break;
                default:
                    throw new InvalidOperationException($"Unknown membership operation {step.Operation}.");
            }
        }

        if (voters.Count == 0)
        {
            error = "The change would leave no voter.";
            return false;
        }

        target = Membership.Create([voters], nodes);
        if (target.Equals(current))
        {
            error = "The change leaves the configuration as it is.";
            return false;
        }

        error = null;
        return true;
    }

    /// <inheritdoc />
    public override string ToString()
    {
        var text = new System.Text.StringBuilder();
        foreach (var step in _steps)
        {
            text.Append(step.Operation).Append(' ')
                .Append(step.ReplaceIds is { } ids ? string.Join(",", ids) : step.Id.ToString(System.Globalization.CultureInfo.InvariantCulture))
                .Append("; ");
        }

        return text.Append(Retain ? "retain" : "no retain").ToString();
    }

    private static MembershipChange Of(MembershipChangeOperation operation, ulong[] ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Length == 0)
        {
            throw new ArgumentException($"{operation} needs at least one node id.", nameof(ids));
        }

        foreach (ulong id in ids)
        {
            ThrowIfNoNode(id, nameof(ids));
        }

        if (operation == MembershipChangeOperation.ReplaceVoters)
        {
            return new([new Step(operation, 0, (ulong[])ids.Clone(), default, false)], false);
        }

        var steps = new Step[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            steps[i] = new Step(operation, ids[i], null, default, false);
        }

        return new(steps, false);
    }

    private static void AddNode(SortedDictionary<ulong, ReadOnlyMemory<byte>> nodes, ulong id, ReadOnlyMemory<byte> data, bool hasData)
    {
        if (hasData || !nodes.ContainsKey(id))
        {
            nodes[id] = hasData ? data : ReadOnlyMemory<byte>.Empty;
        }
    }

    /// <summary>
    /// Why a node named only by its id cannot become a voter: the group knows nothing of it, not
    /// even whether it exists, and a joint configuration that needs a node that never answers can
    /// neither commit nor elect, and so never be left.
    /// </summary>
    private static string NotAMember(ulong id) =>
        $"Node {id} is not a member: add it as a learner first (with its node data, so it can catch up), or name its node data.";

    /// <summary>One per-node step; ReplaceVoters carries its whole voter set.</summary>
    private readonly record struct Step(MembershipChangeOperation Operation, ulong Id, ulong[]? ReplaceIds, ReadOnlyMemory<byte> Data, bool HasData);
}

/// <summary>Why a membership change was or was not accepted.</summary>
public enum MembershipChangeStatus : byte
{
    /// <summary>The entry was appended under <see cref="MembershipChangeResult.LogId"/> (the joint entry when voters change).</summary>
    Accepted = 0,

    /// <summary>This node is not the leader; <see cref="MembershipChangeResult.LeaderHint"/> names the leader when known. A host maps it to NotLeader.</summary>
    NotLeader = 1,

    /// <summary>A change is in progress (an uncommitted membership entry, a joint configuration, or a leadership transfer). A host maps it to Conflict; retry later.</summary>
    InProgress = 2,

    /// <summary>The leader has not yet committed an entry of its own term, so it cannot know the committed configuration (Ongaro, raft-dev 2015). Retry shortly.</summary>
    NotCommittedInTerm = 3,

    /// <summary>The change is invalid against the current configuration (see <see cref="MembershipChangeResult.Error"/>).</summary>
    Invalid = 4,
}

/// <summary>The outcome of <see cref="RaftNode.ProposeMembershipChange"/>.</summary>
/// <param name="Status">Accepted or why not.</param>
/// <param name="LogId">Accepted only: the id of the appended membership entry.</param>
/// <param name="Membership">Accepted only: the configuration appended (joint when the voters change).</param>
/// <param name="LeaderHint">NotLeader only: the leader this node knows of, if any.</param>
/// <param name="Error">Invalid, InProgress, NotCommittedInTerm: a sentence saying why.</param>
public readonly record struct MembershipChangeResult(MembershipChangeStatus Status, LogId LogId, Membership? Membership, ulong? LeaderHint, string? Error)
{
    /// <summary>True when the entry was appended.</summary>
    public bool IsAccepted => Status == MembershipChangeStatus.Accepted;

    /// <summary>Throws the matching <see cref="MembershipChangeException"/> unless accepted.</summary>
    /// <exception cref="MembershipChangeException">The change was refused.</exception>
    public void ThrowIfRefused()
    {
        if (Status != MembershipChangeStatus.Accepted)
        {
            throw new MembershipChangeException(Status, LeaderHint, Error ?? Status.ToString());
        }
    }
}

/// <summary>A refused membership change, for hosts that surface refusals as exceptions.</summary>
public sealed class MembershipChangeException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MembershipChangeException(MembershipChangeStatus kind, ulong? leaderHint, string message)
        : base(message)
    {
        Kind = kind;
        LeaderHint = leaderHint;
    }

    /// <summary>Creates an exception of kind <see cref="MembershipChangeStatus.Invalid"/>.</summary>
    public MembershipChangeException()
        : this(MembershipChangeStatus.Invalid, null, "Invalid membership change.")
    {
    }

    /// <summary>Creates an exception of kind <see cref="MembershipChangeStatus.Invalid"/>.</summary>
    public MembershipChangeException(string message)
        : this(MembershipChangeStatus.Invalid, null, message)
    {
    }

    /// <summary>Creates an exception of kind <see cref="MembershipChangeStatus.Invalid"/>.</summary>
    public MembershipChangeException(string message, Exception innerException)
        : base(message, innerException)
    {
        Kind = MembershipChangeStatus.Invalid;
    }

    /// <summary>Why the change was refused (never Accepted).</summary>
    public MembershipChangeStatus Kind { get; }

    /// <summary>NotLeader only: the leader, if known.</summary>
    public ulong? LeaderHint { get; }
}
