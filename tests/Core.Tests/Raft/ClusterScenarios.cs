using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Testing.Simulation;
using Xunit;

namespace RaftToolkit.Core.Tests.Raft;

/// <summary>Small steps shared by the membership, learner, transfer and quiescence scenarios on the simulated cluster.</summary>
internal static class ClusterScenarios
{
    public const int ElectionTicks = 10;

    public static RaftConfig Config(int quiesceAfterTicks = 0, ulong seed = 7) => new()
    {
        ElectionTicks = ElectionTicks,
        HeartbeatTicks = 1,
        QuiesceAfterTicks = quiesceAfterTicks,
        RandomSeed = seed,
    };

    /// <summary>A cluster of <paramref name="voters"/> voters and <paramref name="spares"/> non-members, with a leader that committed its blank entry.</summary>
    public static (SimulatedCluster Cluster, RaftNode Leader) Started(int voters, int spares = 0, int quiesceAfterTicks = 0)
    {
        var cluster = new SimulatedCluster(voters, spares, Config(quiesceAfterTicks), seed: 11);
        var leader = StableLeader(cluster);
        return (cluster, leader);
    }

    /// <summary>Runs until a leader has committed an entry of its own term.</summary>
    public static RaftNode StableLeader(SimulatedCluster cluster, int maxSteps = 50 * ElectionTicks)
    {
        int steps = cluster.RunUntil(
            c => c.Leader is { } l && l.Committed is { } committed && committed.LeaderId == l.Vote.LeaderId,
            maxSteps);
        Assert.True(steps >= 0, $"No leader committed an entry of its own term within {maxSteps} ticks.\n{cluster.Describe()}");
        return cluster.Leader!;
    }

    /// <summary>Runs until <paramref name="node"/> knows <paramref name="logId"/> committed.</summary>
    public static void RunUntilCommitted(SimulatedCluster cluster, RaftNode node, LogId logId, int maxSteps = 20 * ElectionTicks)
    {
        int steps = cluster.RunUntil(_ => node.Committed is { } c && c.Index >= logId.Index, maxSteps);
        Assert.True(steps >= 0, $"Node {node.Id} did not commit {logId} within {maxSteps} ticks.\n{cluster.Describe()}");
    }

    /// <summary>Runs until the leader's configuration is uniform and committed, and every member holds it.</summary>
    public static RaftNode RunUntilSettledMembership(SimulatedCluster cluster, int maxSteps = 50 * ElectionTicks)
    {
        int steps = cluster.RunUntil(
            c => c.Leader is { } l && !l.IsMembershipChangeInProgress
                && l.Membership.Nodes.Keys.All(id => c.Node(id) is not { } n || n.EffectiveMembership.Equals(l.EffectiveMembership)),
            maxSteps);
        Assert.True(steps >= 0, $"The membership did not settle within {maxSteps} ticks.\n{cluster.Describe()}");
        return cluster.Leader!;
    }

    public static ulong[] Others(SimulatedCluster cluster, ulong id) => cluster.NodeIds.Where(n => n != id).ToArray();
}
