using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Raft.Messages;

namespace RaftToolkit.Testing.Simulation;

/// <summary>
/// Drives N <see cref="RaftNode"/>s of one group single-threaded over a <see cref="SimulatedNetwork"/>
/// and a <see cref="SimulatedClock"/>, each with <see cref="SimulatedStorage"/>. A Ready's messages
/// are sent when it is taken; its writes become durable a random number of ticks later (up to
/// <see cref="MaxPersistDelay"/>), then its committed entries are applied and the node advanced.
/// A crash loses the Ready not yet written and the in-memory state machine. After every step
/// the <see cref="SafetyChecker"/> checks the safety properties.
/// </summary>
/// <remarks>
/// Each node applies into an <see cref="ISimulatedStateMachine"/>; a snapshot the node asks for
/// is built right after the Ready's entries are applied and kept durably, a received one is
/// installed with its Ready's writes, and a restart restores the durable snapshot.
/// </remarks>
public sealed partial class SimulatedCluster
{
    private readonly SimNode[] _nodes;
    private readonly Random _random;
    private readonly List<RaftMessage> _due = [];
    private readonly Func<ulong, ISimulatedStateMachine> _stateMachines;
    private long _snapshotsBuilt;

    /// <summary>Creates a cluster of voters 1..<paramref name="size"/>, all starting as followers with empty logs.</summary>
    /// <param name="size">The number of voters.</param>
    /// <param name="config">The node configuration.</param>
    /// <param name="seed">The seed of the network and write delays.</param>
    /// <param name="stateMachines">Creates a node's state machine at every start; an <see cref="AppliedDigestStateMachine"/> when null.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is less than 1.</exception>
    public SimulatedCluster(int size, RaftConfig config, int seed, Func<ulong, ISimulatedStateMachine>? stateMachines = null)
        : this(size, 0, config, seed, stateMachines)
    {
    }

    /// <summary>
    /// Creates a cluster of voters 1..<paramref name="size"/> plus <paramref name="spares"/> nodes
    /// (size+1..) that run but are not members until a membership change adds them.
    /// </summary>
    /// <param name="size">The number of voters.</param>
    /// <param name="spares">The number of nodes that start outside the group.</param>
    /// <param name="config">The node configuration.</param>
    /// <param name="seed">The seed of the network and write delays.</param>
    /// <param name="stateMachines">Creates a node's state machine at every start; an <see cref="AppliedDigestStateMachine"/> when null.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is less than 1 or <paramref name="spares"/> negative.</exception>
    public SimulatedCluster(int size, int spares, RaftConfig config, int seed, Func<ulong, ISimulatedStateMachine>? stateMachines = null)
    {
        _stateMachines = stateMachines ?? (_ => new AppliedDigestStateMachine());
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(spares);
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        Network = new SimulatedNetwork(seed);
        _random = new Random(unchecked(seed * 31 + 7));
        var ids = new ulong[size + spares];
        for (int i = 0; i < ids.Length; i++)
        {
            ids[i] = (ulong)(i + 1);
        }

        Membership = Membership.FromVoters(ids[..size]);
        _nodes = new SimNode[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            var node = new SimNode(ids[i], new SimulatedStorage());
            ulong id = ids[i];
            node.Storage.OnEntryDurable = (previous, entry) => Checker.OnEntryDurable(id, previous, entry);
            _nodes[i] = node;
            Start(node);
        }
    }

    /// <summary>The shared node configuration.</summary>
    public RaftConfig Config { get; }

    /// <summary>The group's initial membership (voters 1..N); membership entries of the log take over.</summary>
    public Membership Membership { get; }

    /// <summary>The network between the nodes.</summary>
    public SimulatedNetwork Network { get; }

    /// <summary>Simulated time.</summary>
    public SimulatedClock Clock { get; } = new();

    /// <summary>The safety checker fed by every step.</summary>
    public SafetyChecker Checker { get; } = new();

    /// <summary>Called for every message delivered to a running node, before it is stepped (for traces).</summary>
    public Action<RaftMessage>? MessageDelivered { get; set; }

    /// <summary>Called with a node's id for every read outcome its Ready hands out.</summary>
    public Action<ulong, ReadState>? ReadStateObserved { get; set; }

