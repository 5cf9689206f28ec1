using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Raft.Log;
using RaftToolkit.Core.Raft.Messages;

namespace RaftToolkit.Core.Tests.Raft;

/// <summary>A node with an in-memory log whose Readys the test persists and advances synchronously.</summary>
internal sealed class TestNode
{
    private TestNode(ulong id, RaftConfig config, Membership membership, InMemoryRaftLog log, RaftNodeState state)
    {
        Id = id;
        Config = config;
        Membership = membership;
        Log = log;
        PersistedVote = state.Vote;
        Raft = new RaftNode(id, config, log, membership, state);
    }

    public ulong Id { get; }

    public RaftConfig Config { get; }

    public Membership Membership { get; }

    public InMemoryRaftLog Log { get; }

    public RaftNode Raft { get; private set; }

    public Vote PersistedVote { get; private set; }

    public LogId? PersistedCommitted { get; private set; }

    public List<Entry> Applied { get; } = [];

    /// <summary>The durable snapshot (built here or installed from the leader), if any.</summary>
    public SnapshotMeta? PersistedSnapshot { get; private set; }

    public byte[] PersistedSnapshotData { get; private set; } = [];

    /// <summary>The last entry the state machine holds (applied or installed).</summary>
    public LogId? LastApplied { get; private set; }

    /// <summary>Snapshots installed from a leader, in order.</summary>
    public List<SnapshotMeta> Installed { get; } = [];

    /// <summary>Every <see cref="Ready.TruncationBeforeInstall"/> persisted, in order.</summary>
    public List<LogTruncation> TruncationsBeforeInstall { get; } = [];

    /// <summary>Every purge the node asked for, in order.</summary>
    public List<LogId> Purges { get; } = [];

    /// <summary>Every read outcome handed out, in order.</summary>
    public List<ReadState> ReadStates { get; } = [];

    /// <summary>When true, a Ready's snapshot request is built and reported at once (the state is the last applied id).</summary>
    public bool BuildRequestedSnapshots { get; set; } = true;

    public int SnapshotRequests { get; private set; }

    /// <summary>Builds a snapshot of the state machine (the last applied id and how many entries it holds) and reports it.</summary>
    public bool BuildSnapshot()
    {
        var last = LastApplied ?? throw new InvalidOperationException("Nothing applied to snapshot.");
        var data = new byte[16];
        BitConverter.TryWriteBytes(data.AsSpan(0, 8), last.Index);
        BitConverter.TryWriteBytes(data.AsSpan(8, 8), (ulong)Applied.Count);
        var meta = new SnapshotMeta(last, StoredMembership.Default, $"{Id}-{last}");
        PersistedSnapshot = meta;
        PersistedSnapshotData = data;
        return Raft.SnapshotBuilt(meta, data);
    }

    public static RaftConfig PaperConfig(ulong seed = 1) => new()
    {
        ElectionTicks = 10,
        HeartbeatTicks = 1,
        CheckQuorum = false,
        PreVote = false,
        RandomSeed = seed,
    };

    public static TestNode Create(ulong id, ulong[] voters, RaftConfig? config = null, Entry[]? log = null, Vote vote = default, LogId? committed = null) =>
        new(id, config ?? PaperConfig(), Membership.FromVoters(voters), new InMemoryRaftLog(log ?? []), new RaftNodeState(vote, committed, null));

    /// <summary>A node over an empty log whose configuration in force is <paramref name="membership"/> (joint, or with learners).</summary>
    public static TestNode Create(ulong id, Membership membership, RaftConfig? config = null) =>
        new(id, config ?? PaperConfig(), membership, new InMemoryRaftLog([]), RaftNodeState.Initial);

    /// <summary>Entries (term, leader node) at indexes 0.. in order: the Figure 7 style log notation.</summary>
    public static Entry[] LogOf(params (ulong Term, ulong Node)[] leaders)
    {
        var entries = new Entry[leaders.Length];
        for (int i = 0; i < leaders.Length; i++)
        {
            entries[i] = Entry.Normal(new LogId(leaders[i].Term, leaders[i].Node, (ulong)i), new byte[] { (byte)i, (byte)leaders[i].Term });
        }

        return entries;
    }

    /// <summary>Persists and advances every Ready; returns the messages sent, in order.</summary>
    public List<RaftMessage> Drain()
    {
        var sent = new List<RaftMessage>();
        while (Raft.HasReady)
        {
            var ready = Raft.GetReady();
            sent.AddRange(ready.Messages);
            Persist(ready);
            Raft.Advance(ready);
            if (ready.SnapshotRequested)
            {
                SnapshotRequests++;
                if (BuildRequestedSnapshots)
                {
                    BuildSnapshot();
                }
            }
        }

        return sent;
    }

