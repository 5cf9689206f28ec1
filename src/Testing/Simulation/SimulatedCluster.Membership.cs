using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Raft.Log;

namespace RaftToolkit.Testing.Simulation;

/// <summary>Membership churn: random configuration changes proposed at the leader.</summary>
public sealed partial class SimulatedCluster
{
    /// <summary>
    /// What a host reads at restart (openraft's <c>get_membership</c>): the last two membership
    /// entries of the log, the initial configuration standing in for missing ones.
    /// </summary>
    /// <param name="log">The durable log.</param>
    /// <param name="initial">The membership before the log's first entry: the snapshot's, or the group's initial one.</param>
    public static MembershipState MembershipFromLog(InMemoryRaftLog log, StoredMembership initial)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(initial);
        var committed = initial;
        var effective = committed;
        foreach (var entry in log.Entries)
        {
            if (entry.Membership is { } membership)
            {
                committed = effective;
                effective = new StoredMembership(entry.LogId, membership);
            }
        }

        return new MembershipState(committed, effective);
    }

    /// <summary>
    /// Proposes a random configuration change at the current leader, drawn from what the leader's
    /// configuration allows: add a voter (a new node, or a learner's promotion), remove a voter
    /// (possibly retained as a learner; never the last one), add a learner, remove a learner, or
    /// replace the voters. Returns the leader's answer (NotLeader when there is no leader).
    /// </summary>
    public MembershipChangeResult ProposeRandomMembershipChange(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        if (Leader is not { } leader)
        {
            return new MembershipChangeResult(MembershipChangeStatus.NotLeader, default, null, null, "No leader.");
        }

        var current = leader.Membership;
        var voters = new List<ulong>(current.Configs[^1]);
        var learners = new List<ulong>();
        var outsiders = new List<ulong>();
        foreach (var node in _nodes)
        {
            if (current.IsVoter(node.Id))
            {
                continue;
            }

            (current.Contains(node.Id) ? learners : outsiders).Add(node.Id);
        }

        var change = (random.Next(6), voters.Count) switch
        {
            (0, _) when outsiders.Count > 0 => MembershipChange.AddVoters(Pick(random, outsiders)),
            (1, _) when learners.Count > 0 => MembershipChange.AddVoters(Pick(random, learners)),
            (2, > 1) => MembershipChange.RemoveVoters(Pick(random, voters)).WithRetain(random.Next(2) == 0),
            (3, _) when outsiders.Count > 0 => MembershipChange.AddLearners(Pick(random, outsiders)),
            (4, _) when learners.Count > 0 => MembershipChange.RemoveLearners(Pick(random, learners)),
            (5, _) => MembershipChange.ReplaceVoters(RandomVoterSet(random)).WithRetain(random.Next(2) == 0),
            _ => null,
        };

        return change is null
            ? new MembershipChangeResult(MembershipChangeStatus.Invalid, default, null, null, "No change of that kind applies.")
            : leader.ProposeMembershipChange(change);
    }

    /// <summary>
    /// Wakes every running node from quiescence, as a host does when its failure detector
    /// suspects a peer (a crash, a partition): quiescent followers do not time out on their own.
    /// </summary>
    public void WakeAll()
    {
        foreach (var node in _nodes)
        {
            node.Raft?.Wake();
        }
    }

    /// <summary>The membership in force at <paramref name="last"/> on <paramref name="node"/>: what a snapshot up to there records.</summary>
    private StoredMembership MembershipAt(SimNode node, LogId last)
    {
        var membership = node.Storage.Snapshot?.LastMembership ?? new StoredMembership(null, Membership);
        foreach (var entry in node.Storage.Log.Entries)
        {
            if (entry.Index > last.Index)
            {
                break;
            }

            if (entry.Membership is { } m)
            {
                membership = new StoredMembership(entry.LogId, m);
            }
        }

        return membership;
    }

    private static ulong Pick(Random random, List<ulong> ids) => ids[random.Next(ids.Count)];

    /// <summary>One to five distinct nodes of the cluster.</summary>
    private ulong[] RandomVoterSet(Random random)
    {
        int count = 1 + random.Next(Math.Min(5, _nodes.Length));
        var chosen = new List<ulong>();
        while (chosen.Count < count)
        {
            ulong id = _nodes[random.Next(_nodes.Length)].Id;
            if (!chosen.Contains(id))
            {
                chosen.Add(id);
            }
        }

        return [.. chosen];
    }
}
