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
        }

        return sent;
    }

    public void Persist(Ready ready)
    {
        if (ready.Vote is { } vote)
        {
            PersistedVote = vote;
        }

        if (ready.HasTruncation)
        {
            Log.TruncateFrom(ready.TruncateFromIndex);
        }

        Log.Append(ready.Entries.Span);
        if (ready.Committed is { } committed)
        {
            PersistedCommitted = committed;
        }

        Applied.AddRange(ready.CommittedEntries.ToArray());
    }

    /// <summary>Restarts the node from what was persisted (the unwritten part is lost).</summary>
    public void Restart()
    {
        Raft = new RaftNode(Id, Config, Log, Membership, new RaftNodeState(PersistedVote, PersistedCommitted, null));
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
    public void Stabilize(int maxRounds = 1000)
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
                if (!_cut.Contains((message.From, message.To)))
                {
                    Nodes[message.To].Raft.Step(message);
                }
            }
        }

        throw new InvalidOperationException("The cluster did not become quiet.");
    }

    /// <summary>Makes <paramref name="id"/> campaign and delivers until quiet.</summary>
    public TestNode Elect(ulong id)
    {
        Nodes[id].Raft.Campaign();
        Stabilize();
        return Nodes[id];
    }
}
