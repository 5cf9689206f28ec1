using System.Diagnostics;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft.Messages;
using RaftToolkit.Core.Raft.Replication;

namespace RaftToolkit.Core.Raft;

/// <summary>
/// Snapshots and log compaction: asking the host for a snapshot, purging the log behind it,
/// sending it in chunks to a follower that needs purged entries, and installing a received one.
/// </summary>
public sealed partial class RaftNode
{
    /// <summary>Snapshot state, allocated on first use: a group that never snapshots pays a single reference.</summary>
    private SnapshotState? _snapshots;

    private SnapshotState Snapshots => _snapshots ??= new SnapshotState();

    /// <summary>
    /// The last purged id as far as this node is concerned (handed out or found at start). The
    /// view never reads at or below it: the host may delete those entries at any time after the
    /// Ready that says so is handed out. Its own index still answers with this id.
    /// </summary>
    private LogId? _purgedId;

    /// <summary>The next Ready hands out a purge up to <see cref="_purgedId"/> (a flag, not a copy: an idle group stays small).</summary>
    private bool _purgeDue;

    /// <summary>The current snapshot's description, if any.</summary>
    public SnapshotMeta? Snapshot => _snapshots?.Current;

    /// <summary>The last log id this node purged (or will have purged once its outstanding Ready is written), if any.</summary>
    public LogId? LastPurgedLogId => _purgedId;

    /// <summary>
    /// Asks the host to build a snapshot once the next Ready's committed entries are applied
    /// (<see cref="Ready.SnapshotRequested"/>), whatever the size policy says.
    /// </summary>
    public void RequestSnapshot()
    {
        ThrowIfFailed();
        Snapshots.Requested = true;
    }

    /// <summary>
    /// Reports a snapshot the host built (after <see cref="Ready.SnapshotRequested"/> or on its
    /// own): the node keeps its meta and bytes (not copied) to send to followers, and purges
    /// the log behind it as the purge policy allows.
    /// </summary>
    /// <param name="meta">What the snapshot covers: its last log id must be an applied entry of this log.</param>
    /// <param name="data">The snapshot's bytes (the host's serialization of its snapshot data).</param>
    /// <returns>True when adopted; false when the current snapshot already covers as much.</returns>
    /// <exception cref="ArgumentException">The snapshot covers no entry, an entry not yet handed out for apply, or an entry that is not in this log.</exception>
    public bool SnapshotBuilt(SnapshotMeta meta, ReadOnlyMemory<byte> data)
    {
        ArgumentNullException.ThrowIfNull(meta);
        ThrowIfFailed();
        if (meta.LastLogId is not { } last)
        {
            throw new ArgumentException($"Snapshot {meta.SnapshotId} covers no entry.", nameof(meta));
        }

        if (last.Index >= _applyNext)
        {
            throw new ArgumentException(
                $"Snapshot {meta.SnapshotId} ends at {last}, past what node {_id} handed out for apply (next {_applyNext}).", nameof(meta));
        }

        bool covered = (_snapshots?.Current?.LastLogId is { } current && last.Index <= current.Index)
            || (_purgedId is { } purged && last.Index <= purged.Index);
        if (!covered && (!TryGetViewLogId(last.Index, out var mine) || mine != last))
        {
            throw new ArgumentException($"Snapshot {meta.SnapshotId} ends at {last}, which is not the entry at that index in node {_id}'s log.", nameof(meta));
        }

        Snapshots.BuildPending = false;
        if (covered)
        {
            return false;
        }

        Snapshots.Current = meta;
        Snapshots.Data = data;
        UpdatePurge();
        return true;
    }

