using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft.Messages;
using RaftToolkit.Core.Raft.Replication;

namespace RaftToolkit.Core.Raft;

/// <summary>Log replication and commit: the leader's side and the follower's side.</summary>
public sealed partial class RaftNode
{
    private void TickLeader()
    {
        _heartbeatElapsed++;
        _electionElapsed++;
        if (_electionElapsed >= _config.ElectionTicks)
        {
            _electionElapsed = 0;
            if (_config.CheckQuorum && !QuorumRecentlyActive())
            {
                // Check-quorum: a leader cut off from a quorum stops acting as one, so that clients
                // go elsewhere and its stale reads end.
                BecomeFollower();
                return;
            }

            foreach (var pr in _progress!)
            {
                pr.RecentActive = false;
            }
        }

        if (_heartbeatElapsed >= _config.HeartbeatTicks)
        {
            _heartbeatElapsed = 0;
            BroadcastHeartbeat();
        }
    }

    private bool QuorumRecentlyActive()
    {
        var progress = _progress!;
        Span<ulong> active = progress.Length < 32 ? stackalloc ulong[progress.Length + 1] : new ulong[progress.Length + 1];
        int count = 0;
        active[count++] = _id;
        foreach (var pr in progress)
        {
            if (pr.RecentActive)
            {
                active[count++] = pr.NodeId;
            }
        }

        return _membership.IsQuorum(active[..count]);
    }

    private void BroadcastHeartbeat()
    {
        int stallBeats = Math.Max(2, _config.ElectionTicks / (2 * _config.HeartbeatTicks));
        foreach (var pr in _progress!)
        {
            if (pr.State == ReplicationState.Snapshot)
            {
                OnSnapshotHeartbeat(pr, stallBeats);
                continue;
            }

            if (pr.State == ReplicationState.Probe)
            {
                // A probe that got no answer is sent again once per heartbeat.
                pr.ProbeSent = false;
                SendAppends(pr, carryCommit: true);
                continue;
            }

            if (pr.InflightCount > 0 && !pr.MatchedSinceBeat)
            {
                pr.StalledBeats++;
                if (pr.StalledBeats >= stallBeats)
                {
                    // Every request of the pipeline was lost (nothing acknowledged for half an
                    // election timeout): find the follower's position again.
                    pr.BecomeProbe(pr.Matched.NextIndex());
                    SendAppends(pr, carryCommit: true);
                    continue;
                }
            }
            else
            {
                pr.StalledBeats = 0;
            }

            pr.MarkBeat();
            SendEmptyAppend(pr);
        }
    }

    /// <summary>Leader: sends what each follower can take now (called from <see cref="GetReady"/>, so proposals batch).</summary>
    private void FlushReplication()
    {
        if (!_replicationPending && !_commitBroadcastPending)
        {
            return;
        }

        var shared = default(SharedBatch);
        foreach (var pr in _progress!)
        {
            SendAppends(pr, _commitBroadcastPending, ref shared);
        }

        _replicationPending = false;
        _commitBroadcastPending = false;
    }

    /// <summary>
    /// One flush sends the same range to every follower in step; the batch is read once and
    /// shared. It lives only for that flush: a cache that outlived it could serve entries that
    /// a later truncation replaced.
    /// </summary>
    private struct SharedBatch
    {
        public Entry[]? Entries;
        public ulong Start;
    }

    private void SendAppends(PeerProgress pr, bool carryCommit)
    {
        var unshared = default(SharedBatch);
        SendAppends(pr, carryCommit, ref unshared);
    }

