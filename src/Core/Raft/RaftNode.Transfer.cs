using RaftToolkit.Core.Raft.Messages;
using RaftToolkit.Core.Raft.Replication;

namespace RaftToolkit.Core.Raft;

/// <summary>
/// Leadership transfer (Raft thesis §3.10): the leader stops taking proposals, catches the
/// target up, then tells it to campaign at once. The target skips pre-vote, and its vote
/// requests carry a flag that lets voters grant despite their leader lease. A transfer that has
/// not completed within one election timeout is abandoned and proposals are accepted again.
/// </summary>
public sealed partial class RaftNode
{
    /// <summary>Leader only: the node leadership is being handed to, while <see cref="_transferring"/>.</summary>
    private ulong _transferTarget;
    private bool _transferring;
    private bool _timeoutNowSent;
    private int _transferElapsed;

    /// <summary>This candidate campaigns because its leader handed it leadership.</summary>
    private bool _campaignForTransfer;

    /// <summary>True while this leader hands its leadership to <see cref="TransferTarget"/>.</summary>
    public bool IsTransferringLeadership => _transferring && _role == RaftRole.Leader;

    /// <summary>The node leadership is being handed to, while <see cref="IsTransferringLeadership"/>.</summary>
    public ulong? TransferTarget => IsTransferringLeadership ? _transferTarget : null;

    /// <summary>
    /// Leader only: hands leadership to the voter <paramref name="nodeId"/>. Until it completes or
    /// times out (one election timeout), <see cref="Propose"/> refuses with
    /// <see cref="ProposeStatus.TransferInProgress"/>.
    /// </summary>
    public TransferLeadershipResult TransferLeadership(ulong nodeId)
    {
        ThrowIfFailed();
        WakeFromQuiescence();
        if (_role != RaftRole.Leader)
        {
            return TransferLeadershipResult.NotLeader;
        }

        if (nodeId == _id)
        {
            return TransferLeadershipResult.TargetIsLeader;
        }

        if (!_membership.IsVoter(nodeId) || FindProgress(nodeId) is not { } pr)
        {
            return TransferLeadershipResult.TargetNotVoter;
        }

        if (_transferring)
        {
            return TransferLeadershipResult.InProgress;
        }

        _transferring = true;
        _transferTarget = nodeId;
        _transferElapsed = 0;
        _timeoutNowSent = false;
        SendAppends(pr, carryCommit: false);
        MaybeSendTimeoutNow(pr);
        return TransferLeadershipResult.Started;
    }

    /// <summary>Leader: once the transfer target holds the whole log, tells it to campaign.</summary>
    private void MaybeSendTimeoutNow(PeerProgress pr)
    {
        if (_transferring && !_timeoutNowSent && pr.NodeId == _transferTarget && pr.Matched == _lastLogId)
        {
            _timeoutNowSent = true;
            Send(new TimeoutNowRequest(_id, pr.NodeId, _vote));
        }
    }

    /// <summary>Leader, once per tick: abandons a transfer that did not complete within an election timeout.</summary>
    private void TickTransfer()
    {
        if (_transferring && ++_transferElapsed >= _config.ElectionTicks)
        {
            _transferring = false;
        }
    }

    private void HandleTimeoutNow(TimeoutNowRequest request)
    {
        // Only the leader this node follows can hand it leadership; a stale request is ignored.
        if (request.Vote != _vote || !_vote.Committed || _role != RaftRole.Follower)
        {
            return;
        }

        ResetElectionTimer();
        _campaignForTransfer = true;
        BecomeCandidate();
    }
}
