using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Testing.KeyValue;
using RaftToolkit.Testing.Linearizability;
using RaftToolkit.Testing.Simulation;
using Xunit;
using Xunit.Abstractions;

namespace RaftToolkit.Core.Tests.Raft;

/// <summary>
/// Randomized chaos runs with a key-value workload whose client history must be linearizable:
/// clients write through the log (Set/Delete proposals) and read through ReadIndex (at the
/// leader, or forwarded by a follower), while snapshots are built every few entries, logs are
/// purged behind a small keep window, lagging and restarted nodes catch up by chunked snapshot
/// installs, half the seeds churn the membership (spare nodes join as learners and voters,
/// voters leave, joint configurations come and go), and the network drops, duplicates, delays,
/// reorders and partitions messages and nodes crash and restart. A write that fails, times out or whose node crashes is ambiguous.
/// At the end the faults heal and every node must apply a final write (through a snapshot if
/// needed), and the history is checked with <see cref="LinearizabilityChecker"/> and
/// <see cref="KeyValueModel"/>. CI runs <see cref="CiSeeds"/> seeds; RAFTKIT_LIN_SEEDS=20000 is
/// the long mode (RAFTKIT_LIN_FIRST_SEED to start elsewhere), RAFTKIT_SEED=n replays one seed
/// (with RAFTKIT_SIM_TRACE=1, printing every message delivered after the faults healed).
/// </summary>
public sealed class LinearizabilitySimulationTests(ITestOutputHelper output)
{
    private const int CiSeeds = 500;
    private static readonly ChaosFaults Faults = new(Crash: 6, Restart: 30, Partition: 36, Isolate: 42, Cut: 46, Heal: 66);
    private const int ChaosSteps = 300;
    private const int ElectionTicks = 10;
    private const int Clients = 4;
    private const int OperationTimeoutTicks = 6 * ElectionTicks;
    private const int HealBoundTicks = 80 * ElectionTicks;
    private static readonly string[] Keys = ["a", "b", "c"];

    [Fact]
    public void KeyValueHistoryUnderChaosChurnAndCompactionIsLinearizable()
    {
        var (first, count) = SimulationSeeds.Range("RAFTKIT_LIN", CiSeeds);
        output.WriteLine($"Running seeds {first}..{first + count - 1}. Replay one: RAFTKIT_SEED=<seed> dotnet test tests/Core.Tests --filter \"FullyQualifiedName~LinearizabilitySimulationTests\"");
        var totals = new RunTotals();
        for (int seed = first; seed < first + count; seed++)
        {
            try
            {
                RunOne(seed, totals, count == 1 && Environment.GetEnvironmentVariable("RAFTKIT_SIM_TRACE") == "1" ? output.WriteLine : null);
            }
            catch (Exception e)
            {
                Assert.Fail($"Seed {seed} failed: {e.Message}\nReplay: RAFTKIT_SEED={seed} dotnet test tests/Core.Tests --filter \"FullyQualifiedName~LinearizabilitySimulationTests\"\n{e}");
            }
        }

        output.WriteLine(
            $"{count} seeds passed: {totals.Writes} writes and {totals.Reads} reads completed, {totals.Ambiguous} ambiguous; "
            + $"{totals.SnapshotsBuilt} snapshots built, {totals.SnapshotsInstalled} installed from a leader, {totals.MembershipChanges} membership changes accepted.");
        Assert.True(totals.Reads > count && totals.Writes > count, "The runs completed almost no operations: the workload is not exercising the cluster.");
        Assert.True(totals.SnapshotsInstalled > 0, "No follower ever installed a snapshot: compaction is not exercised.");
        Assert.True(count < 50 || totals.MembershipChanges > count / 4, $"Only {totals.MembershipChanges} membership changes over {count} seeds: churn is not exercised.");
    }