    public void Persist(Ready ready)
    {
        if (ready.Vote is { } vote)
        {
            PersistedVote = vote;
        }

        if (ready.TruncationBeforeInstall is { } beforeInstall)
        {
            TruncationsBeforeInstall.Add(beforeInstall);
            Log.TruncateFrom(beforeInstall.FromIndex);
        }

        if (ready.SnapshotToInstall is { } install)
        {
            PersistedSnapshot = install;
            PersistedSnapshotData = ready.SnapshotData.ToArray();
            Installed.Add(install);
            LastApplied = install.LastLogId;
        }

        if (ready.HasTruncation)
        {
            Log.TruncateFrom(ready.TruncateFromIndex);
        }

        if (ready.PurgeUpTo is { } purge)
        {
            Log.Purge(purge);
            Purges.Add(purge);
        }

        Log.Append(ready.Entries.Span);
        if (ready.Committed is { } committed)
        {
            PersistedCommitted = committed;
        }

        Applied.AddRange(ready.CommittedEntries.ToArray());
        if (!ready.CommittedEntries.IsEmpty)
        {
            LastApplied = ready.CommittedEntries.Span[^1].LogId;
        }

        ReadStates.AddRange(ready.ReadStates);
    }

    /// <summary>Restarts the node from what was persisted (the unwritten part is lost).</summary>
    public void Restart()
    {
        // The state machine restarts from the durable snapshot, if any.
        LastApplied = PersistedSnapshot?.LastLogId;
        Raft = new RaftNode(Id, Config, Log, Membership, new RaftNodeState(PersistedVote, PersistedCommitted, LastApplied)
        {
            Snapshot = PersistedSnapshot,
            SnapshotData = PersistedSnapshotData,
        });
        Applied.Clear();
    }

    public void Tick(int ticks)
    {
        for (int i = 0; i < ticks; i++)
        {
            Raft.Tick();
        }
    }

    /// <summary>Ticks until the node starts a new election (its term rises); the count is how long its election timeout was.</summary>
    public int TicksUntilCampaign()
    {
        ulong term = Raft.Vote.Term;
        for (int i = 1; i <= 10_000; i++)
        {
            Raft.Tick();
            if (Raft.Vote.Term > term)
            {
                return i;
            }
        }

        throw new InvalidOperationException("The node never campaigned.");
    }
}

/// <summary>Several <see cref="TestNode"/>s with synchronous, lossless delivery (and optional cuts).</summary>
internal sealed class TestCluster
{
    private readonly HashSet<(ulong, ulong)> _cut = [];

    public TestCluster(int size, RaftConfig? config = null, Func<ulong, Entry[]>? logs = null, Vote vote = default)
    {
        var ids = Enumerable.Range(1, size).Select(i => (ulong)i).ToArray();
        Nodes = ids.ToDictionary(id => id, id => TestNode.Create(id, ids, config, logs?.Invoke(id), vote));
    }

    public Dictionary<ulong, TestNode> Nodes { get; }

    public TestNode this[ulong id] => Nodes[id];

    public void Cut(ulong from, ulong to) => _cut.Add((from, to));

    public void Isolate(ulong id)
    {
        foreach (var other in Nodes.Keys)
        {
            if (other != id)
            {
                Cut(id, other);
                Cut(other, id);
            }
        }
    }

    public void Heal() => _cut.Clear();

    /// <summary>Drains every node and delivers every message until the cluster is quiet.</summary>
    public void Stabilize(int maxRounds = 1000) => Stabilize(null, maxRounds);

    /// <summary>Like <see cref="Stabilize(int)"/>, delivering only the messages <paramref name="deliver"/> accepts (all when null).</summary>
    public void Stabilize(Func<RaftMessage, bool>? deliver, int maxRounds = 1000)
    {
        for (int round = 0; round < maxRounds; round++)
        {
            var messages = new List<RaftMessage>();
            foreach (var node in Nodes.Values)
            {
                messages.AddRange(node.Drain());
            }

            if (messages.Count == 0)
            {
                return;
            }

            foreach (var message in messages)
            {
                if (!_cut.Contains((message.From, message.To)) && (deliver is null || deliver(message)))
                {
                    Nodes[message.To].Raft.Step(message);
                }
            }
        }

        throw new InvalidOperationException("The cluster did not become quiet.");
    }

    /// <summary>Ticks every node <paramref name="ticks"/> times, stabilizing after each tick.</summary>
    public void TickAll(int ticks, Func<RaftMessage, bool>? deliver = null)
    {
        for (int i = 0; i < ticks; i++)
        {
            foreach (var node in Nodes.Values)
            {
                node.Raft.Tick();
            }

            Stabilize(deliver);
        }
    }

    /// <summary>Makes <paramref name="id"/> campaign and delivers until quiet.</summary>
    public TestNode Elect(ulong id)
    {
        Nodes[id].Raft.Campaign();
        Stabilize();
        return Nodes[id];
    }
}
