using RaftToolkit.Core.Raft;
using RaftToolkit.Testing.Simulation;
using Xunit;
using Xunit.Abstractions;

namespace RaftToolkit.Core.Tests.Raft;

/// <summary>
/// Randomized chaos runs of 3- and 5-node clusters: message drop, duplication, reordering and
/// delay, one-way cuts, isolation, partitions, and crash-restarts that lose unwritten state.
/// The <see cref="SafetyChecker"/> checks every safety property after every step; at the end
/// the faults heal and a leader must be elected and commit a new proposal within a bound.
/// CI runs <see cref="CiSeeds"/> seeds; set RAFTKIT_SIM_SEEDS=20000 for the long mode (and
/// RAFTKIT_SIM_FIRST_SEED to start elsewhere than 1), RAFTKIT_SEED=n to replay one seed, and
/// RAFTKIT_SIM_TRACE=1 with RAFTKIT_SEED to print the cluster after every step once healed.
/// </summary>
public sealed class RaftSimulationTests(ITestOutputHelper output)
{
    private const int CiSeeds = 1000;
    private static readonly ChaosFaults Faults = new(Crash: 6, Restart: 30, Partition: 36, Isolate: 40, Cut: 46, Heal: 70);
    private const int ChaosSteps = 400;
    private const int ElectionTicks = 10;

    /// <summary>
    /// After healing, a leader must commit a proposal within this many ticks. It covers an
    /// election plus replicating the backlog left by the chaos phase at the slowest drawn
    /// settings (window 1, one entry per request, 3-tick disks and links).
    /// </summary>
    private const int LivenessBoundTicks = 60 * ElectionTicks;

    /// <summary>After the commit, every replica must apply it within this many further ticks.</summary>
    private const int CatchUpTicks = 2000;

    [Fact]
    public void RandomizedChaosKeepsSafetyAndRecoversLiveness()
    {
        var (first, count) = SimulationSeeds.Range("RAFTKIT_SIM", CiSeeds);
        output.WriteLine($"Running seeds {first}..{first + count - 1}. Replay one: RAFTKIT_SEED=<seed> dotnet test tests/Core.Tests --filter \"FullyQualifiedName~RaftSimulationTests\"");
        long totalCommitted = 0;
        for (int seed = first; seed < first + count; seed++)
        {
            try
            {
                totalCommitted += RunOne(seed, count == 1 && Environment.GetEnvironmentVariable("RAFTKIT_SIM_TRACE") == "1" ? output.WriteLine : null);
            }
            catch (Exception e)
            {
                Assert.Fail(
                    $"Seed {seed} failed: {e.Message}\nReplay: RAFTKIT_SEED={seed} dotnet test tests/Core.Tests --filter \"FullyQualifiedName~RaftSimulationTests\"\n{e}");
            }
        }

        output.WriteLine($"{count} seeds passed; {totalCommitted} entries committed in total.");
        Assert.True(totalCommitted > count, "The runs committed almost nothing: the simulation is not exercising replication.");
    }

    /// <summary>Runs one seed; returns how many entries were committed.</summary>
    /// <param name="seed">The seed.</param>
    /// <param name="trace">When set (RAFTKIT_SIM_TRACE=1 with one seed), receives the cluster state after every step once faults healed.</param>
    private static int RunOne(int seed, Action<string>? trace)
    {
        var random = new Random(seed);
        int size = random.Next(2) == 0 ? 3 : 5;
        var config = new RaftConfig
        {
            ElectionTicks = ElectionTicks,
            HeartbeatTicks = 1 + random.Next(3),
            MaxEntriesPerAppend = 1 + random.Next(16),
            MaxInflightAppends = 1 + random.Next(6),
            PreVote = random.Next(4) != 0,
            CheckQuorum = random.Next(4) != 0,
            RandomSeed = (ulong)seed,
        };
        var cluster = new SimulatedCluster(size, config, seed)
        {
            MaxPersistDelay = random.Next(4),
        };
        var network = cluster.Network;
        network.DropRate = random.NextDouble() * 0.2;
        network.DuplicateRate = random.NextDouble() * 0.1;
        network.MinDelay = 0;
        network.MaxDelay = random.Next(4);
        var ids = cluster.NodeIds.ToArray();
        int proposals = 0;

        for (int step = 0; step < ChaosSteps; step++)
        {
            int roll = random.Next(1000);
            if (Faults.Inject(cluster, random, ids, roll))
            {
                // The roll injected a fault; the test's own actions use the rolls above Faults.Heal.
            }
            else if (roll < 170)
            {
                ulong target = cluster.Leader?.Id ?? ids[random.Next(ids.Length)];
                if (cluster.Propose(target, BitConverter.GetBytes(++proposals)).IsAccepted is false)
                {
                    proposals--;
                }
            }

            cluster.Step();
        }

        // Heal everything; a leader must then be elected and commit a new proposal.
        network.HealAll();
        network.DropRate = 0;
        network.DuplicateRate = 0;
        foreach (var id in ids)
        {
            if (!cluster.IsUp(id))
            {
                cluster.Restart(id);
            }
        }

        // Within the bound, some leader must get a new proposal applied on every node. A leader
        // may still be replaced right after healing (a restarted node's log, a stale leader), so
        // the proposal is renewed whenever its leader loses the leadership, even to win it back
        // in a later term (its proposal may be gone then): leaderships are told apart by vote.
        ProposeResult? pending = null;
        RaftNode? proposer = null;
        Core.Model.Vote proposerVote = default;
        for (int tick = 0; tick < LivenessBoundTicks; tick++)
        {
            trace?.Invoke(cluster.Describe());
            if (pending is { } p && proposer is { Role: RaftRole.Leader } && proposer.Applied is { } applied && applied.Index >= p.LogId.Index
                && proposer.TryGetLogId(p.LogId.Index, out var atIndex) && atIndex == p.LogId)
            {
                // Committed and applied by the leader within the bound; every replica must then
                // catch up (a follower far behind may need longer than the bound).
                ulong index = p.LogId.Index;
                if (cluster.RunUntil(c => ids.All(id => c.Node(id)!.Applied is { } a && a.Index >= index), CatchUpTicks) < 0)
                {
                    throw new InvalidOperationException($"Proposal {p.LogId} committed but not every node applied it within {CatchUpTicks} more ticks.\n{cluster.Describe()}");
                }

                return cluster.Checker.CommittedSequence.Count;
            }

            if (cluster.Leader is { } leader && (proposer is null || proposer != leader || proposer.Role != RaftRole.Leader || proposer.Vote != proposerVote))
            {
                var result = leader.Propose("after-heal"u8.ToArray());
                if (result.IsAccepted)
                {
                    pending = result;
                    proposer = leader;
                    proposerVote = leader.Vote;
                }
            }

            cluster.Step();
        }

        throw new InvalidOperationException(
            $"Liveness: no proposal was committed within {LivenessBoundTicks} ticks after the faults healed (last proposal {pending?.LogId.ToString() ?? "none"}).\n{cluster.Describe()}");
    }
}