    /// <summary>Restores the snapshot state a restarting node had; called from the constructor.</summary>
    private LogId? RestoreSnapshotState(RaftNodeState state, LogId? lastLogId)
    {
        _purgedId = _source.LastPurgedLogId;
        if (state.Snapshot is not { LastLogId: { } last } snapshot)
        {
            return lastLogId;
        }

        Snapshots.Current = snapshot;
        Snapshots.Data = state.SnapshotData;
        if (_purgedId is { } purged && purged.Index >= last.Index)
        {
            return lastLogId;
        }

        // The snapshot was installed but the log purge after it was not written (a crash between
        // the two): the log up to the snapshot is dead, and a tail that does not continue the
        // snapshot's last entry is stale.
        bool continues = _source.TryGetLogId(last.Index, out var atLast) && atLast == last;
        _purgedId = last;
        _purgeDue = true;
        if (!continues && lastLogId is { } l && l.Index > last.Index)
        {
            _hasPendingTruncation = true;
            _pendingTruncateFrom = last.Index + 1;
        }

        return continues && lastLogId is { } tail && tail.Index > last.Index ? tail : last;
    }

    /// <summary>Checks the restart state against the snapshot: the state machine must hold at least what the log no longer has.</summary>
    private void ReconcileStartWithSnapshot()
    {
        if (_purgedId is not { } purged)
        {
            return;
        }

        if (_applied is not { } applied || applied.Index < purged.Index)
        {
            throw new ArgumentException(
                $"Node {_id} restarts with applied {(_applied is { } a ? a.ToString() : "none")} behind the purged log (up to {purged}): restore the state machine from the snapshot first.",
                "state");
        }

        if (_committed is not { } committed || committed.Index < purged.Index)
        {
            _committed = purged;
        }
    }

    private void ValidateInstallSnapshotRequest(InstallSnapshotRequest request)
    {
        if (request.Meta.LastLogId is null)
        {
            throw new ArgumentException($"InstallSnapshot from node {request.From}: snapshot {request.Meta.SnapshotId} covers no entry.", nameof(request));
        }

        if (request.Offset > int.MaxValue || request.Offset + (ulong)request.Data.Length > int.MaxValue)
        {
            throw new ArgumentException($"InstallSnapshot from node {request.From}: chunk at {request.Offset} (+{request.Data.Length}) is past the largest supported snapshot.", nameof(request));
        }
    }

    /// <summary>Per tick: the leader counts how long each follower has been silent and re-evaluates the purge at heartbeats; reads age.</summary>
    private void TickSnapshotAndReads()
    {
        bool heartbeat = _role == RaftRole.Leader && _heartbeatElapsed == 0;
        if (_role == RaftRole.Leader)
        {
            foreach (var pr in _progress!)
            {
                pr.TicksSinceHeard++;
            }

            if (heartbeat)
            {
                UpdatePurge();
            }
        }

        TickReads(heartbeat);
    }

    /// <summary>True when the size policy wants a snapshot once entries before <paramref name="applyNext"/> are applied.</summary>
    private bool SnapshotPolicyDue(ulong applyNext)
    {
        if (_config.SnapshotAfterEntries == 0 || _snapshots is { BuildPending: true })
        {
            return false;
        }

        ulong covered = _snapshots?.Current is { } snapshot ? snapshot.LastLogId.NextIndex() : 0;
        return applyNext >= covered + (ulong)_config.SnapshotAfterEntries;
    }

    /// <summary>
    /// Moves the purge point as far as the policy allows: the keep window behind the snapshot,
    /// never past what is applied, durable here and covered by the snapshot, and on a leader
    /// never past what a live follower still needs (a follower being sent a snapshot, or silent
    /// for <see cref="RaftConfig.PurgeHoldElectionTimeouts"/> election timeouts, does not hold it).
    /// </summary>
    private void UpdatePurge()
    {
        if (_snapshots?.Current?.LastLogId is not { } snapshotLast || _applied is not { } applied || DurableNext == 0)
        {
            return;
        }

        ulong keep = (ulong)_config.PurgeKeepEntries;
        if (snapshotLast.Index < keep)
        {
            return;
        }

        ulong target = Math.Min(snapshotLast.Index - keep, Math.Min(applied.Index, DurableNext - 1));
        if (_role == RaftRole.Leader)
        {
            long silentLimit = (long)_config.PurgeHoldElectionTimeouts * _config.ElectionTicks;
            foreach (var pr in _progress!)
            {
                if (pr.State == ReplicationState.Snapshot || pr.TicksSinceHeard >= silentLimit)
                {
                    continue;
                }

                if (pr.Matched is not { } matched)
                {
                    // A live follower whose position is unknown yet may need anything.
                    return;
                }

                target = Math.Min(target, matched.Index);
            }
        }

        if (_purgedId is { } purged && target <= purged.Index)
        {
            return;
        }

        if (!TryGetViewLogId(target, out var targetId))
        {
            return;
        }

        _purgedId = targetId;
        _purgeDue = true;
    }

