using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft.Messages;

namespace RaftToolkit.Core.Raft;

/// <summary>
/// Quiescence: a leader whose group had nothing to do for <see cref="RaftConfig.QuiesceAfterTicks"/>
/// ticks (every peer holds the whole log, all of it committed, no change or transfer in flight)
/// sends each peer a <see cref="QuiesceNotice"/> and stops heartbeating. A follower that holds the
/// leader's last entry stops counting election ticks. Both wake on any message, proposal or call.
/// </summary>
/// <remarks>
/// <para>A quiescent node does no work per tick (<see cref="Tick"/> returns at once) and a host may
/// stop ticking it while <see cref="IsQuiescent"/> is set.</para>
/// <para>Liveness: a quiescent follower never times out on its own, so the host must call
/// <see cref="Wake"/> on the group's nodes when it suspects a peer failed (transport disconnect,
/// failure detector), or when it ticks a group again after a pause. The woken followers count
/// election ticks again and elect a new leader if the old one is gone. A lost notice is harmless:
/// that follower keeps counting, times out, and its pre-vote request wakes everyone.</para>
/// </remarks>
public sealed partial class RaftNode
{
    private bool _quiescent;
    private int _idleTicks;

    /// <summary>True while the host holds quiescence off (<see cref="HoldQuiescence"/>): a leader stays awake.</summary>
    private bool _quiescenceHeld;

    /// <summary>True while this node is quiescent: <see cref="Tick"/> does nothing until a message, proposal or <see cref="Wake"/>.</summary>
    public bool IsQuiescent => _quiescent;

    /// <summary>
    /// Ends quiescence: a leader heartbeats again, a follower counts election ticks again. A
    /// host calls this when it suspects a peer failed (see the remarks on quiescence).
    /// </summary>
    public void Wake()
    {
        ThrowIfFailed();
        WakeFromQuiescence();
    }

    /// <summary>
    /// Holds quiescence off, or lets it resume: while held a leader does not go quiet and heartbeats
    /// as without quiescence, and one that is quiet wakes now. A host holds it while it withholds
    /// its pings (one of its workers is stuck): its peers then wake every group they share with it,
    /// and the followers of the leaders it still serves must hear them rather than time out.
    /// </summary>
    internal void HoldQuiescence(bool hold)
    {
        _quiescenceHeld = hold;
        if (hold && _role == RaftRole.Leader)
        {
            ThrowIfFailed();
            WakeFromQuiescence();
        }
    }

    private void WakeFromQuiescence()
    {
        if (!_quiescent)
        {
            return;
        }

        _quiescent = false;
        _idleTicks = 0;
        _electionElapsed = 0;
        if (_role == RaftRole.Leader)
        {
            // Silence was by agreement, not a sign of a lost quorum: check-quorum starts afresh,
            // and a heartbeat goes out at once.
            foreach (var pr in _progress!)
            {
                pr.RecentActive = true;
            }

            _heartbeatElapsed = _config.HeartbeatTicks;
        }
        else
        {
            ResetElectionTimer();
        }
    }

    /// <summary>True when <paramref name="message"/> must not wake this quiescent node: a late acknowledgement that tells the leader nothing new.</summary>
    private bool IsStaleAcknowledgement(RaftMessage message) =>
        _role == RaftRole.Leader
        && message is AppendEntriesResponse { Outcome: AppendEntriesOutcome.Success } ack
        && ack.Vote == _vote
        && FindProgress(ack.From) is { } pr
        && pr.Matched == ack.Matched;

    /// <summary>Leader, after each tick: goes quiet once the group was settled for long enough.</summary>
    private void MaybeQuiesce()
    {
        if (_config.QuiesceAfterTicks == 0 || _quiescenceHeld)
        {
            return;
        }

        if (!IsSettled())
        {
            _idleTicks = 0;
            return;
        }

        if (++_idleTicks < _config.QuiesceAfterTicks)
        {
            return;
        }

        foreach (var pr in _progress!)
        {
            Send(new QuiesceNotice(_id, pr.NodeId, _vote, _lastLogId, _committed));
            pr.ReleaseIdleBuffers();
        }

        EnterQuiescence();
    }

    private bool IsSettled()
    {
        if (_reads is { Pending.Count: > 0 } or { Forwarded.Count: > 0 })
        {
            return false;
        }

        if (IsTransferringLeadership || _replicationPending || IsMembershipChangeInProgress || _committed != _lastLogId || DurableNext != _lastLogId.NextIndex())
        {
            return false;
        }

        foreach (var pr in _progress!)
        {
            if (pr.Matched != _lastLogId)
            {
                return false;
            }
        }

        return true;
    }

    private void HandleQuiesceNotice(QuiesceNotice notice)
    {
        if (notice.Vote != _vote || !_vote.Committed || (_role != RaftRole.Follower && _role != RaftRole.Learner))
        {
            return;
        }

        if (notice.LastLogId is { } last && (!TryGetViewLogId(last.Index, out var mine) || mine != last))
        {
            // Not caught up: keep counting; a timeout here wakes the group again.
            return;
        }

        if (_reads?.Forwarded is { Count: > 0 })
        {
            // Reads forwarded to the leader expire only on ticks: a quiescent node is not ticked,
            // so a read whose request or answer was lost would wait for ever.
            return;
        }

        if (notice.LeaderCommit is { } commit && LogIds.Compare(commit, _committed) > 0 && TryGetViewLogId(commit.Index, out var commitId) && commitId == commit)
        {
            _committed = commit;
            _committedDirty = true;
        }

        EnterQuiescence();
    }

    /// <summary>
    /// Goes quiet. No tick comes to release the unstable buffer of a quiescent node (see
    /// ReleaseIdleBuffer), so it goes now if empty, or at the Advance that empties it.
    /// </summary>
    private void EnterQuiescence()
    {
        _quiescent = true;
        ReleaseIdleBuffer();
    }
}
