using RaftToolkit.Core.Host;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;

namespace RaftToolkit.Core.Lifecycle;

/// <summary>
/// Changing a group's members through its leader's host: <see cref="ChangeMembershipAsync"/>,
/// <see cref="AddLearnerAsync"/>, <see cref="TransferLeadershipAsync"/>, and reading the
/// membership in force with <see cref="GetMembershipAsync"/>. Every change runs on the group's
/// worker, as a proposal does; the waiting is done here, by asking the worker again after each
/// of the group's rounds (or tick).
/// </summary>
public static class GroupMembership
{
    /// <summary>
    /// Makes <paramref name="voters"/> the whole voter set of <paramref name="groupId"/>. Completes
    /// once the change committed and the group left the joint configuration (the final uniform
    /// configuration is committed). Call it on the leader's host.
    /// </summary>
    /// <param name="host">The host of the group's leader.</param>
    /// <param name="groupId">The group.</param>
    /// <param name="voters">The new voter set; nodes not yet members join with empty node data (add them as learners first to give them data and let them catch up).</param>
    /// <param name="retain">When set, removed voters stay as learners; otherwise they leave the group.</param>
    /// <param name="cancellationToken">Stops waiting (a change already accepted goes on).</param>
    /// <exception cref="MembershipException">
    /// (from the task) <see cref="MembershipErrorKind.NotLeader"/> with the leader hint;
    /// <see cref="MembershipErrorKind.Conflict"/> while another change is in progress;
    /// <see cref="MembershipErrorKind.Other"/> for an invalid change (an empty voter set, the voters in force, or a new voter that is not a member yet: add it as a learner first), a change another leader's entries replaced, or one another leader finished otherwise than asked (a leader that takes over a joint configuration keeps the removed voters as learners; read the membership);
    /// <see cref="MembershipErrorKind.NotLeader"/> (<see cref="MembershipErrorKind.Other"/> if this node leads again) when another leader's snapshot replaced the log holding the change, so whether it committed is unknown: read the membership.
    /// </exception>
    /// <exception cref="GroupNotHostedException">(from the task) The group does not run here.</exception>
    /// <exception cref="ArgumentException">A voter id is 0 ("no node").</exception>
    public static Task ChangeMembershipAsync<TNode, TData, TResponse, TSnapshot>(
        this MultiRaftHost<TNode, TData, TResponse, TSnapshot> host, ulong groupId, IEnumerable<ulong> voters, bool retain, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(voters);
        var ids = voters.Distinct().ToArray();
        if (ids.Length == 0)
        {
            // Invalid against any configuration: refused here, nothing changed.
            return Task.FromException(new MembershipException(MembershipErrorKind.Other, groupId, null, "The change would leave no voter."));
        }

        return ChangeAsync(host, groupId, MembershipChange.ReplaceVoters(ids).WithRetain(retain), 0, cancellationToken);
    }

    /// <summary>
    /// Adds <paramref name="nodeId"/> to <paramref name="groupId"/> as a learner, with
    /// <paramref name="node"/> serialized by the type configuration as its node data. Completes
    /// once the learner's entry committed, and with <paramref name="blocking"/> only once the
    /// learner holds the leader's whole committed log (then promoting it does not stall commits).
    /// Call it on the leader's host; the learner's host bootstraps the group with Join.
    /// </summary>
    /// <exception cref="MembershipException">
    /// (from the task) <see cref="MembershipErrorKind.NotLeader"/> with the leader hint (also when the leadership moved while waiting for the learner);
    /// <see cref="MembershipErrorKind.Conflict"/> while another change is in progress;
    /// <see cref="MembershipErrorKind.Other"/> for an invalid change (the node is a voter) or a change another leader's entries replaced;
    /// <see cref="MembershipErrorKind.NotLeader"/> (<see cref="MembershipErrorKind.Other"/> if this node leads again) when another leader's snapshot replaced the log holding the change, so whether it committed is unknown: read the membership.
    /// </exception>
    /// <exception cref="GroupNotHostedException">(from the task) The group does not run here.</exception>
    public static Task AddLearnerAsync<TNode, TData, TResponse, TSnapshot>(
        this MultiRaftHost<TNode, TData, TResponse, TSnapshot> host, ulong groupId, ulong nodeId, TNode node, bool blocking, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (nodeId == 0)
        {
            throw new ArgumentException("Node id 0 means \"no node\"; a learner needs an id of at least 1.", nameof(nodeId));
        }

        var data = host.Types.EncodeNode(node);
        return ChangeAsync(host, groupId, MembershipChange.AddLearner(nodeId, data), blocking ? nodeId : 0, cancellationToken);
    }

