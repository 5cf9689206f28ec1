using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using RaftToolkit.Benchmarks.Store;
using RaftToolkit.Core.Host;
using RaftToolkit.Core.Lifecycle;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Transport;
using RaftToolkit.Native;
using RaftToolkit.Native.Keys;
using RaftToolkit.Testing.KeyValue;
using RaftToolkit.Testing.Storage;

namespace RaftToolkit.Benchmarks.Cluster;

/// <summary>
/// Three MultiRaftHosts in one process over the in-memory transport, each on its own RocksDB
/// store (GroupPrefixed, fsync on), G busy groups, 128-byte proposals. One operation is one
/// acknowledged commit, so 1e9 / Mean(ns) is commits/s. Compare with
/// <see cref="HostRawRocksDbBenchmarks"/> (run both with <c>--filter *Host*</c>): the target at
/// G = 10,000 is commits/s &gt;= 0.5 x (raw 64-entry synced batch entries/s / 3).
/// </summary>
[Config(typeof(BenchConfig))]
public class HostBenchmarks
{
    private const int Nodes = 3;
    private const int ValueBytes = 128;

    private StoreBenchEnvironment? _env;
    private RocksDbLogStore[] _stores = [];
    private MultiRaftHost<KvNode, KvCommand, KvResponse, KvSnapshot>[] _hosts = [];
    private int[] _leaderOf = [];
    private KvCommand _command;
    private int _inflightPerGroup;
    private int _proposalsPerGroup;
    private long _syncedWritesAtStart;
    private long _entriesAtStart;
    private readonly Stopwatch _measured = new();

