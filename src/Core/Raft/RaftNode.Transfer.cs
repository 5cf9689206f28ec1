using RaftToolkit.Core.Model;
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
    /// <summary>
    /// Leader only, allocated on first use: a transfer or a membership change in flight. Kept
    /// apart so an idle group (most of 100,000) pays one reference for it.
    /// </summary>
    private LeaderChangeState? _leaderChange;

    /// <summary>This candidate campaigns because its leader handed it leadership.</summary>
    private bool _campaignForTransfer;

    /// <summary>True while this leader hands its leadership to <see cref="TransferTarget"/>.</summary>
    public bool IsTransferringLeadership => _leaderChange is { Transferring: true } && _role == RaftRole.Leader;

    /// <summary>The node leadership is being handed to, while <see cref="IsTransferringLeadership"/>.</summary>
    public ulong? TransferTarget => IsTransferringLeadership ? _leaderChange!.TransferTarget : null;

    private LeaderChangeState LeaderChange => _leaderChange ??= new LeaderChangeState();

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

        var change = LeaderChange;
        if (change.Transferring)
        {
            return TransferLeadershipResult.InProgress;
        }

        change.Transferring = true;
        change.TransferTarget = nodeId;
        change.TransferElapsed = 0;
        change.TimeoutNowSent = false;
        SendAppends(pr, carryCommit: false);
        MaybeSendTimeoutNow(pr);
        return TransferLeadershipResult.Started;
    }

    /// <summary>Leader: once the transfer target holds the whole log, tells it to campaign.</summary>
    private void MaybeSendTimeoutNow(PeerProgress pr)
    {
        if (_leaderChange is { Transferring: true, TimeoutNowSent: false } change && pr.NodeId == change.TransferTarget && pr.Matched == _lastLogId)
        {
            change.TimeoutNowSent = true;
            Send(new TimeoutNowRequest(_id, pr.NodeId, _vote));
        }
    }

    /// <summary>Leader, once per tick: abandons a transfer that did not complete within an election timeout.</summary>
    private void TickTransfer()
    {
        if (_leaderChange is { Transferring: true } change && ++change.TransferElapsed >= _config.ElectionTicks)
        {
            change.Transferring = false;
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

    /// <summary>A leader's transfer and membership-change bookkeeping.</summary>
    private sealed class LeaderChangeState
    {
        /// <summary>The node leadership is being handed to, while <see cref="Transferring"/>.</summary>
        public ulong TransferTarget;
        public bool Transferring;
        public bool TimeoutNowSent;
        public int TransferElapsed;

        /// <summary>The uniform configuration to move to once the joint one this leader proposed commits.</summary>
        public Membership? LeaveJointTarget;

        /// <summary>The configuration whose removed nodes were last told that it committed.</summary>
        public LogId? FarewellSentFor;
    }
}