    /// <summary>Snapshots built by the nodes' state machines so far.</summary>
    public long SnapshotsBuilt => _snapshotsBuilt;

    /// <summary>Snapshots installed from a leader so far.</summary>
    public long SnapshotsInstalled { get; private set; }

    /// <summary>The largest delay, in ticks, between taking a Ready and its writes becoming durable.</summary>
    public int MaxPersistDelay { get; set; }

    /// <summary>The node ids, 1..N and the spares after them.</summary>
    public IEnumerable<ulong> NodeIds
    {
        get
        {
            foreach (var node in _nodes)
            {
                yield return node.Id;
            }
        }
    }

    /// <summary>The running node <paramref name="id"/>, or null while it is crashed.</summary>
    public RaftNode? Node(ulong id) => Find(id).Raft;

    /// <summary>The durable state of node <paramref name="id"/>.</summary>
    public SimulatedStorage Storage(ulong id) => Find(id).Storage;

    /// <summary>The entries node <paramref name="id"/>'s state machine applied since it last started.</summary>
    public IReadOnlyList<Entry> Applied(ulong id) => Find(id).AppliedEntries;

    /// <summary>The state machine of node <paramref name="id"/> (its current incarnation's).</summary>
    public ISimulatedStateMachine StateMachine(ulong id) => Find(id).StateMachine!;

    /// <summary>The index of the last entry node <paramref name="id"/>'s state machine holds (applied or installed), if any.</summary>
    public LogId? LastApplied(ulong id) => Find(id).LastAppliedId;

    /// <summary>True when node <paramref name="id"/> is running.</summary>
    public bool IsUp(ulong id) => Find(id).Raft is not null;

    /// <summary>The running leader with the greatest vote, if any.</summary>
    public RaftNode? Leader
    {
        get
        {
            RaftNode? best = null;
            foreach (var node in _nodes)
            {
                if (node.Raft is { Role: RaftRole.Leader } raft && (best is null || raft.Vote > best.Vote))
                {
                    best = raft;
                }
            }

            return best;
        }
    }

    /// <summary>Stops node <paramref name="id"/>: its unwritten Ready, in-memory log tail and state machine are lost.</summary>
    public void Crash(ulong id)
    {
        var node = Find(id);
        node.Raft = null;
        node.Pending = null;
    }

    /// <summary>Starts node <paramref name="id"/> again from its durable state.</summary>
    /// <exception cref="InvalidOperationException">The node is running.</exception>
    public void Restart(ulong id)
    {
        var node = Find(id);
        if (node.Raft is not null)
        {
            throw new InvalidOperationException($"Node {id} is running.");
        }

        Start(node);
    }

    /// <summary>Proposes <paramref name="payload"/> at node <paramref name="id"/> (a refusal when it is down or not leader).</summary>
    public ProposeResult Propose(ulong id, byte[] payload)
    {
        var raft = Find(id).Raft;
        return raft is null ? ProposeResult.NotLeader(null) : raft.Propose(payload);
    }

    /// <summary>
    /// One tick: every running node ticks, due messages are delivered, due writes complete,
    /// Ready work is collected, and the safety checks run.
    /// </summary>
    /// <exception cref="SimulationInvariantException">A safety property broke.</exception>
    public void Step()
    {
        Clock.Advance();
        long now = Clock.Now;
        foreach (var node in _nodes)
        {
            node.Raft?.Tick();
        }

        Deliver(now);
        for (int round = 0; round < 8; round++)
        {
            bool progressed = CompleteDueWrites(now);
            progressed |= CollectReadys(now);
            Deliver(now);
            if (!progressed)
            {
                break;
            }
        }

        Check();
    }

    /// <summary>Runs <paramref name="steps"/> steps.</summary>
    public void Run(int steps)
    {
        for (int i = 0; i < steps; i++)
        {
            Step();
        }
    }

    /// <summary>Runs steps until <paramref name="condition"/> holds; returns the steps taken, or -1 after <paramref name="maxSteps"/>.</summary>
    public int RunUntil(Func<SimulatedCluster, bool> condition, int maxSteps)
    {
        ArgumentNullException.ThrowIfNull(condition);
        for (int i = 0; i < maxSteps; i++)
        {
            if (condition(this))
            {
                return i;
            }

            Step();
        }

        return condition(this) ? maxSteps : -1;
    }