    [Params(1, 100, 10_000)]
    public int Groups { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // Enough proposals in flight to keep every worker busy, spread over the groups.
        _inflightPerGroup = Math.Max(1, 256 / Groups);
        // Groups x proposals per group = 20,000 = OperationsPerInvoke for every G in Params.
        _proposalsPerGroup = Math.Max(2, 20_000 / Groups);
        _command = KvCommand.Set("key", new string('v', ValueBytes));
        _env = new StoreBenchEnvironment();
        var network = new InMemoryNetwork();
        _stores = new RocksDbLogStore[Nodes];
        _hosts = new MultiRaftHost<KvNode, KvCommand, KvResponse, KvSnapshot>[Nodes];
        for (int i = 0; i < Nodes; i++)
        {
            ulong id = (ulong)(i + 1);
            _stores[i] = RocksDbLogStore.Open(_env.Path($"node{id}"), new RocksDbLogStoreOptions { KeySpace = LogKeySpace.GroupPrefixed });
            var options = new MultiRaftHostOptions
            {
                NodeId = id,
                TickInterval = TimeSpan.FromMilliseconds(100),
                Raft = new RaftConfig { ElectionTicks = 20, HeartbeatTicks = 5 },
            };
            _hosts[i] = MultiRaftHost.Create(new KvTypeConfig(), options, _stores[i], network.CreateTransport(id), _ => new InMemoryStateMachine());
        }

        var bootstraps = new List<Task>();
        for (ulong g = 0; g < (ulong)Groups; g++)
        {
            foreach (var host in _hosts)
            {
                bootstraps.Add(host.BootstrapAsync(g, BootstrapMode.Fresh(1, 2, 3)));
            }
        }

        Task.WaitAll(bootstraps);

        // Spread leadership evenly so every host does a third of the leading.
        var campaigns = new Task[Groups];
        for (int g = 0; g < Groups; g++)
        {
            campaigns[g] = _hosts[g % Nodes].CampaignAsync((ulong)g);
        }

        Task.WaitAll(campaigns);
        _leaderOf = new int[Groups];
        for (int g = 0; g < Groups; g++)
        {
            _leaderOf[g] = g % Nodes;
        }

        // One commit per group elects and settles every leader before measuring.
        Task.WaitAll(Enumerable.Range(0, Groups).Select(g => ProposeAsync(g, 1)).ToArray());
        _syncedWritesAtStart = SyncedWrites.Current;
        _entriesAtStart = _hosts.Sum(h => h.Statistics.EntriesWritten);
        _measured.Reset();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        double seconds = _measured.Elapsed.TotalSeconds;
        long synced = SyncedWrites.Current - _syncedWritesAtStart;
        long entries = _hosts.Sum(h => h.Statistics.EntriesWritten) - _entriesAtStart;
        if (seconds > 0)
        {
            Console.WriteLine($"// HostBenchmarks G={Groups}: synced writes/s = {synced / seconds:N0} (3 stores), replicated entries per synced write = {(synced == 0 ? 0 : (double)entries / synced):F1}");
        }

        foreach (var host in _hosts)
        {
            host.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        foreach (var store in _stores)
        {
            store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        _env?.Dispose();
    }

    [Benchmark(OperationsPerInvoke = 20_000)]
    public async Task Commit128ByteProposals()
    {
        _measured.Start();
        var loops = new Task[Groups];
        for (int g = 0; g < Groups; g++)
        {
            loops[g] = ProposeAsync(g, _proposalsPerGroup);
        }

        await Task.WhenAll(loops);
        _measured.Stop();
    }

    /// <summary>Commits <paramref name="count"/> proposals to group <paramref name="group"/>, with a small window in flight.</summary>
    private async Task ProposeAsync(int group, int count)
    {
        int window = Math.Min(_inflightPerGroup, count);
        var inflight = new Task[window];
        int sent = 0;
        for (int w = 0; w < window; w++)
        {
            inflight[w] = ProposeOneAsync(group);
            sent++;
        }

        while (true)
        {
            var done = await Task.WhenAny(inflight);
            int slot = Array.IndexOf(inflight, done);
            if (sent == count)
            {
                await Task.WhenAll(inflight);
                return;
            }

            inflight[slot] = ProposeOneAsync(group);
            sent++;
        }
    }

    private async Task ProposeOneAsync(int group)
    {
        while (true)
        {
            try
            {
                await _hosts[_leaderOf[group]].ProposeAsync((ulong)group, _command);
                return;
            }
            catch (NotLeaderException e)
            {
                _leaderOf[group] = e.LeaderHint is { } leader ? (int)leader - 1 : (_leaderOf[group] + 1) % Nodes;
                await Task.Delay(e.LeaderHint is null ? 20 : 0);
            }
            catch (ProposalDroppedException)
            {
                await Task.Delay(5);
            }
        }
    }
}

/// <summary>
/// The reference for <see cref="HostBenchmarks"/>: raw RocksDB through the binding, batches of
/// 64 128-byte entries over 16-byte group-prefixed keys, one synced write per batch. One
/// operation is one entry, so 1e9 / Mean(ns) is entries/s.
/// </summary>
[Config(typeof(BenchConfig))]
public class HostRawRocksDbBenchmarks
{
    private const int BatchEntries = 64;
    private const int Batches = 32;
    private StoreBenchEnvironment? _env;
    private RawRocksDbWriter? _writer;
    private int _group;

    [GlobalSetup]
    public void Setup()
    {
        _env = new StoreBenchEnvironment();
        var db = RocksDbLogStore.OpenDatabase(_env.Path("raw"), new RocksDbLogStoreOptions { KeySpace = LogKeySpace.GroupPrefixed });
        _writer = new RawRocksDbWriter(db, groups: 10_000, valueBytes: 128);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _writer?.Dispose();
        _env?.Dispose();
    }

    [Benchmark(OperationsPerInvoke = BatchEntries * Batches)]
    public void RawSynced64EntryBatches()
    {
        for (int b = 0; b < Batches; b++)
        {
            _writer!.WriteBatch(_group, BatchEntries);
            _group = (_group + BatchEntries) % 10_000;
        }
    }
}
