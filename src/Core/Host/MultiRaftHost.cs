using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RaftToolkit.Core.Diagnostics;
using RaftToolkit.Core.Lifecycle;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Storage;
using RaftToolkit.Core.Transport;
using RaftToolkit.Core.Types;

namespace RaftToolkit.Core.Host;

/// <summary>Creates hosts with the type arguments inferred from the type configuration.</summary>
public static class MultiRaftHost
{
    /// <summary>
    /// Creates and starts a host: <c>var host = MultiRaftHost.Create(new KvTypeConfig(), options, store, transport, groupId =&gt; new MyStateMachine())</c>.
    /// Groups are added with <see cref="GroupLifecycle.BootstrapAsync{TNode, TData, TResponse, TSnapshot}"/>.
    /// </summary>
    /// <param name="types">The type configuration.</param>
    /// <param name="options">The host's settings (copied and validated).</param>
    /// <param name="store">Where every group's log lives; the caller keeps ownership and disposes it after the host.</param>
    /// <param name="transport">This node's endpoint; the host binds it and disposes it when it stops.</param>
    /// <param name="stateMachineFactory">Makes the state machine of a group when the group starts on this host.</param>
    /// <exception cref="ArgumentException">An option is invalid, or the transport belongs to another node.</exception>
    public static MultiRaftHost<TNode, TData, TResponse, TSnapshot> Create<TNode, TData, TResponse, TSnapshot>(
        RaftTypeConfig<TNode, TData, TResponse, TSnapshot> types,
        MultiRaftHostOptions options,
        IMultiGroupLogStore store,
        ITransport transport,
        Func<ulong, IRaftStateMachine<TResponse, TSnapshot>> stateMachineFactory)
    {
        var host = new MultiRaftHost<TNode, TData, TResponse, TSnapshot>(types, options, store, transport, stateMachineFactory);
        host.Start();
        return host;
    }
}

/// <summary>
/// Hosts any number of Raft groups of one node, sharded by group id over a few worker loops.
/// Each round of a worker drains its inbox (message batches, proposals, the shared tick), steps
/// the groups that have work, persists every Ready with one
/// <see cref="IMultiGroupLogStore.WriteAsync"/> (one fsync), sends one batch per peer, applies
/// committed entries and advances the groups. A group is only touched by its worker, so no group
/// takes a lock; an idle group is never visited except by the tick.
/// </summary>
/// <typeparam name="TNode">The type configuration's Node.</typeparam>
/// <typeparam name="TData">The type configuration's AppData (a command).</typeparam>
/// <typeparam name="TResponse">The type configuration's AppDataResponse.</typeparam>
/// <typeparam name="TSnapshot">The type configuration's SnapshotData.</typeparam>
public sealed partial class MultiRaftHost<TNode, TData, TResponse, TSnapshot> : IAsyncDisposable
{
    private readonly MultiRaftHostOptions _options;
    private readonly IMultiGroupLogStore _store;
    private readonly ITransport _transport;
    private readonly Func<ulong, IRaftStateMachine<TResponse, TSnapshot>> _stateMachineFactory;
    private readonly Worker[] _workers;
    private readonly ILogger _logger;


    /// <summary>Every group running or starting here; guards against two bootstraps of one group.</summary>
    private readonly ConcurrentDictionary<ulong, byte> _groups = new();

    /// <summary>
    /// One instance per distinct membership. Thousands of groups usually share a few replica
    /// sets, and a decoded membership costs a few hundred bytes: sharing keeps idle groups small.
    /// Bounded by the number of distinct memberships ever started here.
    /// </summary>
    private readonly ConcurrentDictionary<Membership, Membership> _memberships = new();

    /// <summary>The node-id tag every measurement carries, boxed once.</summary>
    private readonly KeyValuePair<string, object?> _nodeTag;

    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Timer? _timer;

    /// <summary>Incremented by the shared timer; a worker ticks its groups once when it sees a new value.</summary>
    private long _tickSequence;

    /// <summary>1 once stopping (disposal or a fatal error).</summary>
    private int _stopping;

    private Exception? _fatal;
    private Task? _workersDone;

