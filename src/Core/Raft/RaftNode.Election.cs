using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft.Messages;
using RaftToolkit.Core.Raft.Replication;

namespace RaftToolkit.Core.Raft;

/// <summary>Roles and elections: pre-vote, vote, role changes.</summary>
public sealed partial class RaftNode
{
    private void StartElection()
    {
        ResetElectionTimer();
        _campaignForTransfer = false;
        if (_config.PreVote)
        {
            BecomePreCandidate();
        }
        else
        {
            BecomeCandidate();
        }
    }

    private ulong NextCampaignTerm => Math.Max(_vote.Term, _greatestRefusedTerm) + 1;

    private void BecomePreCandidate()
    {
        _role = RaftRole.PreCandidate;
        _progress = null;
        var campaign = ResetGrants();
        campaign.ProposedVote = new Vote(NextCampaignTerm, _id);
        if (AddGrant(_id))
        {
            BecomeCandidate();
            return;
        }

        foreach (var peer in _peers)
        {
            if (_membership.IsVoter(peer))
            {
                Send(new PreVoteRequest(_id, peer, campaign.ProposedVote, _lastLogId));
            }
        }
    }

    private void BecomeCandidate()
    {
        _campaignsUntaken++;
        _role = RaftRole.Candidate;
        _progress = null;
        SetVote(new Vote(NextCampaignTerm, _id));
        ResetGrants();
        if (AddGrant(_id))
        {
            // Elected by its own vote alone (a single voter): it may lead, and tell learners so,
            // only once that vote is durable, or a crash could let it win the same leader id
            // again with other entries (see Advance).
            _electedOnceVoteDurable = true;
            return;
        }

        // The candidate counts its own vote at once, so the requests must not leave before that
        // vote is durable: a crash would otherwise let it vote again in the same term.
        foreach (var peer in _peers)
        {
            if (_membership.IsVoter(peer))
            {
                SendAfterPersist(new VoteRequest(_id, peer, _vote, _lastLogId, _campaignForTransfer));
            }
        }
    }

    /// <summary>Elections this node started since the host last took the count (see <see cref="TakeCampaigns"/>).</summary>
    private int _campaignsUntaken;

    /// <summary>How many elections this node started since the last call (a host's metric).</summary>
    internal int TakeCampaigns()
    {
        int campaigns = _campaignsUntaken;
        _campaignsUntaken = 0;
        return campaigns;
    }

    /// <summary>Candidate only: its own vote is a quorum; it becomes leader when <see cref="Advance"/> confirms that vote durable.</summary>
    private bool _electedOnceVoteDurable;

    private void BecomeLeader()
    {
        _electedOnceVoteDurable = false;
        _role = RaftRole.Leader;
        _peers = LeaderPeers();
        _leaderChange = null;
        _campaign = null;
        SetVote(_vote.Commit());
        _heartbeatElapsed = 0;
        _electionElapsed = 0;
        ulong blankIndex = _lastLogId.NextIndex();
        var progress = new PeerProgress[_peers.Length];
        for (int i = 0; i < _peers.Length; i++)
        {
            progress[i] = new PeerProgress(_peers[i], blankIndex);
        }

        _progress = progress;

        // A new leader commits an entry of its own before anything of earlier leaders can be
        // known committed (Raft §5.4.2): the blank entry.
        // Followers start in probe from the blank entry; one round trip finds each one's position.
        AppendOne(Entry.Blank(new LogId(_vote.LeaderId, blankIndex)));

        _replicationPending = true;
        if (_peers.Length == 0)
        {
            MaybeCommit();
        }
    }

    private void BecomeFollower()
    {
        FailLeaderReads();
        _role = _membership.IsVoter(_id) ? RaftRole.Follower : RaftRole.Learner;
        _electedOnceVoteDurable = false;
        _progress = null;
        _campaign = null;
        _replicationPending = false;
        _commitBroadcastPending = false;
        ResetElectionTimer();
    }

    private CampaignState ResetGrants()
    {
        var campaign = _campaign ??= new CampaignState(_peers.Length + 1);
        campaign.GrantedCount = 0;
        return campaign;
    }

    /// <summary>Records a grant; returns true when the granted set is a quorum.</summary>
    private bool AddGrant(ulong nodeId)
    {
        var campaign = _campaign!;
        var granted = campaign.Granted;
        for (int i = 0; i < campaign.GrantedCount; i++)
        {
            if (granted[i] == nodeId)
            {
                return _membership.IsQuorum(granted.AsSpan(0, campaign.GrantedCount));
            }
        }

        if (campaign.GrantedCount < granted.Length)
        {
            granted[campaign.GrantedCount++] = nodeId;
        }

        return _membership.IsQuorum(granted.AsSpan(0, campaign.GrantedCount));
    }