    /// <summary>A one-line-per-node summary of the cluster, for failure messages.</summary>
    public string Describe()
    {
        var text = new System.Text.StringBuilder();
        text.Append("tick ").Append(Clock.Now).Append(", ").Append(Network.InFlight).AppendLine(" messages on the wire");
        foreach (var node in _nodes)
        {
            text.Append("  node ").Append(node.Id).Append(": ");
            if (node.Raft is { } raft)
            {
                text.Append(raft)
                    .Append(" applied ").Append(raft.Applied?.ToString() ?? "none")
                    .Append(" timeout ").Append(raft.ElectionTimeout)
                    .Append(" pending ").Append(node.Pending is null ? "no" : "yes");
            }
            else
            {
                text.Append("down");
            }

            text.Append(" | durable vote ").Append(node.Storage.Vote).Append(" log ").Append(node.Storage.Log.LastLogId?.ToString() ?? "none")
                .Append(" purged ").Append(node.Storage.Log.LastPurgedLogId?.ToString() ?? "none")
                .Append(" snapshot ").Append(node.Storage.Snapshot?.LastLogId?.ToString() ?? "none").AppendLine();
        }

        return text.ToString();
    }

    private SimNode Find(ulong id)
    {
        foreach (var node in _nodes)
        {
            if (node.Id == id)
            {
                return node;
            }
        }

        throw new ArgumentOutOfRangeException(nameof(id), id, "No such node in the cluster.");
    }

    private void Start(SimNode node)
    {
        node.Incarnation++;
        node.AppliedEntries = [];
        var storage = node.Storage;
        node.StateMachine = _stateMachines(node.Id);
        node.LastAppliedId = null;
        if (storage.Snapshot is { } snapshot)
        {
            // The state machine was lost with the crash: it restarts from the durable snapshot.
            node.StateMachine.Restore(storage.SnapshotData.Span);
            node.LastAppliedId = snapshot.LastLogId;
        }

        node.NextApplyIndex = node.LastAppliedId.NextIndex();
        var state = new RaftNodeState(storage.Vote, storage.Committed, node.LastAppliedId)
        {
            Snapshot = storage.Snapshot,
            SnapshotData = storage.SnapshotData,
        };
        node.Raft = new RaftNode(node.Id, Config, storage.Log, MembershipFromLog(storage.Log, storage.Snapshot?.LastMembership ?? new StoredMembership(null, Membership)), state);
        node.LastVote = node.Raft.Vote;
        node.LastCommitted = null;
        node.CheckedCommitNext = node.Raft.LastPurgedLogId?.Index ?? 0;
    }

    private void Deliver(long now)
    {
        _due.Clear();
        Network.CollectDue(now, _due);
        foreach (var message in _due)
        {
            if (Find(message.To).Raft is { } raft)
            {
                MessageDelivered?.Invoke(message);
                raft.Step(message);
            }
        }
    }

    private bool CompleteDueWrites(long now)
    {
        bool any = false;
        foreach (var node in _nodes)
        {
            if (node.Raft is { } raft && node.Pending is { } ready && node.PendingDueAt <= now)
            {
                node.Pending = null;
                node.Storage.Persist(ready);
                var machine = node.StateMachine!;
                if (ready.SnapshotToInstall is { LastLogId: { } installed })
                {
                    Checker.OnSnapshot(node.Id, installed, ready.SnapshotData.Span);
                    machine.Restore(ready.SnapshotData.Span);
                    node.LastAppliedId = installed;
                    node.NextApplyIndex = installed.Index + 1;
                    SnapshotsInstalled++;
                }

                var applied = ready.CommittedEntries.Span;
                for (int i = 0; i < applied.Length; i++)
                {
                    Checker.OnApplied(node.Id, node.NextApplyIndex, applied[i]);
                    machine.Apply(applied[i]);
                    node.NextApplyIndex = applied[i].Index + 1;
                    node.LastAppliedId = applied[i].LogId;
                    node.AppliedEntries.Add(applied[i]);
                }

                raft.Advance(ready);
                if (ready.SnapshotRequested && node.LastAppliedId is { } last)
                {
                    byte[] data = machine.TakeSnapshot();
                    Checker.OnSnapshot(node.Id, last, data);
                    var meta = new SnapshotMeta(last, MembershipAt(node, last), $"{node.Id}-{last}-{++_snapshotsBuilt}");
                    node.Storage.SaveSnapshot(meta, data);
                    raft.SnapshotBuilt(meta, data);
                }

                any = true;
            }
        }

        return any;
    }

