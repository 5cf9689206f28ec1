using Microsoft.Extensions.Logging;
using RaftToolkit.Core.Host;
using RaftToolkit.Core.Lifecycle;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Raft.Log;
using RaftToolkit.Core.Raft.Messages;
using RaftToolkit.Core.Storage;
using RaftToolkit.Core.Transport;
using RaftToolkit.Native.Keys;
using RaftToolkit.Native.Tests.Conformance;
using RaftToolkit.Native.Tests.Records;
using RaftToolkit.Testing.Diagnostics;
using RaftToolkit.Testing.Storage.Conformance;

namespace RaftToolkit.Native.Tests.Readme;

/// <summary>
/// The README's C# examples as compiled code, each between <c>#region readme-…</c> markers
/// (<see cref="ReadmeCodeBlockTests"/> keeps them equal to the README's blocks), with what they
/// need around them, and run where that is cheap. The type configuration is in ReadmeTypes.cs.
/// </summary>
public sealed class ReadmeExamplesTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task TheConformanceSuiteExampleRunsTheSuiteAgainstTheStoreItsFactoryOpens()
    {
        // One case, one that closes and reopens the store: every case runs against the RocksDB
        // store already (Conformance/), so this only shows that the example's class is a working suite.
        await new ConformanceExample.MyStoreConformanceTests().ReopenKeepsEverything();
    }

    [Fact]
    public void TheRaftCoreExampleSendsAGrantedVoteOnlyInTheReadyAfterTheAdvance()
    {
        // Node 1 of a two-voter group hears node 2 campaign and grants the vote; "persist before
        // you speak": the response waits for the Advance of the Ready that carried the vote, and
        // goes out in the next one.
        var (node, result) = RaftCoreExample(
            id: 1,
            config: new RaftConfig(),
            logSource: new InMemoryRaftLog(),
            membership: Membership.FromVoters(1, 2),
            state: RaftNodeState.Initial,
            message: new VoteRequest(From: 2, To: 1, Vote: new Vote(1, 2), LastLogId: null),
            bytes: [1, 2, 3],
            requestId: 1);

        Assert.Equal(ProposeStatus.NotLeader, result.Status);
        Assert.Equal(new Vote(1, 2), node.Vote);
        Assert.True(node.HasReady, "the Advance should have released the vote response for the next Ready");
        var response = Assert.Single(node.GetReady().Messages.OfType<VoteResponse>());
        Assert.True(response.Granted);
        Assert.Equal(2UL, response.To);
    }

    /// <summary>
    /// The README's host calls up to the read, on a one-voter group on RocksDB, with the README's
    /// types and a state machine like the one it names: the calls of <see cref="HostingExample"/>
    /// with what running them needs (a temp directory, one voter, waiting for leadership before
    /// proposing).
    /// </summary>
    [Fact]
    public async Task TheHostingCallsBootstrapProposeAndReadAOneVoterGroupOnRocksDb()
    {
        using var directory = new TempDirectory("raftkit-readme");
        const ulong groupId = 1;
        var machines = new Dictionary<ulong, MyStateMachine>();
        var store = RocksDbLogStore.Open(directory.Sub("raft"));
        await using (store)
        {
            var options = new MultiRaftHostOptions { NodeId = 1, WorkerCount = 1, TickInterval = TimeSpan.FromMilliseconds(10) };
            var host = MultiRaftHost.Create(new KvTypes(), options, store, new InMemoryNetwork().CreateTransport(1), id => machines[id] = new MyStateMachine());
            await using (host)
            {
                await host.BootstrapAsync(groupId, BootstrapMode.Fresh(1));
                await WaitForLeadershipAsync(host, groupId);

                var first = await host.ProposeAsync(groupId, new Put("k", "v")).WaitAsync(Patience);
                var second = await host.ProposeAsync(groupId, new Put("k", "w")).WaitAsync(Patience);
                var metrics = await host.GetMetricsAsync(groupId).WaitAsync(Patience);
                ulong readIndex = await host.ReadIndexAsync(groupId).WaitAsync(Patience);

                Assert.Equal(new PutResult(null), first);
                Assert.Equal(new PutResult("v"), second);
                Assert.Equal(RaftRole.Leader, metrics.Role);
                Assert.True(readIndex >= 2, $"the read index {readIndex} should cover both puts (entries 1 and 2 after the membership entry)");
                Assert.Equal("w", machines[groupId].Get("k"));
            }
        }
    }

    /// <summary>The README's verification, on a store whose group 7 lost an entry: it logs the counts, then the hole.</summary>
    [Fact]
    public async Task TheVerificationExampleLogsTheCountsAndEachProblem()
    {
        using var directory = new TempDirectory("raftkit-readme");
        await using var store = RocksDbLogStore.Open(directory.Sub("raft"));
        await store.ForGroup(7).AppendAsync(TestEntries.Range(1, 0, 3), IgnoringCallback.Instance);
        StoreDamage.DeleteLogKey(store, LogKeySpace.GroupPrefixed, 7, 1);
        using var logs = new CapturingLoggerFactory();

        await VerificationExample(store, logs.CreateLogger("verify"));

        Assert.Equal(
            ["Information: 1 groups and 2 entries checked: 1 problems", "Error: Group 7: the log has a hole: entry 1 is missing (index 2 follows 0)."],
            logs.Lines);
    }

    private static async Task VerificationExample(RocksDbLogStore store, ILogger logger)
    {
        #region readme-verify
        var report = await store.VerifyAsync();   // or VerifyAsync(new VerificationLimits { MaxProblemsPerGroup = 100 })
        logger.LogInformation("{Groups} groups and {Entries} entries checked: {Problems} problems",
                              report.GroupsChecked, report.EntriesChecked, report.ProblemCount);
        foreach (var problem in report.Problems)  // e.g. "Group 7: the log has a hole: entry 1 is missing (index 2 follows 0)."
        {
            logger.LogError("{Problem}", problem.Description);
        }
        #endregion
    }

    /// <summary>Reads the group's leadership stream (the state in force first) until this node leads.</summary>
    private static async Task WaitForLeadershipAsync(MultiRaftHost<Node, Put, PutResult, KvSnapshot> host, ulong groupId)
    {
        using var timeout = new CancellationTokenSource(Patience);
        var seen = new List<LeadershipState>();
        try
        {
            await foreach (var state in host.LeadershipEvents(groupId, timeout.Token))
            {
                seen.Add(state);
                if (state.Role == LeadershipRole.Leader)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
        }

        Assert.Fail($"Group {groupId} did not elect its only voter within {Patience}; its leadership went [{string.Join(", ", seen)}].");
    }

    /// <summary>Runs the README's fragment once, as written, and returns what it made.</summary>
    private static (RaftNode Node, ProposeResult Result) RaftCoreExample(
        ulong id, RaftConfig config, IRaftLogSource logSource, Membership membership, RaftNodeState state, RaftMessage message, byte[] bytes, ulong requestId)
    {
        #region readme-raft-core
        var node = new RaftNode(id, config, logSource, membership, state);
        node.Tick();                        // the host's shared timer, one call per tick
        node.Step(message);                 // an inbound RaftMessage
        var result = node.Propose(bytes);   // Accepted (with its LogId) or NotLeader (with a hint)
        node.ReadIndex(requestId);          // a linearizable read barrier
        if (node.HasReady)
        {
            var ready = node.GetReady();    // vote, truncation before install, snapshot to install, truncation, purge, entries,
                                            // committed, messages, committed entries, read states
            /* persist (one fsync for many groups), send, apply */
            node.Advance(ready);            // the writes are durable: responses that waited go out next
        }
        #endregion

        return (node, result);
    }

    /// <summary>
    /// The README's host calls, compiled against the API and never run here: they open a system
    /// directory and bootstrap a group whose other voters (2 and 3) and learner-to-be (4) run
    /// on other hosts. <see cref="TheHostingCallsBootstrapProposeAndReadAOneVoterGroupOnRocksDb"/>
    /// runs the calls up to the read on one host; the membership calls are only compiled here
    /// (the host tests of Core.Tests run them on in-process clusters).
    /// </summary>
    private static async Task HostingExample(ITransport transport, ulong groupId)
    {
        #region readme-hosting
        var store = RocksDbLogStore.Open("/var/lib/myservice/raft");               // GroupPrefixed by default
        var host = MultiRaftHost.Create(new KvTypes(), new MultiRaftHostOptions { NodeId = 1 },
                                        store, transport, groupId => new MyStateMachine());
        await host.BootstrapAsync(groupId, BootstrapMode.Fresh(1, 2, 3));          // likewise on hosts 2 and 3; or Reopen / Join
        await foreach (var state in host.LeadershipEvents(groupId))                // Leader{term}, Follower{term, leader?}, ...
        {
            if (state.Role == LeadershipRole.Leader || state.LeaderHint is not null) break;   // a leader is elected
        }

        var previous = await host.ProposeAsync(groupId, new Put("k", "v"));        // on a follower: NotLeaderException names the leader
        var metrics = await host.GetMetricsAsync(groupId);                         // role, term, leader, log positions
        ulong readIndex = await host.ReadIndexAsync(groupId);                      // linearizable read barrier, then read the state machine
        await host.AddLearnerAsync(groupId, 4, new Node("10.0.0.4:7000"), blocking: true);  // waits until it caught up
        await host.ChangeMembershipAsync(groupId, [1, 2, 4], retain: true);       // joint consensus; 3 stays as a learner
        await host.TransferLeadershipAsync(groupId, 2);
        #endregion
    }
}