    /// <summary>
    /// True while this node must not help elect anyone else: it leads (with check-quorum it
    /// learns of losing its quorum itself), or it heard from a leader within an election timeout.
    /// A pre-candidate has given up on its leader (etcd clears the leader on becoming one): its
    /// own campaign restarted the timer, which must not read as a live leader.
    /// </summary>
    private bool InLeaderLease() =>
        _role == RaftRole.Leader
        || (_role != RaftRole.PreCandidate && _vote.Committed && _vote.NodeId != _id && _electionElapsed < _config.ElectionTicks);

    private void HandleVoteRequest(VoteRequest request)
    {
        bool granted = false;
        bool sameCandidate = request.Vote.LeaderId == _vote.LeaderId;

        // A learner answers too: it may be a voter in a configuration it has not received yet
        // (a joint one naming it), and without its vote that configuration could never elect
        // the leader that would send it. The candidate counts only the voters of its own
        // configuration, so a learner's grant never counts where it is not a voter.
        if ((!_config.CheckQuorum || sameCandidate || request.LeadershipTransfer || !InLeaderLease())
            && LogIds.Compare(request.LastLogId, _lastLogId) >= 0
            && request.Vote >= _vote)
        {
            granted = true;
            if (request.Vote != _vote)
            {
                SetVote(request.Vote);
                if (_role != RaftRole.Follower)
                {
                    BecomeFollower();
                }
            }

            // Granting a vote resets the timer, so the voter gives the candidate time to win.
            ResetElectionTimer();
        }
        else if (request.Vote.Term > _greatestRefusedTerm)
        {
            _greatestRefusedTerm = request.Vote.Term;
        }

        SendAfterPersist(new VoteResponse(_id, request.From, _vote, granted, _lastLogId));
    }

    private void HandleVoteResponse(VoteResponse response)
    {
        if (response.Vote > _vote)
        {
            if (!response.Vote.Committed && LogIds.Compare(response.LastLogId, _lastLogId) < 0 && response.Vote.Term >= _greatestRefusedTerm)
            {
                // A candidate with a staler log outbid this one by node id alone, and it may not
                // even ask this node for votes (another configuration), so the next campaign
                // would only tie with its next one and lose again: outbid it by two terms.
                _greatestRefusedTerm = response.Vote.Term + 1;
            }

            // Someone holds a greater vote: whatever this node was doing is superseded.
            SetVote(response.Vote);
            if (_role != RaftRole.Follower && _role != RaftRole.Learner)
            {
                BecomeFollower();
            }

            return;
        }

        if (_role == RaftRole.Candidate && response.Granted && response.Vote == _vote && AddGrant(response.From))
        {
            BecomeLeader();
        }
    }

    private void HandlePreVoteRequest(PreVoteRequest request)
    {
        // A pre-vote changes nothing here, so the answer depends on nothing unwritten. It is
        // refused while a leader is known to be alive (thesis §9.6): a node that only lost touch
        // with the leader cannot disrupt it.
        bool granted = !InLeaderLease()
            && LogIds.Compare(request.LastLogId, _lastLogId) >= 0
            && request.ProposedVote >= _vote;
        Send(new PreVoteResponse(_id, request.From, request.ProposedVote, granted, _vote));
    }

    private void HandlePreVoteResponse(PreVoteResponse response)
    {
        if (_role != RaftRole.PreCandidate || response.ProposedVote != _campaign!.ProposedVote)
        {
            return;
        }

        if (response.Granted)
        {
            if (AddGrant(response.From))
            {
                BecomeCandidate();
            }
        }
        else if (response.CurrentVote.Committed && response.CurrentVote > _vote)
        {
            // A leader with a greater vote exists: follow it rather than keep asking.
            SetVote(response.CurrentVote);
            BecomeFollower();
        }
        else if (response.CurrentVote > _campaign.ProposedVote && response.CurrentVote.Term > _greatestRefusedTerm)
        {
            // The voter holds a greater uncommitted vote (a candidate that lost): the next
            // campaign must outbid it, or a node with the longest log may propose a vote every
            // voter of a failed candidate refuses, forever.
            _greatestRefusedTerm = response.CurrentVote.Term;
        }
    }

    /// <summary>
    /// A campaign's state, allocated when it starts and dropped when it ends: most groups are
    /// not campaigning, and each of them pays one reference for it.
    /// </summary>
    private sealed class CampaignState(int voters)
    {
        /// <summary>The voters that granted, the first <see cref="GrantedCount"/> of them.</summary>
        public ulong[] Granted { get; } = new ulong[voters];

        public int GrantedCount;

        /// <summary>Pre-candidate only: the vote it asks others whether they would grant.</summary>
        public Vote ProposedVote;
    }
}