    /// <summary>Leader: starts sending the current snapshot to a follower that needs purged entries.</summary>
    private bool TryStartSnapshot(PeerProgress pr)
    {
        if (_snapshots?.Current is not { LastLogId: not null } snapshot)
        {
            return false;
        }

        pr.BecomeSnapshot(snapshot, _snapshots.Data);
        SendSnapshotChunk(pr);
        return true;
    }

    private void SendSnapshotChunk(PeerProgress pr)
    {
        var data = pr.SendingSnapshotData;
        int offset = (int)pr.SnapshotOffset;
        int length = Math.Min(_config.SnapshotChunkBytes, data.Length - offset);
        bool done = offset + length == data.Length;
        Send(new InstallSnapshotRequest(_id, pr.NodeId, _vote, pr.SendingSnapshot!, (ulong)offset, data.Slice(offset, length), done));
        pr.StalledBeats = 0;
    }

    /// <summary>Leader heartbeat for a follower receiving a snapshot: resend the chunk in flight when its answer is overdue.</summary>
    private void OnSnapshotHeartbeat(PeerProgress pr, int stallBeats)
    {
        SendEmptyAppend(pr);
        if (++pr.StalledBeats >= stallBeats)
        {
            SendSnapshotChunk(pr);
        }
    }

    private void HandleInstallSnapshotRequest(InstallSnapshotRequest request)
    {
        string snapshotId = request.Meta.SnapshotId;
        if (request.Vote < _vote)
        {
            SendAfterPersist(new InstallSnapshotResponse(_id, request.From, _vote, snapshotId, 0, false));
            return;
        }

        FollowLeader(request.Vote);
        var last = request.Meta.LastLogId!.Value;
        if (_committed is { } committed && last.Index <= committed.Index)
        {
            // Everything the snapshot covers is committed here already (this node's committed
            // entries are the leader's): installing it would move the state machine backwards
            // (openraft #1892). It counts as installed.
            Snapshots.Receiving = null;
            SendAfterPersist(new InstallSnapshotResponse(_id, request.From, _vote, snapshotId, request.Offset + (ulong)request.Data.Length, true));
            return;
        }

        var receiving = Snapshots.Receiving;
        if (receiving is null || receiving.Meta.SnapshotId != snapshotId || receiving.Vote != request.Vote)
        {
            if (request.Offset != 0)
            {
                SendAfterPersist(new InstallSnapshotResponse(_id, request.From, _vote, snapshotId, 0, false));
                return;
            }

            receiving = new SnapshotReceiver(request.Meta, request.Vote);
            Snapshots.Receiving = receiving;
        }

        if (request.Offset != (ulong)receiving.Length)
        {
            SendAfterPersist(new InstallSnapshotResponse(_id, request.From, _vote, snapshotId, (ulong)receiving.Length, false));
            return;
        }

        receiving.Append(request.Data.Span);
        if (!request.Done)
        {
            SendAfterPersist(new InstallSnapshotResponse(_id, request.From, _vote, snapshotId, (ulong)receiving.Length, false));
            return;
        }

        // Copied to its exact size: the receive buffer grew by doubling, and the node keeps these
        // bytes for as long as the snapshot is its current one.
        var data = receiving.Bytes.ToArray();
        Snapshots.Receiving = null;
        InstallSnapshot(request.Meta, data);

        // Held until the install is durable (persist before you speak).
        SendAfterPersist(new InstallSnapshotResponse(_id, request.From, _vote, snapshotId, (ulong)data.Length, true));
    }

