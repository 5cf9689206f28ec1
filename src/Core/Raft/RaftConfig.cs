namespace RaftToolkit.Core.Raft;

/// <summary>
/// The tunables of one <see cref="RaftNode"/>. Immutable after construction so that one
/// instance can be shared by every group of a process (per-group memory stays small).
/// Time is counted in ticks: the host calls <see cref="RaftNode.Tick"/> at a fixed period.
/// </summary>
public sealed class RaftConfig
{
    /// <summary>
    /// The minimum election timeout in ticks. A follower's actual timeout is drawn uniformly
    /// from [ElectionTicks, 2 * ElectionTicks) after every reset, so that timeouts rarely collide.
    /// Also the check-quorum period of a leader and the leader-lease length of a follower.
    /// </summary>
    public int ElectionTicks { get; init; } = 10;

    /// <summary>The leader sends a heartbeat to every follower once per this many ticks.</summary>
    public int HeartbeatTicks { get; init; } = 1;

    /// <summary>At most this many entries travel in one AppendEntries request.</summary>
    public int MaxEntriesPerAppend { get; init; } = 64;

    /// <summary>
    /// At most this many encoded bytes (<see cref="Codec.ModelFormats.EntrySize"/>) of entries travel in
    /// one AppendEntries request; a single larger entry still travels alone.
    /// </summary>
    public int MaxBytesPerAppend { get; init; } = 1 << 20;

    /// <summary>At most this many AppendEntries requests carrying entries are unacknowledged per follower.</summary>
    public int MaxInflightAppends { get; init; } = 256;

    /// <summary>At most this many committed entries are handed out for apply in one <see cref="Ready"/>.</summary>
    public int MaxApplyEntriesPerReady { get; init; } = 4096;

    /// <summary>
    /// A leader that has not heard from a quorum within <see cref="ElectionTicks"/> steps down,
    /// and a follower that heard from a leader within that time refuses to vote for another
    /// (leader lease), so a partitioned node cannot disrupt a healthy leader.
    /// </summary>
    public bool CheckQuorum { get; init; } = true;

    /// <summary>
    /// A node runs a pre-vote round (which changes no state) before raising its term, so a node
    /// that cannot win never disrupts the cluster.
    /// </summary>
    public bool PreVote { get; init; } = true;

    /// <summary>
    /// A leader whose group was settled (every peer holds the whole log, all of it committed, no
    /// change or transfer in flight) for this many ticks tells its followers and stops
    /// heartbeating; the group then costs nothing per tick until a message or proposal arrives.
    /// 0 disables quiescence. See <see cref="RaftNode.IsQuiescent"/> and <see cref="RaftNode.Wake"/>.
    /// </summary>
    public int QuiesceAfterTicks { get; init; }

    /// <summary>
    /// Ask the host for a snapshot once this many entries were applied since the last snapshot
    /// (<see cref="Ready.SnapshotRequested"/>); 0 builds snapshots only on
    /// <see cref="RaftNode.RequestSnapshot"/>.
    /// </summary>
    public int SnapshotAfterEntries { get; init; }

    /// <summary>
    /// Entries kept in the log before the snapshot's last entry when the log is purged, so a
    /// follower that lags by fewer still catches up from the log rather than by snapshot.
    /// </summary>
    public int PurgeKeepEntries { get; init; } = 1024;

    /// <summary>At most this many bytes of snapshot data travel in one <see cref="Messages.InstallSnapshotRequest"/>.</summary>
    public int SnapshotChunkBytes { get; init; } = 1 << 20;

    /// <summary>
    /// A follower the leader has not heard from for this many election timeouts stops holding
    /// back the log purge (it gets a snapshot when it returns), so a dead follower never keeps
    /// the log growing forever.
    /// </summary>
    public int PurgeHoldElectionTimeouts { get; init; } = 3;

    /// <summary>Seed of the per-node random source that draws election timeouts (mixed with the node id).</summary>
    public ulong RandomSeed { get; init; } = 0x5EED;

    /// <summary>Checks every value; throws <see cref="ArgumentException"/> naming the first bad one.</summary>
    /// <exception cref="ArgumentException">A value is out of range or inconsistent with another.</exception>
    public void Validate()
    {
        if (ElectionTicks < 2)
        {
            throw new ArgumentException($"ElectionTicks must be at least 2, got {ElectionTicks}.", nameof(ElectionTicks));
        }

        if (HeartbeatTicks < 1)
        {
            throw new ArgumentException($"HeartbeatTicks must be at least 1, got {HeartbeatTicks}.", nameof(HeartbeatTicks));
        }

        if (HeartbeatTicks >= ElectionTicks)
        {
            throw new ArgumentException(
                $"HeartbeatTicks ({HeartbeatTicks}) must be smaller than ElectionTicks ({ElectionTicks}), or followers time out between heartbeats.",
                nameof(HeartbeatTicks));
        }

        if (MaxEntriesPerAppend < 1)
        {
            throw new ArgumentException($"MaxEntriesPerAppend must be at least 1, got {MaxEntriesPerAppend}.", nameof(MaxEntriesPerAppend));
        }

        if (MaxBytesPerAppend < 1)
        {
            throw new ArgumentException($"MaxBytesPerAppend must be at least 1, got {MaxBytesPerAppend}.", nameof(MaxBytesPerAppend));
        }

        if (MaxInflightAppends < 1)
        {
            throw new ArgumentException($"MaxInflightAppends must be at least 1, got {MaxInflightAppends}.", nameof(MaxInflightAppends));
        }

        if (QuiesceAfterTicks < 0)
        {
            throw new ArgumentException($"QuiesceAfterTicks must be 0 (disabled) or positive, got {QuiesceAfterTicks}.", nameof(QuiesceAfterTicks));
        }

        if (SnapshotAfterEntries < 0)
        {
            throw new ArgumentException($"SnapshotAfterEntries must not be negative, got {SnapshotAfterEntries}.", nameof(SnapshotAfterEntries));
        }

        if (PurgeKeepEntries < 0)
        {
            throw new ArgumentException($"PurgeKeepEntries must not be negative, got {PurgeKeepEntries}.", nameof(PurgeKeepEntries));
        }

        if (SnapshotChunkBytes < 1)
        {
            throw new ArgumentException($"SnapshotChunkBytes must be at least 1, got {SnapshotChunkBytes}.", nameof(SnapshotChunkBytes));
        }

        if (PurgeHoldElectionTimeouts < 1)
        {
            throw new ArgumentException($"PurgeHoldElectionTimeouts must be at least 1, got {PurgeHoldElectionTimeouts}.", nameof(PurgeHoldElectionTimeouts));
        }

        if (MaxApplyEntriesPerReady < 1)
        {
            throw new ArgumentException($"MaxApplyEntriesPerReady must be at least 1, got {MaxApplyEntriesPerReady}.", nameof(MaxApplyEntriesPerReady));
        }
    }
}