    private bool CollectReadys(long now)
    {
        bool any = false;
        foreach (var node in _nodes)
        {
            if (node.Raft is { HasReady: true } raft)
            {
                var ready = raft.GetReady();
                foreach (var message in ready.Messages)
                {
                    CheckPersistedBeforeSent(node, message);
                    Network.Send(message, now);
                }

                if (ReadStateObserved is { } observe)
                {
                    foreach (var readState in ready.ReadStates)
                    {
                        observe(node.Id, readState);
                    }
                }

                node.Pending = ready;
                node.PendingDueAt = now + (MaxPersistDelay > 0 ? _random.Next(0, MaxPersistDelay + 1) : 0);
                any = true;
            }
        }

        return any;
    }

    /// <summary>Persist before you speak: what a message promises must already be durable on its sender.</summary>
    private static void CheckPersistedBeforeSent(SimNode node, RaftMessage message)
    {
        var storage = node.Storage;
        switch (message)
        {
            case VoteResponse { Granted: true } granted when storage.Vote < granted.Vote:
                throw new SimulationInvariantException($"Node {node.Id} granted {granted.Vote} before persisting it (durable vote {storage.Vote}).");
            case VoteRequest request when storage.Vote < request.Vote:
                throw new SimulationInvariantException($"Node {node.Id} asked for {request.Vote} before persisting its own vote (durable vote {storage.Vote}).");
            case AppendEntriesResponse { Outcome: AppendEntriesOutcome.Success, Matched: { } matched }
                when !(storage.Log.LastPurgedLogId is { } purged && matched.Index < purged.Index)
                    && (!storage.Log.TryGetLogId(matched.Index, out var durable) || durable != matched):
                throw new SimulationInvariantException($"Node {node.Id} acknowledged {matched} before it was durable (durable last {storage.Log.LastLogId}).");
        }
    }

    private void Check()
    {
        foreach (var node in _nodes)
        {
            if (node.Raft is { Role: RaftRole.Leader } leader)
            {
                Checker.OnLeaderCommitted(leader.Vote.LeaderId, leader.Committed);
            }
        }

        foreach (var node in _nodes)
        {
            if (node.Raft is not { } raft)
            {
                continue;
            }

            if (raft.Vote < node.LastVote)
            {
                throw new SimulationInvariantException($"Node {node.Id}'s vote went backwards: {node.LastVote} -> {raft.Vote}.");
            }

            node.LastVote = raft.Vote;
            if (LogIds.Compare(raft.Committed, node.LastCommitted) < 0)
            {
                throw new SimulationInvariantException($"Node {node.Id}'s committed id went backwards: {node.LastCommitted} -> {raft.Committed}.");
            }

            node.LastCommitted = raft.Committed;
            if (raft.Committed is { } committed && committed.Index + 1 > node.CheckedCommitNext)
            {
                // Entries below the purge point are gone; the snapshot that replaced them is checked on its own.
                ulong from = Math.Max(node.CheckedCommitNext, raft.LastPurgedLogId?.Index ?? 0);
                Checker.OnCommitted(node.Id, raft, from, committed.Index);
                node.CheckedCommitNext = committed.Index + 1;
            }

            if (raft.Role == RaftRole.Leader)
            {
                Checker.OnLeader(node.Id, node.Incarnation, raft.Vote.LeaderId, raft);
            }
        }
    }

    private sealed class SimNode(ulong id, SimulatedStorage storage)
    {
        public ulong Id { get; } = id;

        public SimulatedStorage Storage { get; } = storage;

        public RaftNode? Raft { get; set; }

        public int Incarnation { get; set; }

        public Ready? Pending { get; set; }

        public long PendingDueAt { get; set; }

        public List<Entry> AppliedEntries { get; set; } = [];

        public ISimulatedStateMachine? StateMachine { get; set; }

        public LogId? LastAppliedId { get; set; }

        public ulong NextApplyIndex { get; set; }

        public Vote LastVote { get; set; }

        public LogId? LastCommitted { get; set; }

        public ulong CheckedCommitNext { get; set; }
    }
}