/// <summary>Holds the conformance example out of test discovery (xunit runs public classes only); the test above runs one of its cases.</summary>
internal static class ConformanceExample
{
    #region readme-conformance-suite
    public sealed class MyStoreConformanceTests : StorageConformanceSuite
    {
        protected override IConformanceStoreFactory CreateFactory() => new MyStoreFactory();
    }
    #endregion

    /// <summary>"Your own store" of the example: here the RocksDB one, in a directory of its own per case.</summary>
    private sealed class MyStoreFactory() : GroupPrefixedStoreFactory("raftkit-readme-conformance");
}

/// <summary>The state machine the hosting example creates per group: the applied puts in a map.</summary>
internal sealed class MyStateMachine : IRaftStateMachine<PutResult, KvSnapshot>
{
    private readonly Lock _sync = new();
    private readonly Dictionary<string, string> _data = new(StringComparer.Ordinal);
    private LogId? _lastApplied;
    private StoredMembership _membership = StoredMembership.Default;
    private Snapshot<KvSnapshot>? _current;

    /// <summary>The applied value of <paramref name="key"/>, if any.</summary>
    public string? Get(string key)
    {
        lock (_sync)
        {
            return _data.GetValueOrDefault(key);
        }
    }

    public ValueTask<AppliedState> GetAppliedStateAsync(CancellationToken cancellationToken = default)
    {
        lock (_sync)
        {
            return ValueTask.FromResult(new AppliedState(_lastApplied, _membership));
        }
    }