    /// <summary>Sends as many requests as the follower's state and window allow; an empty one carries the commit if nothing else went.</summary>
    private void SendAppends(PeerProgress pr, bool carryCommit, ref SharedBatch shared)
    {
        bool sent = false;
        ulong lastNext = _lastLogId.NextIndex();
        if (pr.State == ReplicationState.Snapshot)
        {
            // Chunks move on their acknowledgements; the log resumes once the snapshot is in.
            if (carryCommit)
            {
                SendEmptyAppend(pr);
            }

            return;
        }

        while (true)
        {
            if (pr.State == ReplicationState.Probe ? pr.ProbeSent : (pr.NextIndex >= lastNext || pr.InflightFull(_config.MaxInflightAppends)))
            {
                break;
            }

            ulong next = Math.Min(pr.NextIndex, lastNext);
            if (_purgedId is { } purged && next <= purged.Index)
            {
                // The follower needs entries this log no longer has: send the snapshot instead.
                sent = TryStartSnapshot(pr);
                break;
            }

            LogId? prev = null;
            if (next > 0)
            {
                if (!TryGetViewLogId(next - 1, out var prevId))
                {
                    // Not readable now (purged or evicted): a later issue installs a snapshot here.
                    break;
                }

                prev = prevId;
            }

            var entries = ReadBatch(next, lastNext, ref shared);
            Send(new AppendEntriesRequest(_id, pr.NodeId, _vote, prev, entries, _committed));
            sent = true;
            if (pr.State == ReplicationState.Probe)
            {
                pr.ProbeSent = true;
                break;
            }

            if (entries.Length == 0)
            {
                break;
            }

            ulong lastSent = entries.Span[^1].Index;
            pr.NextIndex = lastSent + 1;
            pr.AddInflight(lastSent, _config.MaxInflightAppends);
        }

        if (!sent && carryCommit)
        {
            SendEmptyAppend(pr);
        }
    }

    /// <summary>A heartbeat: no entries, after the follower's matched entry (which it is known to hold), carrying the commit.</summary>
    private void SendEmptyAppend(PeerProgress pr) =>
        Send(new AppendEntriesRequest(_id, pr.NodeId, _vote, pr.Matched, ReadOnlyMemory<Entry>.Empty, _committed));

    private ReadOnlyMemory<Entry> ReadBatch(ulong start, ulong end, ref SharedBatch shared)
    {
        if (shared.Entries is { Length: > 0 } cached && shared.Start == start
            && (start + (ulong)cached.Length == end || cached.Length == _config.MaxEntriesPerAppend))
        {
            return cached;
        }

        var batch = ReadEntries(start, end, _config.MaxEntriesPerAppend, _config.MaxBytesPerAppend);
        shared.Entries = batch;
        shared.Start = start;
        return batch;
    }

    /// <summary>
    /// The common head of every answer to a leader's request (append, snapshot, leadership
    /// confirmation): the peer's progress when the answer belongs to this leadership, with the
    /// peer marked as heard from; null when it must be dropped.
    /// </summary>
    private PeerProgress? AcceptLeaderResponse(Vote responseVote, ulong from)
    {
        if (responseVote > _vote)
        {
            // A greater vote exists (a newer leader or candidate): this leadership is over, and
            // nothing it started (appends, snapshots, reads) may complete on its authority.
            SetVote(responseVote);
            if (_role != RaftRole.Follower && _role != RaftRole.Learner)
            {
                BecomeFollower();
            }

            return null;
        }

        if (_role != RaftRole.Leader || responseVote != _vote || FindProgress(from) is not { } pr)
        {
            // An answer to an earlier leadership of this or another node.
            return null;
        }

        pr.RecentActive = true;
        pr.TicksSinceHeard = 0;
        return pr;
    }