    internal MultiRaftHost(
        RaftTypeConfig<TNode, TData, TResponse, TSnapshot> types,
        MultiRaftHostOptions options,
        IMultiGroupLogStore store,
        ITransport transport,
        Func<ulong, IRaftStateMachine<TResponse, TSnapshot>> stateMachineFactory)
    {
        ArgumentNullException.ThrowIfNull(types);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(stateMachineFactory);
        options = options.Clone();
        options.Validate();
        if (transport.LocalNode != options.NodeId)
        {
            throw new ArgumentException($"The transport belongs to node {transport.LocalNode}, but the host is node {options.NodeId}.", nameof(transport));
        }

        Types = types;
        _options = options;
        _store = store;
        _transport = transport;
        _stateMachineFactory = stateMachineFactory;
        _logger = new NeverThrowingLogger((options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger("RaftToolkit.Host"));
        _nodeTag = new KeyValuePair<string, object?>("raftkit.node", options.NodeId);
        RaftConfig = options.EffectiveRaft();
        _workers = new Worker[options.WorkerCount];
        for (int i = 0; i < _workers.Length; i++)
        {
            _workers[i] = new Worker(this);
        }
    }

    /// <summary>This host's node id.</summary>
    public ulong NodeId => _options.NodeId;

    /// <summary>The type configuration.</summary>
    public RaftTypeConfig<TNode, TData, TResponse, TSnapshot> Types { get; }

    /// <summary>Running totals (rounds, writes, batches, proposals, commits).</summary>
    public HostStatistics Statistics { get; } = new();

    /// <summary>How many groups run (or are starting) here.</summary>
    public int GroupCount => _groups.Count;

    /// <summary>Completes when the host stopped; faults with the error that stopped it (a storage failure stops the whole host).</summary>
    public Task Completion => _completion.Task;

    internal MultiRaftHostOptions Options => _options;

    /// <summary>The Raft config every group runs with (each node of a group salts its election timeouts with the group id).</summary>
    internal RaftConfig RaftConfig { get; }

    internal IMultiGroupLogStore Store => _store;

    internal ILogger Logger => _logger;

    internal bool IsStopping => Volatile.Read(ref _stopping) != 0;

    /// <summary>True when <paramref name="groupId"/> runs (or is starting) here.</summary>
    public bool IsHosted(ulong groupId) => _groups.ContainsKey(groupId);

    /// <summary>
    /// Proposes <paramref name="command"/> to <paramref name="groupId"/>. Completes with the state
    /// machine's response once the entry is committed and applied here.
    /// </summary>
    /// <exception cref="NotLeaderException">(from the task) This node does not lead the group; the exception names the leader when known.</exception>
    /// <exception cref="GroupNotHostedException">(from the task) The group does not run here.</exception>
    /// <exception cref="ProposalDroppedException">(from the task) The entry lost its place to another leader's, or the group or host stopped.</exception>
    public Task<TResponse> ProposeAsync(ulong groupId, TData command)
    {
        var payload = Types.EncodeData(command);
        var responder = Types.CreateResponder();
        if (IsStopping)
        {
            responder.Fail(new ProposalDroppedException(groupId, ProposalDropReason.HostStopped, _fatal));
            return responder.Task;
        }

        WorkerOf(groupId).Enqueue(WorkItem.Proposal(groupId, payload, responder));
        return responder.Task;
    }

    /// <summary>
    /// A linearizable read of <paramref name="groupId"/> (ReadIndex, Raft thesis §6.4): completes
    /// with the read index once the group's leader confirmed with a quorum that it still leads and
    /// this node's state machine has applied up to that index. Then read the state machine: it
    /// reflects every write acknowledged before this call. On a follower the read is forwarded
    /// to the leader (the index comes back, the read is served from the local state machine).
    /// </summary>
    /// <param name="groupId">The group to read.</param>
    /// <param name="cancellationToken">Stops waiting (the read itself is not withdrawn).</param>
    /// <returns>The read index: the state machine has applied at least this far.</returns>
    /// <exception cref="NotLeaderException">(from the task) No leader is known here; the exception names the leader when one is.</exception>
    /// <exception cref="ReadIndexException">(from the task) The leadership was lost before a quorum confirmed it, or no answer came within two election timeouts.</exception>
    /// <exception cref="GroupNotHostedException">(from the task) The group does not run here, or stopped before the read was served.</exception>
    public Task<ulong> ReadIndexAsync(ulong groupId, CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource<ulong>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (IsStopping)
        {
            done.SetException(new GroupNotHostedException(groupId, NodeId));
            return done.Task;
        }

        // A struct item, not a control closure: reads may be as frequent as proposals.
        WorkerOf(groupId).Enqueue(WorkItem.ForRead(groupId, done));
        return cancellationToken.CanBeCanceled ? done.Task.WaitAsync(cancellationToken) : done.Task;
    }

    /// <summary>Asks this node to start an election in <paramref name="groupId"/> now (as if its election timer fired).</summary>
    /// <returns>False when it cannot campaign (a learner, or already the leader).</returns>
    /// <exception cref="GroupNotHostedException">The group does not run here.</exception>
    public Task<bool> CampaignAsync(ulong groupId)
    {
        var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        PostControl(groupId, worker => worker.Campaign(groupId, done), done);
        return done.Task;
    }

    /// <summary>
    /// Stops <paramref name="groupId"/> on this host: pending proposals fail, leadership streams
    /// end with Shutdown. With <paramref name="deleteState"/> the group's log is deleted from the
    /// store, and the id stays taken (<see cref="IsHosted"/>, a bootstrap refused as already
    /// hosted) until the deletion is done. <paramref name="cancellationToken"/> is checked before the
    /// group is stopped, and passed to the deletion; stopping, once begun, runs to its end.
    /// </summary>
    /// <exception cref="GroupNotHostedException">The group does not run here.</exception>
    public async Task RemoveGroupAsync(ulong groupId, bool deleteState = false, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        PostControl(groupId, worker => worker.Remove(groupId, done), done);

        // Not cancellable once queued: the worker removes the group whatever the caller's token
        // does, and the id must be freed after it (below), or it stays taken for good.
        await done.Task.ConfigureAwait(false);
        try
        {
            if (deleteState)
            {
                await _store.RemoveGroupAsync(groupId, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            // The id is free only now: a bootstrap of it while the state is being deleted would
            // load the old state, part of which the deletion then takes from under the new group.
            _groups.TryRemove(groupId, out _);
        }

        _logger.LogInformation("Node {NodeId} removed group {GroupId} (state {StateAction}).", NodeId, groupId, deleteState ? "deleted" : "kept");
    }

    /// <summary>
    /// Stops the host: every worker finishes its round and exits, pending proposals fail with
    /// <see cref="ProposalDroppedException"/> (HostStopped), leadership streams end with Shutdown,
    /// and the transport endpoint is disposed. The store is left open for its owner.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        Stop(null);
        if (_workersDone is { } done)
        {
            try
            {
                await done.ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Already recorded as the host's fatal error; disposal itself does not fail.
                _logger.LogDebug(e, "Node {NodeId}: a worker ended with an error during shutdown.", NodeId);
            }
        }

        if (_timer is { } timer)
        {
            await timer.DisposeAsync().ConfigureAwait(false);
        }
    }

    internal void Start()
    {
        _transport.Bind(new Receiver(this));
        var tasks = new Task[_workers.Length];
        for (int i = 0; i < _workers.Length; i++)
        {
            var worker = _workers[i];
            tasks[i] = Task.Factory.StartNew(worker.RunAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        }

        _workersDone = Task.WhenAll(tasks);
        _ = _workersDone.ContinueWith(
            static (t, state) => ((MultiRaftHost<TNode, TData, TResponse, TSnapshot>)state!).OnWorkersDone(),
            this,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        _timer = new Timer(static state => ((MultiRaftHost<TNode, TData, TResponse, TSnapshot>)state!).OnTick(), this, _options.TickInterval, _options.TickInterval);
        _logger.LogInformation("Node {NodeId} host started: {Workers} workers, tick {Tick}.", NodeId, _workers.Length, _options.TickInterval);
    }

    /// <summary>Reserves <paramref name="groupId"/> for a bootstrap; false when it runs or is starting already.</summary>
    internal bool TryReserve(ulong groupId) => _groups.TryAdd(groupId, 0);

    internal void Unreserve(ulong groupId) => _groups.TryRemove(groupId, out _);

    /// <summary>The shared instance equal to <paramref name="membership"/>.</summary>
    internal Membership Intern(Membership membership) => _memberships.GetOrAdd(membership, membership);

    internal IRaftStateMachine<TResponse, TSnapshot> CreateStateMachine(ulong groupId) =>
        _stateMachineFactory(groupId) ?? throw new InvalidOperationException($"The state machine factory returned null for group {groupId}.");

    /// <summary>Hands a started group to its worker; completes once the worker runs it.</summary>
    internal Task AddGroupAsync(HostedGroup<TResponse, TSnapshot> group)
    {
        var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (IsStopping)
        {
            done.SetException(new ObjectDisposedException(GetType().Name, $"Node {NodeId}'s host is stopped."));
            return done.Task;
        }

        WorkerOf(group.GroupId).Enqueue(WorkItem.ForControl(group.GroupId, worker => worker.Add(group, done)));
        return done.Task;
    }

    internal Task SubscribeAsync(ulong groupId, ChannelWriter<LeadershipState> writer)
    {
        var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        PostControl(groupId, worker => worker.Subscribe(groupId, writer, done), done);
        return done.Task;
    }

    /// <summary>How many leadership streams of the group are subscribed on its worker.</summary>
    internal Task<int> CountSubscribersAsync(ulong groupId)
    {
        var done = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        PostControl(groupId, worker => worker.CountSubscribers(groupId, done), done);
        return done.Task;
    }

    internal void Unsubscribe(ulong groupId, ChannelWriter<LeadershipState> writer)
    {
        if (!IsStopping)
        {
            WorkerOf(groupId).Enqueue(WorkItem.ForControl(groupId, worker => worker.Unsubscribe(groupId, writer)));
        }
    }

    internal Task<GroupMetrics> QueryMetricsAsync(ulong groupId)
    {
        var done = new TaskCompletionSource<GroupMetrics>(TaskCreationOptions.RunContinuationsAsynchronously);
        PostControl(groupId, worker => worker.QueryMetrics(groupId, done), done);
        return done.Task;
    }

    private void PostControl<T>(ulong groupId, Action<Worker> action, TaskCompletionSource<T> done)
    {
        if (IsStopping)
        {
            done.TrySetException(new GroupNotHostedException(groupId, NodeId));
            return;
        }

        WorkerOf(groupId).Enqueue(WorkItem.ForControl(groupId, action));
    }

    private Worker WorkerOf(ulong groupId) => _workers[(int)(groupId % (ulong)_workers.Length)];

    private void OnTick()
    {
        long tick = Interlocked.Increment(ref _tickSequence);
        foreach (var worker in _workers)
        {
            worker.Signal();
        }

        CheckPeers(tick);
    }

    /// <summary>Stops every worker; <paramref name="error"/> is the fatal error, if one caused it.</summary>
    private void Stop(Exception? error)
    {
        if (error is not null)
        {
            Interlocked.CompareExchange(ref _fatal, error, null);
        }

        if (Interlocked.Exchange(ref _stopping, 1) != 0)
        {
            return;
        }

        _timer?.Change(Timeout.Infinite, Timeout.Infinite);

        // No batch may reach a stopped host, and a restarted host needs the node id's endpoint.
        _transport.Dispose();
        foreach (var worker in _workers)
        {
            worker.Signal();
        }
    }

    private void OnWorkersDone()
    {
        if (_fatal is { } fatal)
        {
            _completion.TrySetException(fatal);
        }
        else
        {
            _completion.TrySetResult();
        }
    }

    private void OnFatal(Exception error)
    {
        _logger.LogCritical(error, "Node {NodeId} host stopped on a fatal error; every group here is stopped.", NodeId);
        Stop(error);
    }

    private sealed class Receiver(MultiRaftHost<TNode, TData, TResponse, TSnapshot> host) : IMessageReceiver
    {
        public void Receive(ulong fromNode, List<GroupMessage> batch)
        {
            if (host.IsStopping)
            {
                return;
            }

            // An empty batch is a ping (workers never send one): the only sign of life the
            // detector counts. Any other batch only makes the sender known.
            bool ping = batch.Count == 0;
            host.HeardFrom(fromNode, ping);
            if (ping)
            {
                return;
            }

            var workers = host._workers;
            ulong count = (ulong)workers.Length;
            int first = (int)(batch[0].GroupId % count);
            bool oneWorker = true;
            foreach (var message in batch)
            {
                oneWorker &= (int)(message.GroupId % count) == first;
            }

            if (oneWorker)
            {
                // One worker's groups only (always so with one worker, and often with few busy
                // groups): the batch goes as it came, with no split lists.
                workers[first].Enqueue(WorkItem.ForMessages(batch));
                return;
            }

            // Split by worker: each worker steps only its own groups.
            var parts = new List<GroupMessage>?[workers.Length];
            foreach (var message in batch)
            {
                int w = (int)(message.GroupId % count);
                (parts[w] ??= new List<GroupMessage>(batch.Count / workers.Length + 4)).Add(message);
            }

            for (int w = 0; w < parts.Length; w++)
            {
                if (parts[w] is { } part)
                {
                    workers[w].Enqueue(WorkItem.ForMessages(part));
                }
            }
        }
    }

    /// <summary>One item of a worker's inbox. A struct so a proposal costs no extra object.</summary>
    private readonly struct WorkItem
    {
        private WorkItem(ulong groupId, ReadOnlyMemory<byte> payload, IResponder<TResponse>? responder, List<GroupMessage>? messages, Action<Worker>? control, TaskCompletionSource<ulong>? read = null)
        {
            GroupId = groupId;
            Payload = payload;
            Responder = responder;
            Messages = messages;
            Control = control;
            Read = read;
        }

        public ulong GroupId { get; }

        public ReadOnlyMemory<byte> Payload { get; }

        public IResponder<TResponse>? Responder { get; }

        public List<GroupMessage>? Messages { get; }

        public Action<Worker>? Control { get; }

        /// <summary>A ReadIndex read's completion.</summary>
        public TaskCompletionSource<ulong>? Read { get; }

        public static WorkItem Proposal(ulong groupId, ReadOnlyMemory<byte> payload, IResponder<TResponse> responder) => new(groupId, payload, responder, null, null);

        public static WorkItem ForMessages(List<GroupMessage> messages) => new(0, default, null, messages, null);

        public static WorkItem ForControl(ulong groupId, Action<Worker> control) => new(groupId, default, null, null, control);

        public static WorkItem ForRead(ulong groupId, TaskCompletionSource<ulong> done) => new(groupId, default, null, null, null, done);
    }
}