    public ValueTask ApplyAsync(ReadOnlyMemory<ApplyItem<PutResult>> items, CancellationToken cancellationToken = default)
    {
        var types = new KvTypes();
        var answers = new List<(IResponder<PutResult> Responder, PutResult Result)>();
        lock (_sync)
        {
            foreach (var item in items.Span)
            {
                var entry = item.Entry;
                var result = default(PutResult);
                if (entry.Kind == EntryKind.Normal)
                {
                    var put = types.DecodeData(entry.Data.Span);
                    result = new PutResult(_data.GetValueOrDefault(put.Key));
                    _data[put.Key] = put.Value;
                }
                else if (entry.Kind == EntryKind.Membership)
                {
                    _membership = new StoredMembership(entry.LogId, entry.Membership!);
                }

                _lastApplied = entry.LogId;
                if (item.Responder is { } responder)
                {
                    answers.Add((responder, result));
                }
            }
        }

        // Outside the lock: a responder runs the proposer's continuation.
        foreach (var (responder, result) in answers)
        {
            responder.Complete(result);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<Snapshot<KvSnapshot>?> BuildSnapshotAsync(bool force, CancellationToken cancellationToken = default)
    {
        lock (_sync)
        {
            var meta = new SnapshotMeta(_lastApplied, _membership, $"{_lastApplied}");
            _current = new Snapshot<KvSnapshot>(meta, new KvSnapshot(new Dictionary<string, string>(_data, StringComparer.Ordinal)));
            return ValueTask.FromResult<Snapshot<KvSnapshot>?>(_current);
        }
    }

    public ValueTask<KvSnapshot> BeginReceivingSnapshotAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(new KvSnapshot(new Dictionary<string, string>()));

    public ValueTask InstallSnapshotAsync(SnapshotMeta meta, KvSnapshot snapshot, CancellationToken cancellationToken = default)
    {
        lock (_sync)
        {
            _data.Clear();
            foreach (var (key, value) in snapshot.Data)
            {
                _data[key] = value;
            }

            _lastApplied = meta.LastLogId;
            _membership = meta.LastMembership;
            _current = new Snapshot<KvSnapshot>(meta, snapshot);
            return ValueTask.CompletedTask;
        }
    }

    public ValueTask<Snapshot<KvSnapshot>?> GetCurrentSnapshotAsync(CancellationToken cancellationToken = default)
    {
        lock (_sync)
        {
            return ValueTask.FromResult(_current);
        }
    }
}