    private void HandleAppendResponse(AppendEntriesResponse response)
    {
        if (AcceptLeaderResponse(response.Vote, response.From) is not { } pr)
        {
            return;
        }

        if (response.Outcome == AppendEntriesOutcome.Success)
        {
            // Below the purge point entries are committed and cannot be checked any more.
            if (response.Matched is { } m && !(_purgedId is { } purged && m.Index < purged.Index)
                && (!TryGetViewLogId(m.Index, out var mine) || mine != m))
            {
                throw new RaftInvariantException($"Node {response.From} acknowledged {m}, which is not in leader {_id}'s log.");
            }

            if (pr.OnMatched(response.Matched))
            {
                pr.StalledBeats = pr.State == ReplicationState.Snapshot ? pr.StalledBeats : 0;
                MaybeCommit();
            }

            if (_role != RaftRole.Leader)
            {
                // The commit removed this leader from the configuration: it stepped down.
                return;
            }

            if (pr.State == ReplicationState.Snapshot)
            {
                // A heartbeat answered during a transfer: the log can take over only if the
                // follower already holds the entry before what this log still has.
                if (pr.Matched is { } held && !(_purgedId is { } floor && held.Index < floor.Index))
                {
                    pr.BecomeProbe(held.Index + 1);
                    SendAppends(pr, carryCommit: false);
                }
                else if (pr.StalledBeats > 0)
                {
                    // The follower is reachable but the chunk sent before the last heartbeat got
                    // no answer: it was lost, send it again now rather than after a stall.
                    SendSnapshotChunk(pr);
                }

                return;
            }

            SendAppends(pr, carryCommit: false);
            MaybeSendTimeoutNow(pr);
            return;
        }

        if (response.Outcome == AppendEntriesOutcome.Conflict && pr.State != ReplicationState.Snapshot
            && OnConflict(pr, response.RejectedPrevIndex, response.ConflictHint))
        {
            SendAppends(pr, carryCommit: false);
        }
    }

    /// <summary>
    /// Backs a follower off after a rejected previous log id, in one step using its hint.
    /// Returns false for a stale rejection, which must not move the follower backwards
    /// (openraft #1500: a delayed conflict read as the log going back).
    /// </summary>
    private bool OnConflict(PeerProgress pr, ulong rejectedPrev, LogId? hint)
    {
        if (pr.Matched is { } matched && rejectedPrev <= matched.Index)
        {
            return false;
        }

        if (pr.State == ReplicationState.Probe && rejectedPrev + 1 != pr.NextIndex)
        {
            return false;
        }

        if (pr.State == ReplicationState.Replicate && rejectedPrev >= pr.NextIndex)
        {
            return false;
        }

        ulong next = 0;
        if (hint is { } h)
        {
            // The last entry of this log that can equal the follower's hint: the greatest index
            // not after it whose leader id is not greater. Entries there and before match by the
            // log matching property; if they do not, the next probe refines from there.
            ulong index = Math.Min(h.Index, rejectedPrev);
            while (true)
            {
                if (!TryGetViewLogId(index, out var mine))
                {
                    break;
                }

                if (mine.LeaderId <= h.LeaderId)
                {
                    next = index + 1;
                    break;
                }

                if (index == 0)
                {
                    break;
                }

                index--;
            }
        }

        pr.BecomeProbe(Math.Min(next, rejectedPrev));
        return true;
    }

    private PeerProgress? FindProgress(ulong nodeId)
    {
        var progress = _progress;
        if (progress is null)
        {
            return null;
        }

        foreach (var pr in progress)
        {
            if (pr.NodeId == nodeId)
            {
                return pr;
            }
        }

        return null;
    }

    /// <summary>
    /// Leader: commits the greatest index a quorum holds durably, but only if that entry is of
    /// this leadership (Raft §5.4.2, Figure 8): earlier leaders' entries commit with it.
    /// </summary>
    private void MaybeCommit()
    {
        ulong quorumNext = _membership.QuorumIndex(new MatchedIndexes(this));
        if (quorumNext == 0)
        {
            return;
        }

        ulong index = quorumNext - 1;
        if (_committed is { } committed && index <= committed.Index)
        {
            return;
        }

        if (!TryGetViewLogId(index, out var id) || id.LeaderId != _vote.LeaderId)
        {
            return;
        }

        _committed = id;
        _committedDirty = true;
        _commitBroadcastPending = true;
        OnLeaderCommitAdvanced();
    }

    /// <summary>Each voter's matched next index: this node's own durable end, a follower's acknowledged end.</summary>
    private readonly struct MatchedIndexes(RaftNode node) : IMatchedIndexSource
    {
        public ulong MatchedIndex(ulong nodeId)
        {
            if (nodeId == node._id)
            {
                return node.DurableNext;
            }

            return node.FindProgress(nodeId) is { } pr ? pr.Matched.NextIndex() : 0;
        }
    }