    /// <summary>
    /// Hands the leadership of <paramref name="groupId"/> to the voter <paramref name="target"/>.
    /// Completes once this node knows <paramref name="target"/> leads. Call it on the leader's host.
    /// </summary>
    /// <exception cref="MembershipException">
    /// (from the task) <see cref="MembershipErrorKind.NotLeader"/> with the leader hint;
    /// <see cref="MembershipErrorKind.Conflict"/> while another transfer is in progress;
    /// <see cref="MembershipErrorKind.Other"/> when the target is not a voter, is this node, or did not take over within the transfer's timeout.
    /// </exception>
    /// <exception cref="GroupNotHostedException">(from the task) The group does not run here.</exception>
    public static async Task TransferLeadershipAsync<TNode, TData, TResponse, TSnapshot>(
        this MultiRaftHost<TNode, TData, TResponse, TSnapshot> host, ulong groupId, ulong target, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(host);
        var (result, hint) = await host.StartTransferAsync(groupId, target).WaitAsync(cancellationToken).ConfigureAwait(false);
        switch (result)
        {
            case TransferLeadershipResult.Started:
                break;
            case TransferLeadershipResult.NotLeader:
                throw new MembershipException(MembershipErrorKind.NotLeader, groupId, hint, $"node {host.NodeId} does not lead the group.");
            case TransferLeadershipResult.InProgress:
                throw new MembershipException(MembershipErrorKind.Conflict, groupId, null, "a leadership transfer is in progress.");
            default:
                throw new MembershipException(MembershipErrorKind.Other, groupId, null, $"cannot hand leadership to node {target}: {result}.");
        }

        // The core abandons a transfer after one election timeout; twice that is the wait.
        var deadline = DateTime.UtcNow + (host.Options.TickInterval * host.RaftConfig.ElectionTicks * 2);
        while (true)
        {
            var probe = await host.ProbeMembershipAsync(groupId, 0, 0).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (probe.Role != RaftRole.Leader && probe.LeaderHint == target)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new MembershipException(MembershipErrorKind.Other, groupId, probe.LeaderHint, $"node {target} did not take over the leadership in time (leader now: {probe.LeaderHint?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"}).");
            }

