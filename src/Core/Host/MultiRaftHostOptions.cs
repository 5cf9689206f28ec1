using Microsoft.Extensions.Logging;
using RaftToolkit.Core.Raft;

namespace RaftToolkit.Core.Host;

/// <summary>The settings of one <see cref="MultiRaftHost{TNode, TData, TResponse, TSnapshot}"/>.</summary>
public sealed class MultiRaftHostOptions
{
    /// <summary>This host's node id in every group it hosts. Must be at least 1: 0 is the "nobody" of the initial vote.</summary>
    public ulong NodeId { get; set; }

    /// <summary>How many worker loops share the groups (by group id). Default: the processor count.</summary>
    public int WorkerCount { get; set; } = Environment.ProcessorCount;

    /// <summary>The period of the one shared timer that ticks every group (<see cref="RaftConfig"/> counts time in ticks).</summary>
    public TimeSpan TickInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The Raft tunables, shared by every group of the host.</summary>
    public RaftConfig Raft { get; set; } = new();

    /// <summary>Applied entries each group keeps in memory for followers that are slightly behind; older ones are read from the store on demand.</summary>
    public int RetainedAppliedEntries { get; set; } = 16;

    /// <summary>At most this many entries are loaded from the store at once for a follower that is far behind.</summary>
    public int BackfillEntries { get; set; } = 4096;

    /// <summary>
    /// Snapshot policy: build a snapshot of a group's state machine once this many entries were
    /// applied since its last one, then purge the log behind it. Null keeps
    /// <see cref="RaftConfig.SnapshotAfterEntries"/> of <see cref="Raft"/>; 0 never snapshots on size.
    /// </summary>
    /// <remarks>
    /// Once a log is purged, the purged entries live only in the state machine's snapshot: the
    /// state machine must keep its current snapshot durably (returned by
    /// <c>GetCurrentSnapshotAsync</c> after a restart), or the group cannot be reopened.
    /// </remarks>
    public int? SnapshotAfterEntries { get; set; }

    /// <summary>
    /// Entries kept in the log behind a snapshot when it is purged, so a follower lagging by fewer
    /// catches up from the log rather than by snapshot. Null keeps <see cref="RaftConfig.PurgeKeepEntries"/> of <see cref="Raft"/>.
    /// </summary>
    public int? PurgeKeepEntries { get; set; }

    /// <summary>At most this many bytes of a snapshot travel in one message. Null keeps <see cref="RaftConfig.SnapshotChunkBytes"/> of <see cref="Raft"/>.</summary>
    public int? SnapshotChunkBytes { get; set; }

    /// <summary>
    /// With quiescence on (<see cref="RaftConfig.QuiesceAfterTicks"/> &gt; 0), the host's own failure
    /// detector: every tick it pings each peer host it has heard from or sent messages to (one empty
    /// batch per peer, not per group), and when a peer has been silent for this many ticks it wakes the quiescent
    /// groups it shares with that peer (<see cref="MultiRaftHost{TNode, TData, TResponse, TSnapshot}.WakeGroups"/>),
    /// so a quiescent follower still elects a new leader when its leader's host dies. Null: the
    /// election timeout, <see cref="RaftConfig.ElectionTicks"/>. 0 turns the detector off, for
    /// applications that run their own and call <c>WakeGroups</c> themselves. Otherwise at least
    /// 2: a ping lands between two ticks, so a live peer is always a tick behind.
    /// </summary>
    /// <remarks>
    /// A host pings only while its workers make progress. Once a worker has been in one round for
    /// this many ticks (a store write that never returns, as on a hung disk, or a state machine
    /// that blocks the worker's thread in apply; one that awaits is parked after a tick and holds
    /// only its own group), the host stops pinging and logs a warning: its peers find it silent
    /// this many ticks later and wake the quiescent groups it shares with them, whose followers
    /// elect new leaders instead of waiting on the stuck one. Messages are handled as before: once
    /// the round ends, its stale leaders step down on the new leaders' higher term, and it pings
    /// again (and says so in the log) from the next tick. A worker waiting for work is not in a
    /// round: an idle host keeps pinging. Only pings show a peer that a host is alive (its other
    /// messages only make it known, so that the peer pings it too), so a stuck worker shows even
    /// while the host's other workers still exchange messages with the peer. The peer then wakes
    /// every quiescent group it shares with the host, those of its healthy workers too: while it
    /// withholds its pings the host keeps the groups it leads awake, so their leaders heartbeat and
    /// keep their followers (the cost of running without quiescence, for that long); they quiesce
    /// again once it pings again. A transport must deliver the pings, empty batches, as they are.
    /// </remarks>
    public int? PeerSilenceTicks { get; set; }