    /// <summary>
    /// Replaces this node's state with a snapshot ending after its commit index. If the log holds
    /// the snapshot's last entry, the entries after it stay (they continue it); otherwise the
    /// whole log is dropped and restarts after the snapshot's last log id.
    /// </summary>
    private void InstallSnapshot(SnapshotMeta meta, ReadOnlyMemory<byte> data)
    {
        var last = meta.LastLogId!.Value;
        Debug.Assert(_committed is not { } c || c.Index < last.Index, "Only a snapshot past the commit index is installed.");
        bool holdsIndex = TryGetViewLogId(last.Index, out var mine);
        bool continues = holdsIndex && mine == last;

        // Where the durable log may hold entries that contradict the snapshot, deleted before the
        // install (see Ready.TruncationBeforeInstall): the entry at the snapshot's last index, when
        // the view holds another one there, was never committed, nor was any after it; and a
        // truncation not handed out yet, at or below that index, left its entries on disk though
        // the view no longer shows them (it may even show new entries that continue the snapshot).
        ulong? contradictsFrom = holdsIndex && !continues ? last.Index : null;
        if (_hasPendingTruncation && _pendingTruncateFrom <= last.Index && (contradictsFrom is not { } at || _pendingTruncateFrom < at))
        {
            contradictsFrom = _pendingTruncateFrom;
        }

        if (contradictsFrom is { } from && Snapshots.TruncationBeforeInstall is null)
        {
            // An earlier install not handed out yet already deletes from a lower index.
            LogId? kept = null;
            if (from > 0)
            {
                kept = TryGetViewLogId(from - 1, out var before)
                    ? before
                    : throw new Storage.StorageInconsistencyException($"Node {_id}: entry {from - 1} is missing from the log while installing a snapshot after it.");
            }

            Snapshots.TruncationBeforeInstall = new LogTruncation(from, kept);
        }

        if (!continues && _lastLogId.NextIndex() > last.Index + 1)
        {
            // Entries after the snapshot's last index that do not continue it are stale.
            TruncateFrom(last.Index + 1);
        }

        DropUnstableThrough(last.Index);
        if (!continues || _lastLogId is not { } tail || tail.Index <= last.Index)
        {
            _lastLogId = last;
        }

        _purgedId = last;
        _purgeDue = true;
        _committed = last;
        _committedDirty = true;
        OnSnapshotInstalled(meta, continues);
        Snapshots.Current = meta;
        Snapshots.Data = data;
        Snapshots.PendingInstall = meta;
    }

    /// <summary>Forgets unstable entries at or before <paramref name="index"/> (a snapshot covers them); handed-out ones the host purges.</summary>
    private void DropUnstableThrough(ulong index)
    {
        if (index < _unstableStart)
        {
            return;
        }

        int drop = (int)Math.Min((ulong)_unstableCount, index + 1 - _unstableStart);
        if (drop > 0)
        {
            if (_outstanding is not null)
            {
                // The outstanding Ready's entries may be a slice of this buffer: copy before shifting.
                _unstable = (Entry[])_unstable!.Clone();
            }

            Array.Copy(_unstable!, drop, _unstable!, 0, _unstableCount - drop);
            _unstable.AsSpan(_unstableCount - drop, drop).Clear();
            _unstableCount -= drop;
        }

        _unstableStart = index + 1;
        _handedOutEnd = Math.Max(_handedOutEnd, _unstableStart);
    }

    /// <summary>A request at least as great as this node's vote comes from the legitimate leader of that vote: follow it.</summary>
    private void FollowLeader(Vote leaderVote)
    {
        SetVote(leaderVote.Committed ? leaderVote : leaderVote.Commit());
        if (_role != RaftRole.Follower && _role != RaftRole.Learner)
        {
            BecomeFollower();
        }
        else
        {
            _electionElapsed = 0;
        }
    }