            await host.WaitForProgressAsync(groupId, probe, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The membership in force in <paramref name="groupId"/> on this host, and the id of the entry that carried it.</summary>
    /// <exception cref="GroupNotHostedException">(from the task) The group does not run here.</exception>
    public static async Task<StoredMembership> GetMembershipAsync<TNode, TData, TResponse, TSnapshot>(this MultiRaftHost<TNode, TData, TResponse, TSnapshot> host, ulong groupId)
    {
        ArgumentNullException.ThrowIfNull(host);
        var probe = await host.ProbeMembershipAsync(groupId, 0, 0).ConfigureAwait(false);
        return probe.Effective;
    }

    /// <summary>
    /// True when the log's dropped prefix, ending at <paramref name="lastPurged"/>, holds
    /// <paramref name="accepted"/>: it ends at or past the index in an entry of the same leader,
    /// and a leader never overwrites its own entries, so by Raft's log matching the prefix is that
    /// leader's log, with the accepted entry in it.
    /// </summary>
    private static bool PurgedWith(LogId accepted, LogId? lastPurged) =>
        lastPurged is { } purged && purged.Index >= accepted.Index && purged.LeaderId == accepted.LeaderId;

    /// <summary>
    /// After a change of voters settled: its removed voters are learners if it asked to retain
    /// them, and gone if not. Whether to retain is the proposing leader's alone, not in the log,
    /// so a leader that took over while the group was joint left it its own way (keeping them).
    /// </summary>
    /// <exception cref="MembershipException">The settled membership did not do with the removed voters what the change asked.</exception>
    private static void ThrowIfRemovedVotersNotAsAsked(ulong groupId, MembershipChange change, Membership? proposed, Membership settled, ulong? leaderHint)
    {
        if (proposed is not { IsJoint: true } joint)
        {
            return;
        }

        foreach (ulong removed in joint.Configs[0].Except(joint.Configs[1]))
        {
            if (settled.IsVoter(removed) || settled.Contains(removed) == change.Retain)
            {
                continue;
            }

            string done = change.Retain ? "dropped it" : "kept it as a learner";
            throw new MembershipException(MembershipErrorKind.Other, groupId, leaderHint,
                $"the change {change} committed, but another leader finished it and {done}, against the request to {(change.Retain ? "retain" : "remove")} node {removed}: read the membership, and change it again to settle node {removed}.");
        }
    }

    /// <summary>Proposes the change, then waits for the uniform configuration to commit and, when <paramref name="catchUpPeer"/> is set, for that peer to hold the committed log.</summary>
    private static async Task ChangeAsync<TNode, TData, TResponse, TSnapshot>(
        MultiRaftHost<TNode, TData, TResponse, TSnapshot> host, ulong groupId, MembershipChange change, ulong catchUpPeer, CancellationToken cancellationToken)
    {
        var result = await host.ProposeMembershipChangeAsync(groupId, change).WaitAsync(cancellationToken).ConfigureAwait(false);
        switch (result.Status)
        {
            case MembershipChangeStatus.Accepted:
                break;
            case MembershipChangeStatus.NotLeader:
                throw new MembershipException(MembershipErrorKind.NotLeader, groupId, result.LeaderHint, $"node {host.NodeId} does not lead the group.");
            case MembershipChangeStatus.InProgress:
                throw new MembershipException(MembershipErrorKind.Conflict, groupId, null, result.Error ?? "a membership change is in progress.");
            default:
                throw new MembershipException(MembershipErrorKind.Other, groupId, null, result.Error ?? result.Status.ToString());
        }

        var accepted = result.LogId;
        bool acceptedCommitted = false;
        while (true)
        {
            var probe = await host.ProbeMembershipAsync(groupId, accepted.Index, catchUpPeer).WaitAsync(cancellationToken).ConfigureAwait(false);
            var committed = probe.Committed;
            if (!acceptedCommitted)
            {
                // The entry counts only while it is still the one at its index: another leader's
                // entry in its place, or none there while the commit is short of it (truncated),
                // means the change was lost.
                bool reached = committed is { } c && c.Index >= accepted.Index;
                if (probe.AtWatchedIndex is { } at ? at != accepted : !reached)
                {
                    throw new MembershipException(MembershipErrorKind.Other, groupId, probe.LeaderHint, $"the change {change} was replaced by another leader's entries before it committed.");
                }

                if (probe.AtWatchedIndex is null && !PurgedWith(accepted, probe.LastPurged))
                {
                    // Committed past the index, which the log dropped into a snapshot that another
                    // leader's entries end: the entry that committed there may not be this one.
                    throw new MembershipException(
                        probe.Role == RaftRole.Leader ? MembershipErrorKind.Other : MembershipErrorKind.NotLeader,
                        groupId,
                        probe.LeaderHint,
                        $"whether the change {change} committed is unknown: its entry went into a snapshot that ends in another leader's entry ({probe.LastPurged}); read the membership to see.");
                }

                acceptedCommitted = reached;
            }

            var effective = probe.Effective;
            bool settled = acceptedCommitted
                && !effective.Membership.IsJoint
                && (effective.LogId is not { } e || (committed is { } done && done.Index >= e.Index));
            if (settled)
            {
                ThrowIfRemovedVotersNotAsAsked(groupId, change, result.Membership, effective.Membership, probe.LeaderHint);
            }

            if (settled && catchUpPeer == 0)
            {
                return;
            }

            if (settled)
            {
                if (probe.Role != RaftRole.Leader)
                {
                    throw new MembershipException(MembershipErrorKind.NotLeader, groupId, probe.LeaderHint, $"node {host.NodeId} lost the leadership before node {catchUpPeer} caught up.");
                }

                if (!probe.IsPeer)
                {
                    throw new MembershipException(MembershipErrorKind.Other, groupId, null, $"node {catchUpPeer} left the group before it caught up.");
                }

                if (probe.PeerMatched is { } matched && committed is { } leaderCommit && matched.Index >= leaderCommit.Index)
                {
                    return;
                }
            }

            await host.WaitForProgressAsync(groupId, probe, cancellationToken).ConfigureAwait(false);
        }
    }
}
