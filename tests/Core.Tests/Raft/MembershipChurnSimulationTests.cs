using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Testing.Simulation;
using Xunit;
using Xunit.Abstractions;

namespace RaftToolkit.Core.Tests.Raft;

/// <summary>
/// Randomized runs with membership churn: voters and learners added, removed, promoted and
/// replaced at random while messages are dropped, duplicated and delayed, links are cut,
/// nodes crash and restart, leadership is transferred, idle groups quiesce and snapshots
/// compact the log (so membership also travels in snapshots). The
/// <see cref="SafetyChecker"/> runs after every step; at the end the faults heal and a leader
/// must commit a proposal that every member of its configuration applies.
/// CI runs <see cref="CiSeeds"/> seeds; RAFTKIT_CHURN_SEEDS=20000 is the long mode
/// (RAFTKIT_CHURN_FIRST_SEED to start elsewhere), RAFTKIT_SEED=n replays one seed.
/// </summary>
public sealed class MembershipChurnSimulationTests(ITestOutputHelper output)
{
    private const int CiSeeds = 1000;
    private const int ChaosSteps = 400;
    private const int ElectionTicks = 10;
    private const int LivenessBoundTicks = 60 * ElectionTicks;
    private const int CatchUpTicks = 2000;

    [Fact]
    public void RandomMembershipChurnKeepsSafetyAndRecoversLiveness()
    {
        var (first, count) = SimulationSeeds.Range("RAFTKIT_CHURN", CiSeeds);
        output.WriteLine($"Running seeds {first}..{first + count - 1}. Replay one: RAFTKIT_SEED=<seed> dotnet test tests/Core.Tests --filter \"FullyQualifiedName~MembershipChurnSimulationTests\"");
        var totals = new ChurnTotals();
        for (int seed = first; seed < first + count; seed++)
        {
            try
            {
                RunOne(seed, totals);
            }
            catch (Exception e)
            {
                Assert.Fail(
                    $"Seed {seed} failed: {e.Message}\nReplay: RAFTKIT_SEED={seed} dotnet test tests/Core.Tests --filter \"FullyQualifiedName~MembershipChurnSimulationTests\"\n{e}");
            }
        }

        output.WriteLine($"{count} seeds passed; {totals.ChangesAccepted} membership changes accepted, {totals.JointLeft} joint configurations left, {totals.Committed} entries committed.");
        if (count < 50)
        {
            // A replay of a few seeds checks only that they pass.
            return;
        }

        Assert.True(totals.ChangesAccepted > count, $"Only {totals.ChangesAccepted} membership changes were accepted over {count} seeds: the churn is not exercised.");
        Assert.True(totals.JointLeft > count / 4, $"Only {totals.JointLeft} joint configurations were left over {count} seeds: joint consensus is not exercised.");
    }

    private static void RunOne(int seed, ChurnTotals totals)
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
            QuiesceAfterTicks = random.Next(3) == 0 ? 0 : 5 + random.Next(20),
            SnapshotAfterEntries = random.Next(3) == 0 ? 0 : 4 + random.Next(12),
            PurgeKeepEntries = random.Next(6),
            SnapshotChunkBytes = 8 + random.Next(64),
            RandomSeed = (ulong)seed,
        };
        var cluster = new SimulatedCluster(size, 2 + random.Next(2), config, seed)
        {
            MaxPersistDelay = random.Next(4),
        };
        var network = cluster.Network;
        network.DropRate = random.NextDouble() * 0.1;
        network.DuplicateRate = random.NextDouble() * 0.05;
        network.MaxDelay = random.Next(4);
        var ids = cluster.NodeIds.ToArray();
        int proposals = 0;

        for (int step = 0; step < ChaosSteps; step++)
        {
            int roll = random.Next(1000);
            if (roll < 5)
            {
                ulong victim = ids[random.Next(ids.Length)];
                if (cluster.IsUp(victim))
                {
                    cluster.Crash(victim);
                    cluster.WakeAll();
                }
            }
            else if (roll < 25)
            {
                foreach (var id in ids)
                {
                    if (!cluster.IsUp(id) && random.Next(3) == 0)
                    {
                        cluster.Restart(id);
                    }
                }
            }
            else if (roll < 30)
            {
                var shuffled = ids.OrderBy(_ => random.Next()).ToArray();
                int cut = 1 + random.Next(ids.Length - 1);
                network.Partition([shuffled[..cut], shuffled[cut..]]);
                cluster.WakeAll();
            }
            else if (roll < 35)
            {
                network.Cut(ids[random.Next(ids.Length)], ids[random.Next(ids.Length)]);
                cluster.WakeAll();
            }
            else if (roll < 60)
            {
                network.HealAll();
            }
            else if (roll < 100)
            {
                if (cluster.ProposeRandomMembershipChange(random).IsAccepted)
                {
                    totals.ChangesAccepted++;
                }
            }
            else if (roll < 105)
            {
                if (cluster.Leader is { } leader)
                {
                    leader.TransferLeadership(ids[random.Next(ids.Length)]);
                }
            }
            else if (roll < 180)
            {
                ulong target = cluster.Leader?.Id ?? ids[random.Next(ids.Length)];
                if (cluster.Propose(target, BitConverter.GetBytes(++proposals)).IsAccepted is false)
                {
                    proposals--;
                }
            }

            bool wasJoint = cluster.Leader is { } before && before.Membership.IsJoint;
            cluster.Step();
            if (wasJoint && cluster.Leader is { } after && !after.Membership.IsJoint)
            {
                totals.JointLeft++;
            }
        }

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

        cluster.WakeAll();
        ProposeResult? pending = null;
        RaftNode? proposer = null;
        Vote proposedUnder = default;
        for (int tick = 0; tick < LivenessBoundTicks; tick++)
        {
            if (pending is { } p && proposer is { Role: RaftRole.Leader } && proposer.Applied is { } applied && applied.Index >= p.LogId.Index
                && cluster.Checker.CommittedSequence.Count > (int)p.LogId.Index && cluster.Checker.CommittedSequence[(int)p.LogId.Index] == p.LogId)
            {
                // Every member of the leader's configuration (voters and learners) must apply it.
                var members = proposer.Membership.Nodes.Keys.ToArray();
                ulong index = p.LogId.Index;
                if (cluster.RunUntil(c => members.All(id => c.Node(id)!.Applied is { } a && a.Index >= index), CatchUpTicks) < 0)
                {
                    throw new InvalidOperationException($"Proposal {p.LogId} committed but not every member of {proposer.Membership} applied it within {CatchUpTicks} more ticks.\n{cluster.Describe()}");
                }

                totals.Committed += cluster.Checker.CommittedSequence.Count;
                return;
            }

            // A proposal is renewed when its leader lost the leadership, even if the same node
            // leads again under a new vote (the entry may then have been replaced).
            if (cluster.Leader is { } leader && (proposer is null || proposer != leader || proposer.Role != RaftRole.Leader || leader.Vote != proposedUnder))
            {
                var result = leader.Propose("after-heal"u8.ToArray());
                if (result.IsAccepted)
                {
                    pending = result;
                    proposer = leader;
                    proposedUnder = leader.Vote;
                }
            }

            cluster.Step();
        }

        throw new InvalidOperationException(
            $"Liveness: no proposal was committed within {LivenessBoundTicks} ticks after the faults healed (last proposal {pending?.LogId.ToString() ?? "none"}).\n{cluster.Describe()}");
    }

    private sealed class ChurnTotals
    {
        public int ChangesAccepted { get; set; }

        public int JointLeft { get; set; }

        public long Committed { get; set; }
    }
}