    private void ValidateAppendRequest(AppendEntriesRequest request)
    {
        var entries = request.Entries.Span;
        ulong expected = request.PrevLogId.NextIndex();
        for (int i = 0; i < entries.Length; i++)
        {
            if (entries[i].Index != expected + (ulong)i)
            {
                throw new ArgumentException(
                    $"AppendEntries from node {request.From}: entry {entries[i].LogId} does not follow {(request.PrevLogId is { } p ? p.ToString() : "the start")} contiguously.",
                    nameof(request));
            }
        }
    }

    private void HandleAppendRequest(AppendEntriesRequest request)
    {
        if (request.Vote < _vote)
        {
            SendAfterPersist(new AppendEntriesResponse(_id, request.From, _vote, AppendEntriesOutcome.HigherVote, null, 0, null));
            return;
        }

        // A request at least as great as our vote comes from the legitimate leader of that vote.
        SetVote(request.Vote.Committed ? request.Vote : request.Vote.Commit());
        if (_role != RaftRole.Follower && _role != RaftRole.Learner)
        {
            BecomeFollower();
        }
        else
        {
            _electionElapsed = 0;
        }

        // At or below this node's purge point every entry is committed, so equal to the leader's.
        ulong purgedNext = _purgedId.NextIndex();
        if (request.PrevLogId is { } prev && prev.Index >= purgedNext && (!TryGetViewLogId(prev.Index, out var have) || have != prev))
        {
            SendAfterPersist(new AppendEntriesResponse(_id, request.From, _vote, AppendEntriesOutcome.Conflict, null, prev.Index, ConflictHint(prev)));
            return;
        }

        var entries = request.Entries.Span;
        int firstNew = 0;
        while (firstNew < entries.Length && entries[firstNew].Index < purgedNext)
        {
            firstNew++;
        }

        ulong lastNext = _lastLogId.NextIndex();
        for (; firstNew < entries.Length; firstNew++)
        {
            ulong index = entries[firstNew].Index;
            if (index >= lastNext)
            {
                break;
            }

            if (!TryGetViewLogId(index, out var existing))
            {
                throw new Storage.StorageInconsistencyException($"Node {_id}: entry {index} is missing inside the log (last {_lastLogId}).");
            }

            if (existing != entries[firstNew].LogId)
            {
                // Raft §5.3: a conflicting entry and all that follow it are deleted.
                TruncateFrom(index);
                break;
            }
        }

        AppendUnstable(entries[firstNew..]);

        var matched = request.LastLogId;
        if (request.LeaderCommit is { } leaderCommit && matched is { } m)
        {
            // Only what this request proved equal to the leader's log may be marked committed.
            ulong commitIndex = Math.Min(leaderCommit.Index, m.Index);
            if ((_committed is not { } c || commitIndex > c.Index) && TryGetViewLogId(commitIndex, out var commitId))
            {
                _committed = commitId;
                _committedDirty = true;
            }
        }

        SendAfterPersist(new AppendEntriesResponse(_id, request.From, _vote, AppendEntriesOutcome.Success, matched, 0, null));
    }

    /// <summary>The follower's hint for a rejected previous id: its greatest entry not after it whose leader id is not greater.</summary>
    private LogId? ConflictHint(LogId rejectedPrev)
    {
        if (_lastLogId is not { } last)
        {
            return null;
        }

        ulong index = Math.Min(rejectedPrev.Index, last.Index);
        while (true)
        {
            if (_purgedId is { } purged && index <= purged.Index)
            {
                // Committed, so the leader holds it too (or has purged past it and sends a snapshot).
                return purged;
            }

            if (!TryGetViewLogId(index, out var mine))
            {
                return null;
            }

            if (mine.LeaderId <= rejectedPrev.LeaderId)
            {
                return mine;
            }

            if (index == 0)
            {
                return null;
            }

            index--;
        }
    }
}
