using System.Threading.Channels;
using RaftToolkit.Core.Lifecycle;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Storage;

namespace RaftToolkit.Core.Host;

/// <summary>A proposal accepted by the leader, waiting for its entry to be applied.</summary>
internal readonly record struct PendingProposal<TResponse>(LogId LogId, IResponder<TResponse> Responder);

/// <summary>A confirmed read, waiting for the state machine to apply up to its index.</summary>
internal readonly record struct ConfirmedRead(ulong Index, TaskCompletionSource<ulong> Done);

/// <summary>
/// One group on one host: its Raft node, its log view and store, its state machine, and what
/// waits on it. Touched only by its worker, so it has no lock.
/// </summary>
internal sealed class HostedGroup<TResponse, TSnapshot>
{
    public HostedGroup(ulong groupId, RaftNode node, GroupLogCache cache, IRaftLogStore log, IRaftStateMachine<TResponse, TSnapshot> stateMachine)
    {
        GroupId = groupId;
        Node = node;
        Cache = cache;
        Log = log;
        StateMachine = stateMachine;
    }

    public ulong GroupId { get; }

    public RaftNode Node { get; }

    public GroupLogCache Cache { get; }

    public IRaftLogStore Log { get; }

    public IRaftStateMachine<TResponse, TSnapshot> StateMachine { get; }

    /// <summary>The last purged id as written to the store (what the log view reports).</summary>
    public LogId? LastPurged => Cache.LastPurgedLogId;

    /// <summary>What waits on reads, leadership changes and progress; null while nothing does, which is most groups most of the time.</summary>
    private Waiters? _waiters;

    /// <summary>The group's yes/no states, in one byte: a host keeps one of these objects per replica.</summary>
    private Flags _flags;

    /// <summary>ReadIndex reads handed to the node, by request id; null until the first read (and when emptied by <see cref="ReleaseIdle"/>).</summary>
    public Dictionary<ulong, TaskCompletionSource<ulong>>? Reads
    {
        get => _waiters?.Reads;
        set => WaitersFor(value)?.Reads = value;
    }

    /// <summary>Confirmed reads waiting for apply to reach their index; null until the first one (and when emptied by <see cref="ReleaseIdle"/>).</summary>
    public List<ConfirmedRead>? ConfirmedReads
    {
        get => _waiters?.ConfirmedReads;
        set => WaitersFor(value)?.ConfirmedReads = value;
    }

    /// <summary>Completes after the group's next applied round (see <c>WaitForProgressAsync</c>); null while nobody waits.</summary>
    public TaskCompletionSource? ProgressWaiter
    {
        get => _waiters?.ProgressWaiter;
        set => WaitersFor(value)?.ProgressWaiter = value;
    }

    /// <summary>
    /// Counts the group's applied rounds, so that a caller that looked at the group can tell
    /// whether a round has passed since: see <c>WaitForProgressAsync</c>. It wraps; a wrap that
    /// hides 65,536 rounds costs that caller at most one tick's wait.
    /// </summary>
    public ushort RoundsApplied { get; private set; }

    /// <summary>Ends one of the group's applied rounds: counts it and wakes whoever waits for it.</summary>
    public void CompleteRound()
    {
        RoundsApplied++;
        if (ProgressWaiter is { } waiter)
        {
            ProgressWaiter = null;
            waiter.TrySetResult();
        }
    }

    /// <summary>Position in the worker's group list (for O(1) removal).</summary>
    public int Slot { get; set; }

    /// <summary>True while queued in the worker's active set (dedups the set).</summary>
    public bool Active
    {
        get => (_flags & Flags.Active) != 0;
        set => SetFlag(Flags.Active, value);
    }

    /// <summary>True while in the worker's ticking list (not quiescent, or not yet seen to be).</summary>
    public bool Ticking
    {
        get => (_flags & Flags.Ticking) != 0;
        set => SetFlag(Flags.Ticking, value);
    }

    /// <summary>Set once the group stopped (removed or failed): every later event for it is dropped.</summary>
    public bool Stopped
    {
        get => (_flags & Flags.Stopped) != 0;
        set => SetFlag(Flags.Stopped, value);
    }

    /// <summary>
    /// True while the group's apply outlasts the round that started it (see the worker's
    /// <c>ApplyAllAsync</c>): its <see cref="Ready"/> stays outstanding, so the worker takes nothing
    /// more from it, while still stepping its messages and ticks, until the apply ends.
    /// </summary>
    public bool ApplyParked
    {
        get => (_flags & Flags.ApplyParked) != 0;
        set => SetFlag(Flags.ApplyParked, value);
    }

    /// <summary>The Ready taken this round, until it is advanced.</summary>
    public Ready? Ready { get; set; }

    /// <summary>Proposals in log order; null until this node first leads (and when emptied by <see cref="ReleaseIdle"/>).</summary>
    public Queue<PendingProposal<TResponse>>? Pending { get; set; }

    /// <summary>Leadership streams of this group; null while nobody listens.</summary>
    public List<ChannelWriter<LeadershipState>>? Subscribers
    {
        get => _waiters?.Subscribers;
        set => WaitersFor(value)?.Subscribers = value;
    }

    /// <summary>The role class last published to <see cref="Subscribers"/>.</summary>
    public LeadershipRole PublishedClass
    {
        get => _waiters?.PublishedClass ?? default;
        set => (_waiters ??= new()).PublishedClass = value;
    }

    /// <summary>Position in the worker's watched list while it has subscribers; -1 otherwise.</summary>
    public int WatchSlot
    {
        get => _waiters?.WatchSlot ?? -1;
        set => (_waiters ??= new()).WatchSlot = value;
    }

    /// <summary>
    /// For a group that went quiescent: gives back what only a busy group needs (the log cache's
    /// applied entries, the emptied proposal and read collections); each comes back on first use.
    /// </summary>
    public void ReleaseIdle()
    {
        Cache.Release(Node.Applied.NextIndex());
        if (Pending is { Count: 0 })
        {
            Pending = null;
        }

        if (Reads is { Count: 0 })
        {
            Reads = null;
        }

        if (ConfirmedReads is { Count: 0 })
        {
            ConfirmedReads = null;
        }

        if (_waiters is { Reads: null, ConfirmedReads: null, Subscribers: null, ProgressWaiter: null })
        {
            _waiters = null;
        }
    }

    /// <summary>The waiters to store <paramref name="value"/> in: created for a value, not for a null (which changes nothing when there are none).</summary>
    private Waiters? WaitersFor(object? value) => value is null ? _waiters : _waiters ??= new();

    /// <summary>What only a group with reads or leadership subscribers needs, kept apart so that the others pay one reference for it.</summary>
    private sealed class Waiters
    {
        public Dictionary<ulong, TaskCompletionSource<ulong>>? Reads;
        public List<ConfirmedRead>? ConfirmedReads;
        public List<ChannelWriter<LeadershipState>>? Subscribers;
        public TaskCompletionSource? ProgressWaiter;
        public LeadershipRole PublishedClass;
        public int WatchSlot = -1;
    }

    private void SetFlag(Flags flag, bool value) => _flags = value ? _flags | flag : _flags & ~flag;

    [Flags]
    private enum Flags : byte
    {
        Active = 1,
        Ticking = 2,
        Stopped = 4,
        ApplyParked = 8,
    }
}