    /// <param name="seed">The seed.</param>
    /// <param name="totals">Where the run's counts are added.</param>
    /// <param name="trace">When set (RAFTKIT_SIM_TRACE=1 with one seed), receives every message delivered once the faults healed.</param>
    private static void RunOne(int seed, RunTotals totals, Action<string>? trace)
    {
        var random = new Random(seed);
        int size = random.Next(2) == 0 ? 3 : 5;
        var config = new RaftConfig
        {
            ElectionTicks = ElectionTicks,
            HeartbeatTicks = 1 + random.Next(3),
            MaxEntriesPerAppend = 1 + random.Next(8),
            MaxInflightAppends = 1 + random.Next(4),
            PreVote = random.Next(4) != 0,
            CheckQuorum = random.Next(4) != 0,
            SnapshotAfterEntries = 2 + random.Next(10),
            PurgeKeepEntries = random.Next(4),
            SnapshotChunkBytes = 1 + random.Next(48),
            PurgeHoldElectionTimeouts = 1 + random.Next(3),
            RandomSeed = (ulong)seed,
        };
        var results = new Dictionary<LogId, KvResponse>();

        // Half the seeds also churn the membership: spare nodes join as learners and voters,
        // voters leave, configurations go joint and back, all while clients read and write.
        bool churn = random.Next(2) == 0;
        int spares = churn ? 1 + random.Next(2) : 0;
        var cluster = new SimulatedCluster(size, spares, config, seed, _ => new KvStateMachine(results))
        {
            MaxPersistDelay = random.Next(3),
        };
        var workload = new Workload(cluster, results, random);
        cluster.ReadStateObserved = workload.OnReadState;
        var network = cluster.Network;
        network.DropRate = random.NextDouble() * 0.15;
        network.DuplicateRate = random.NextDouble() * 0.1;
        network.MaxDelay = random.Next(4);
        var ids = cluster.NodeIds.ToArray();

        for (int step = 0; step < ChaosSteps; step++)
        {
            int roll = random.Next(1000);
            if (Faults.Inject(cluster, random, ids, roll))
            {
                // The roll injected a fault; the test's own actions use the rolls above Faults.Heal.
            }
            else if (roll < 70)
            {
                cluster.Node(ids[random.Next(ids.Length)])?.RequestSnapshot();
            }
            else if (churn && roll < 85)
            {
                if (cluster.ProposeRandomMembershipChange(random).IsAccepted)
                {
                    totals.MembershipChanges++;
                }
            }

            workload.IssueSome();
            cluster.Step();
            workload.Settle();
        }

        if (trace is not null)
        {
            cluster.MessageDelivered = m => trace($"{cluster.Clock.Now}: {m}");
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

        // Liveness: a final write must be applied by every node (a node that fell behind the
        // purged log catches up through a snapshot), and a final read must be confirmed.
        if (!workload.FinishWithWriteAndRead(HealBoundTicks))
        {
            throw new InvalidOperationException($"After healing, no final write reached every node and no final read was confirmed within {HealBoundTicks} ticks.\n{cluster.Describe()}");
        }

        // A read that never returned changed nothing, so it can always be linearized last: it is
        // left out, which keeps the search small (ambiguous writes stay, they may have happened).
        var history = workload.History.Snapshot().Where(op => !(op.IsAmbiguous && op.Input.Operation == KvOperation.Get)).ToList();
        var verdict = LinearizabilityChecker.Check(KeyValueModel.Instance, history);
        if (!verdict.IsLinearizable)
        {
            throw new InvalidOperationException($"The client history is not linearizable: {verdict.Describe()}");
        }

        totals.Add(workload, cluster);
    }

    private sealed class RunTotals
    {
        public long Writes;
        public long Reads;
        public long Ambiguous;
        public long SnapshotsBuilt;
        public long SnapshotsInstalled;
        public long MembershipChanges;

        public void Add(Workload workload, SimulatedCluster cluster)
        {
            Writes += workload.CompletedWrites;
            Reads += workload.CompletedReads;
            Ambiguous += workload.Ambiguous;
            SnapshotsBuilt += cluster.SnapshotsBuilt;
            SnapshotsInstalled += cluster.SnapshotsInstalled;
        }
    }

    /// <summary>Clients with at most one operation each in flight, recorded in one history.</summary>
    private sealed class Workload(SimulatedCluster cluster, Dictionary<LogId, KvResponse> results, Random random)
    {
        private readonly ClientOp?[] _clients = new ClientOp?[Clients];

        /// <summary>The read issued after healing (not one of the clients' slots).</summary>
        private ClientOp? _finalRead;
        private ulong _nextRequestId;
        private int _nextValue;

        public HistoryRecorder<KvCommand, KvResponse> History { get; } = new();

        public int CompletedWrites { get; private set; }

        public int CompletedReads { get; private set; }

        public int Ambiguous { get; private set; }

        public void IssueSome()
        {
            for (int client = 0; client < Clients; client++)
            {
                if (_clients[client] is null && random.Next(4) == 0)
                {
                    _clients[client] = random.Next(2) == 0 ? TryWrite(client) : TryRead(client);
                }
            }
        }

        /// <summary>Completes what can be completed after a step; gives up (ambiguous) on what took too long.</summary>
        public void Settle()
        {
            long now = cluster.Clock.Now;
            for (int client = 0; client < Clients; client++)
            {
                if (_clients[client] is not { } op)
                {
                    continue;
                }

                if (TryComplete(op))
                {
                    _clients[client] = null;
                }
                else if (now - op.IssuedAt > OperationTimeoutTicks)
                {
                    History.Abandon(op.Handle);
                    Ambiguous++;
                    _clients[client] = null;
                }
            }
        }

        public void OnReadState(ulong node, ReadState state)
        {
            foreach (var op in _clients.Append(_finalRead))
            {
                if (op is { IsRead: true } read && read.Node == node && read.RequestId == state.RequestId && read.ReadIndex is null)
                {
                    if (state.IsConfirmed)
                    {
                        read.ReadIndex = state.Index;
                    }
                    else
                    {
                        read.Failed = true;
                    }
                }
            }
        }

        public bool FinishWithWriteAndRead(int boundTicks)
        {
            ClientOp? write = null;
            ClientOp? read = null;
            bool wrote = false;
            bool readDone = false;
            for (int tick = 0; tick < boundTicks; tick++)
            {
                if (!wrote && (write is null || write.Failed) && cluster.Leader is not null)
                {
                    write = TryWrite(Clients);
                }

                if (wrote && !readDone && (read is null || read.Failed) && cluster.Leader is not null)
                {
                    read = TryRead(Clients);
                    _finalRead = read;
                }

                cluster.Step();
                Settle();
                if (write is not null && !wrote && !write.Failed)
                {
                    wrote = TryComplete(write) && !write.Failed;
                    GiveUpWhenOverdue(write);
                }

                if (read is not null && !readDone && !read.Failed)
                {
                    readDone = TryComplete(read) && !read.Failed;
                    GiveUpWhenOverdue(read);
                }

                if (wrote && readDone && write is { LogId: { } id } && Members().All(n => cluster.LastApplied(n) is { } a && a.Index >= id.Index))
                {
                    return true;
                }
            }

            return false;
        }

        /// <summary>Every member (voter or learner) of the leader's configuration; every node when there is no leader.</summary>
        private IEnumerable<ulong> Members() => cluster.Leader?.Membership.Nodes.Keys ?? cluster.NodeIds;

        /// <summary>An operation of the final phase that is overdue is recorded as ambiguous and retried.</summary>
        private void GiveUpWhenOverdue(ClientOp op)
        {
            if (!op.Failed && !op.Completed && cluster.Clock.Now - op.IssuedAt > OperationTimeoutTicks)
            {
                History.Abandon(op.Handle);
                Ambiguous++;
                op.Failed = true;
            }
        }

        private ClientOp? TryWrite(int client)
        {
            var ids = cluster.NodeIds.ToArray();
            ulong target = random.Next(5) != 0 && cluster.Leader is { } leader ? leader.Id : ids[random.Next(ids.Length)];
            string key = Keys[random.Next(Keys.Length)];
            var command = random.Next(5) == 0 ? KvCommand.Delete(key) : KvCommand.Set(key, $"v{++_nextValue}");
            var result = cluster.Propose(target, KvTypeConfig.Instance.EncodeData(command));
            if (!result.IsAccepted)
            {
                return null;
            }

            int handle = History.Call(client, command);
            return new ClientOp(handle, target, cluster.Clock.Now) { LogId = result.LogId };
        }

        private ClientOp? TryRead(int client)
        {
            var ids = cluster.NodeIds.ToArray();
            ulong target = random.Next(2) == 0 && cluster.Leader is { } leader ? leader.Id : ids[random.Next(ids.Length)];
            if (cluster.Node(target) is not { } node)
            {
                return null;
            }

            ulong requestId = ++_nextRequestId;
            var command = KvCommand.Get(Keys[random.Next(Keys.Length)]);
            int handle = History.Call(client, command);
            var op = new ClientOp(handle, target, cluster.Clock.Now) { IsRead = true, RequestId = requestId, Key = command.Key, Incarnation = node };
            if (node.ReadIndex(requestId) != ReadIndexStatus.Pending)
            {
                op.Failed = true;
            }

            return op;
        }

        private bool TryComplete(ClientOp op)
        {
            if (op.IsRead)
            {
                if (op.Failed)
                {
                    // A refused read had no effect; it stays in the history as ambiguous.
                    History.Abandon(op.Handle);
                    Ambiguous++;
                    return true;
                }

                // Served only once the state machine of the node that asked has applied the read index.
                if (op.ReadIndex is { } index && cluster.Node(op.Node) == op.Incarnation
                    && cluster.LastApplied(op.Node) is { } applied && applied.Index >= index)
                {
                    var machine = (KvStateMachine)cluster.StateMachine(op.Node);
                    History.Return(op.Handle, new KvResponse(machine.Get(op.Key!)));
                    CompletedReads++;
                    op.Completed = true;
                    return true;
                }

                return false;
            }

            var id = op.LogId!.Value;
            if (results.TryGetValue(id, out var response))
            {
                History.Return(op.Handle, response);
                CompletedWrites++;
                op.Completed = true;
                return true;
            }

            var committed = cluster.Checker.CommittedSequence;
            if (id.Index < (ulong)committed.Count && committed[(int)id.Index] != id)
            {
                // Another entry was committed at its index: this write can never take effect.
                op.Failed = true;
                History.Abandon(op.Handle);
                Ambiguous++;
                return true;
            }

            return false;
        }
    }

    private sealed class ClientOp(int handle, ulong node, long issuedAt)
    {
        public int Handle { get; } = handle;

        public ulong Node { get; } = node;

        public long IssuedAt { get; } = issuedAt;

        public bool IsRead { get; init; }

        public ulong RequestId { get; init; }

        public string? Key { get; init; }

        /// <summary>Reads: the node object that accepted the read; a crash-restart makes a new one.</summary>
        public RaftNode? Incarnation { get; init; }

        public LogId? LogId { get; init; }

        public ulong? ReadIndex { get; set; }

        public bool Failed { get; set; }

        public bool Completed { get; set; }
    }

    /// <summary>
    /// The key-value state machine of one simulated node. It records the response of every
    /// applied command by log id (shared by all nodes: state-machine safety makes them agree,
    /// and a disagreement fails the run).
    /// </summary>
    private sealed class KvStateMachine(Dictionary<LogId, KvResponse> results) : ISimulatedStateMachine
    {
        private Dictionary<string, string> _data = new(StringComparer.Ordinal);

        public string? Get(string key) => _data.TryGetValue(key, out var value) ? value : null;

        public void Apply(in Entry entry)
        {
            if (entry.Kind != EntryKind.Normal)
            {
                return;
            }

            var command = KvTypeConfig.Instance.DecodeData(entry.Data.Span);
            _data.TryGetValue(command.Key, out var previous);
            if (command.Operation == KvOperation.Set)
            {
                _data[command.Key] = command.Value!;
            }
            else if (command.Operation == KvOperation.Delete)
            {
                _data.Remove(command.Key);
            }

            var response = new KvResponse(previous);
            if (results.TryGetValue(entry.LogId, out var known))
            {
                if (known != response)
                {
                    throw new SimulationInvariantException($"State-machine safety: entry {entry.LogId} answered {response} on one node and {known} on another.");
                }
            }
            else
            {
                results.Add(entry.LogId, response);
            }
        }

        public byte[] TakeSnapshot() => KvSnapshot.Capture(_data).Bytes.ToArray();

        public void Restore(ReadOnlySpan<byte> snapshot)
        {
            var received = new KvSnapshot();
            received.Append(snapshot);
            _data = received.ReadPairs();
        }
    }
}