    /// <summary>Where the host logs (group start, stop and failures; nothing per entry). Default: no logging.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>Checks every value; throws <see cref="ArgumentException"/> naming the first bad one.</summary>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        if (NodeId == 0)
        {
            throw new ArgumentException("NodeId must be at least 1; 0 means \"no node\" in votes and leader hints.", nameof(NodeId));
        }

        if (WorkerCount is < 1 or > 1024)
        {
            throw new ArgumentException($"WorkerCount must be between 1 and 1024, got {WorkerCount}.", nameof(WorkerCount));
        }

        if (TickInterval < TimeSpan.FromMilliseconds(1) || TickInterval > TimeSpan.FromHours(1))
        {
            throw new ArgumentException($"TickInterval must be between 1 ms and 1 hour, got {TickInterval}.", nameof(TickInterval));
        }

        if (Raft is null)
        {
            throw new ArgumentException("Raft must be set.", nameof(Raft));
        }

        if (SnapshotAfterEntries is < 0)
        {
            throw new ArgumentException($"SnapshotAfterEntries must not be negative, got {SnapshotAfterEntries}.", nameof(SnapshotAfterEntries));
        }

        if (PurgeKeepEntries is < 0)
        {
            throw new ArgumentException($"PurgeKeepEntries must not be negative, got {PurgeKeepEntries}.", nameof(PurgeKeepEntries));
        }

        if (SnapshotChunkBytes is < 1)
        {
            throw new ArgumentException($"SnapshotChunkBytes must be at least 1, got {SnapshotChunkBytes}.", nameof(SnapshotChunkBytes));
        }

        if (PeerSilenceTicks is < 0 or 1)
        {
            throw new ArgumentException(
                $"PeerSilenceTicks must be 0 (off) or at least 2, got {PeerSilenceTicks}: a peer's ping lands between two ticks, so a live peer is always a tick behind, and 1 would find every peer silent.",
                nameof(PeerSilenceTicks));
        }

        // The groups run with the merged config: check it as a whole.
        EffectiveRaft().Validate();
        if (RetainedAppliedEntries < 0)
        {
            throw new ArgumentException($"RetainedAppliedEntries cannot be negative, got {RetainedAppliedEntries}.", nameof(RetainedAppliedEntries));
        }

        if (BackfillEntries < 1)
        {
            throw new ArgumentException($"BackfillEntries must be at least 1, got {BackfillEntries}.", nameof(BackfillEntries));
        }
    }

    /// <summary>The Raft config the groups run with: <see cref="Raft"/> with the snapshot policy set here.</summary>
    internal RaftConfig EffectiveRaft() => new()
    {
        ElectionTicks = Raft.ElectionTicks,
        HeartbeatTicks = Raft.HeartbeatTicks,
        MaxEntriesPerAppend = Raft.MaxEntriesPerAppend,
        MaxBytesPerAppend = Raft.MaxBytesPerAppend,
        MaxInflightAppends = Raft.MaxInflightAppends,
        MaxApplyEntriesPerReady = Raft.MaxApplyEntriesPerReady,
        CheckQuorum = Raft.CheckQuorum,
        PreVote = Raft.PreVote,
        QuiesceAfterTicks = Raft.QuiesceAfterTicks,
        SnapshotAfterEntries = SnapshotAfterEntries ?? Raft.SnapshotAfterEntries,
        PurgeKeepEntries = PurgeKeepEntries ?? Raft.PurgeKeepEntries,
        SnapshotChunkBytes = SnapshotChunkBytes ?? Raft.SnapshotChunkBytes,
        PurgeHoldElectionTimeouts = Raft.PurgeHoldElectionTimeouts,
        RandomSeed = Raft.RandomSeed,
    };

    /// <summary>Ticks of peer silence after which the host wakes the groups it shares with the peer; 0 when the detector is off.</summary>
    internal int EffectivePeerSilenceTicks => Raft.QuiesceAfterTicks == 0 ? 0 : PeerSilenceTicks ?? Raft.ElectionTicks;

    internal MultiRaftHostOptions Clone() => (MultiRaftHostOptions)MemberwiseClone();
}