    private void HandleInstallSnapshotResponse(InstallSnapshotResponse response)
    {
        if (AcceptLeaderResponse(response.Vote, response.From) is not { } pr)
        {
            return;
        }

        if (pr.State != ReplicationState.Snapshot || pr.SendingSnapshot is not { } sending || sending.SnapshotId != response.SnapshotId)
        {
            return;
        }

        if (response.Installed)
        {
            pr.OnSnapshotInstalled(sending.LastLogId!.Value);
            MaybeCommit();
            SendAppends(pr, carryCommit: true);
            return;
        }

        // The follower says where it stands; continue from there. Forward: the chunk in flight
        // arrived. Backward: it lost what it had (a restart that then took a delayed first chunk)
        // - or the answer is stale, and the follower's answer to the resent chunk moves us on again.
        // Equal: it still waits for the chunk in flight, which the heartbeat resends if lost.
        ulong length = (ulong)pr.SendingSnapshotData.Length;
        if (response.NextOffset != pr.SnapshotOffset && response.NextOffset < length)
        {
            pr.SnapshotOffset = response.NextOffset;
            SendSnapshotChunk(pr);
        }
    }

    /// <summary>Hands out the snapshot work of a Ready: install, purge and the build request.</summary>
    private void FillSnapshotWork(Ready ready, bool requestSnapshot)
    {
        if (_purgeDue)
        {
            ready.PurgeUpTo = _purgedId;
            _purgeDue = false;
        }

        if (requestSnapshot)
        {
            ready.SnapshotRequested = true;
            Snapshots.Requested = false;
            Snapshots.BuildPending = true;
        }

    }

    /// <summary>Takes the pending install for a Ready being built and moves the apply position past it.</summary>
    private SnapshotMeta? TakePendingInstall(out ReadOnlyMemory<byte> data, out LogTruncation? truncation)
    {
        data = default;
        truncation = null;
        if (_snapshots?.PendingInstall is not { } install)
        {
            return null;
        }

        _snapshots.PendingInstall = null;
        truncation = _snapshots.TruncationBeforeInstall;
        _snapshots.TruncationBeforeInstall = null;
        data = _snapshots.Data;
        _applyNext = Math.Max(_applyNext, install.LastLogId.NextIndex());
        return install;
    }

    /// <summary>Bytes of a snapshot being received in chunks, not yet complete (0: none).</summary>
    internal int SnapshotBytesReceiving => _snapshots?.Receiving?.Length ?? 0;

    /// <summary>True when a snapshot request or install waits for the next Ready.</summary>
    private bool SnapshotWorkReady => _snapshots is { } s && (s.Requested || s.PendingInstall is not null);

    /// <summary>True while a received snapshot waits to be handed out for install (responses that depend on it wait too).</summary>
    private bool InstallUnhanded => _snapshots?.PendingInstall is not null;

    /// <summary>The snapshot state of one node.</summary>
    private sealed class SnapshotState
    {
        /// <summary>The current snapshot's description (built here or installed from the leader), if any.</summary>
        public SnapshotMeta? Current;

        /// <summary>The current snapshot's bytes, sent to followers that need purged entries.</summary>
        public ReadOnlyMemory<byte> Data;

        /// <summary>RequestSnapshot was called: the next Ready asks for a snapshot.</summary>
        public bool Requested;

        /// <summary>A snapshot was asked for and not reported yet: the size policy does not ask again meanwhile.</summary>
        public bool BuildPending;

        /// <summary>A received snapshot to hand out for install with the next Ready.</summary>
        public SnapshotMeta? PendingInstall;

        /// <summary>With <see cref="PendingInstall"/>: the log's tail that contradicts it, to delete before the install.</summary>
        public LogTruncation? TruncationBeforeInstall;

        /// <summary>Follower only: the snapshot being received, chunk by chunk.</summary>
        public SnapshotReceiver? Receiving;
    }

    /// <summary>A snapshot arriving in chunks; the bytes grow as chunks arrive in order.</summary>
    private sealed class SnapshotReceiver(SnapshotMeta meta, Vote vote)
    {
        private byte[] _buffer = [];

        public SnapshotMeta Meta { get; } = meta;

        public Vote Vote { get; } = vote;

        public int Length { get; private set; }

        public ReadOnlyMemory<byte> Bytes => _buffer.AsMemory(0, Length);

        public void Append(ReadOnlySpan<byte> chunk)
        {
            if (Length + chunk.Length > _buffer.Length)
            {
                Array.Resize(ref _buffer, Math.Max(Length + chunk.Length, _buffer.Length * 2));
            }

            chunk.CopyTo(_buffer.AsSpan(Length));
            Length += chunk.Length;
        }
    }
}
