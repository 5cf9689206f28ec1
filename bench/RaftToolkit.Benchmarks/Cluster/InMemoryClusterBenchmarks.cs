using BenchmarkDotNet.Attributes;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Raft.Log;
using RaftToolkit.Core.Raft.Messages;

namespace RaftToolkit.Benchmarks.Cluster;

/// <summary>
/// A 3-node group in one thread over an in-memory network: 128-byte proposals kept 256 in
/// flight, each Ready persisted into a bounded cache of recent entries and advanced at once.
/// One operation is one committed entry, so "Mean" is the time per commit and "Allocated"
/// the bytes allocated per commit; both must stay constant as the log grows (the cache keeps
/// the working set bounded, so iterations never slow down with log length).
/// </summary>
[Config(typeof(BenchConfig))]
[BenchmarkCategory("gate")]
public class InMemoryClusterBenchmarks
{
    private const int CommitsPerInvoke = 16_384;
    private const int InFlight = 256;
    private static readonly ulong[] Voters = [1, 2, 3];

    private readonly ReadOnlyMemory<byte> _payload = new byte[128];
    private RaftNode[] _nodes = [];
    private RecentEntryCache[] _logs = [];
    private List<RaftMessage>[] _inboxes = [];
    private RaftNode _leader = null!;

    /// <summary>Entries committed before measuring: cost per commit must not depend on log length.</summary>
    [Params(0, 1_000_000)]
    public int PrefilledEntries { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var config = new RaftConfig { MaxInflightAppends = 64, MaxEntriesPerAppend = 256, RandomSeed = 7 };
        var membership = Membership.FromVoters(Voters);
        _logs = new RecentEntryCache[Voters.Length];
        _nodes = new RaftNode[Voters.Length];
        _inboxes = new List<RaftMessage>[Voters.Length];
        for (int i = 0; i < Voters.Length; i++)
        {
            _logs[i] = new RecentEntryCache(8192);
            _nodes[i] = new RaftNode(Voters[i], config, _logs[i], membership, RaftNodeState.Initial);
            _inboxes[i] = new List<RaftMessage>(1024);
        }

        _nodes[0].Campaign();
        for (int round = 0; round < 100 && _nodes[0].Role != RaftRole.Leader; round++)
        {
            Pump();
        }

        if (_nodes[0].Role != RaftRole.Leader)
        {
            throw new InvalidOperationException("Node 1 did not become leader.");
        }

        _leader = _nodes[0];
        CommitProposals(1024 + PrefilledEntries);
    }

    /// <summary>Commits <see cref="CommitsPerInvoke"/> proposals with 256 in flight.</summary>
    [Benchmark(OperationsPerInvoke = CommitsPerInvoke)]
    public ulong Commit() => CommitProposals(CommitsPerInvoke);

    private ulong CommitProposals(int count)
    {
        // Counted in "next index" form (0 = nothing) so that an empty commit needs no special case.
        ulong target = _leader.LastLogId.NextIndex() + (ulong)count;
        ulong proposedNext = _leader.LastLogId.NextIndex();
        while (_leader.Committed.NextIndex() < target)
        {
            ulong committedNext = _leader.Committed.NextIndex();
            while (proposedNext < target && proposedNext - committedNext < InFlight)
            {
                proposedNext = _leader.Propose(_payload).LogId.Index + 1;
            }

            Pump();
        }

        return _leader.Committed.NextIndex();
    }

    /// <summary>One host round for every node: deliver, collect the Ready, send, persist, advance.</summary>
    private void Pump()
    {
        for (int i = 0; i < _nodes.Length; i++)
        {
            var node = _nodes[i];
            var inbox = _inboxes[i];
            for (int m = 0; m < inbox.Count; m++)
            {
                node.Step(inbox[m]);
            }

            inbox.Clear();
            if (!node.HasReady)
            {
                continue;
            }

            var ready = node.GetReady();
            var messages = ready.Messages;
            for (int m = 0; m < messages.Count; m++)
            {
                var message = messages[m];
                _inboxes[message.To - 1].Add(message);
            }

            var log = _logs[i];
            if (ready.HasTruncation)
            {
                log.TruncateFrom(ready.TruncateFromIndex);
            }

            log.Append(ready.Entries.Span);
            node.Advance(ready);
        }
    }
}
