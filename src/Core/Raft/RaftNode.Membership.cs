using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft.Replication;

namespace RaftToolkit.Core.Raft;

/// <summary>
/// Membership from the log, as openraft does it: the last membership entry in the log is in
/// force as soon as it is appended, committed or not; a truncation that removes it puts the one
/// before back. Only the last two are kept: a leader proposes a new configuration only once the
/// one in force is committed, so the one before the last is always committed and can never be
/// truncated. Voter changes go through a joint configuration that the leader leaves on its own.
/// </summary>
public sealed partial class RaftNode
{
    /// <summary>
    /// The id of the entry that carried the membership in force (<see cref="_membership"/>); none
    /// for the initial membership. Kept apart from the membership, not as a
    /// <see cref="StoredMembership"/>, so that 100,000 idle groups do not each hold one.
    /// </summary>
    private LogId? _effectiveLogId;

    /// <summary>The membership before the one in force; committed (see the type remarks). Null while no entry carried one.</summary>
    private StoredMembership? _previousStored;

    /// <summary>
    /// Creates a node that restarts from <paramref name="state"/>, with the committed and effective
    /// memberships as the storage read them (<see cref="Storage.RaftInitialState.Membership"/>):
    /// the effective one is in force, the committed one is what a truncation of the effective
    /// one's entry falls back to.
    /// </summary>
    /// <param name="id">This node's id.</param>
    /// <param name="config">Tunables; validated here and may be shared between groups.</param>
    /// <param name="log">The host-written log.</param>
    /// <param name="membership">The committed membership and the effective one (the last in the log).</param>
    /// <param name="state">The persisted vote, saved committed id and last applied id.</param>
    /// <param name="electionSalt">Mixed into the election timeouts' seed: a host passes the group id.</param>
    /// <exception cref="ArgumentException">The config is invalid, or the state contradicts the log.</exception>
    public RaftNode(ulong id, RaftConfig config, Log.IRaftLogSource log, MembershipState membership, RaftNodeState state, ulong electionSalt = 0)
        : this(id, config, log, (membership ?? throw new ArgumentNullException(nameof(membership))).Effective.Membership, state, electionSalt)
    {
        InitMembership(membership.Committed, membership.Effective, membership.Effective.Membership);
        _role = _membership.IsVoter(id) ? RaftRole.Follower : RaftRole.Learner;
    }

    /// <summary>The membership in force and the id of the log entry that carried it (none for the initial one).</summary>
    public StoredMembership EffectiveMembership => new(_effectiveLogId, _membership);

    private LogId? EffectiveLogId => _effectiveLogId;

    /// <summary>The committed membership before the one in force (the initial one while no entry carried one).</summary>
    private Membership PreviousConfig => _previousStored?.Membership ?? _membership;

    /// <summary>
    /// True while a change cannot start: the membership in force is joint or not yet committed
    /// (as far as this node knows).
    /// </summary>
    public bool IsMembershipChangeInProgress =>
        _membership.IsJoint || (EffectiveLogId is { } e && (_committed is not { } c || c.Index < e.Index));

    /// <summary>
    /// True when this node is a learner in the membership in force, which is not known committed,
    /// but a voter in the committed one before it. Such a node still campaigns (counting votes
    /// by the membership in force, as every candidate does): otherwise a leader that stepped
    /// down or crashed before the new voters received the new configuration would leave a
    /// group in which the nodes holding it may not campaign and the new voters, whose logs are
    /// shorter, cannot win. Raft allows any server to campaign; only a committed learner never does.
    /// </summary>
    public bool IsOutgoingVoter =>
        _role == RaftRole.Learner
        && EffectiveLogId is { } effective
        && (_committed is not { } committed || committed.Index < effective.Index)
        && PreviousConfig.IsVoter(_id);

    /// <summary>
    /// Leader only: proposes a configuration change. A change of the voter set appends a joint
    /// configuration (old and new voters both needed for elections and commits); the leader
    /// appends the new uniform configuration by itself once the joint entry commits. A change of
    /// learners alone appends the new configuration directly.
    /// </summary>
    /// <returns>The appended entry, or a typed refusal (<see cref="MembershipChangeResult.ThrowIfRefused"/> turns it into an exception).</returns>
    public MembershipChangeResult ProposeMembershipChange(MembershipChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        ThrowIfFailed();
        WakeFromQuiescence();
        if (_role != RaftRole.Leader)
        {
            return new(MembershipChangeStatus.NotLeader, default, null, LeaderHint, "This node is not the leader.");
        }

        if (_committed is not { } committed || committed.LeaderId != _vote.LeaderId)
        {
            return new(MembershipChangeStatus.NotCommittedInTerm, default, null, null,
                "The leader has not committed an entry of its own term yet, so the committed configuration is unknown.");
        }

        if (IsMembershipChangeInProgress)
        {
            return new(MembershipChangeStatus.InProgress, default, null, null, $"A membership change is in progress: {EffectiveMembership}.");
        }

        if (IsTransferringLeadership)
        {
            return new(MembershipChangeStatus.InProgress, default, null, null, "A leadership transfer is in progress.");
        }

        if (!change.TryApply(_membership, out var target, out var error))
        {
            return new(MembershipChangeStatus.Invalid, default, null, null, error);
        }

        var current = _membership;
        Membership proposed;
        if (current.Configs[0].AsSpan().SequenceEqual(target.Configs[0].AsSpan()))
        {
            proposed = target;
            if (_leaderChange is { } leaderChange)
            {
                leaderChange.LeaveJointTarget = null;
            }
        }
        else
        {
            // The joint configuration names every node of both: the old voters keep their data.
            var nodes = new SortedDictionary<ulong, ReadOnlyMemory<byte>>();
            foreach (var (nodeId, data) in target.Nodes)
            {
                nodes[nodeId] = data;
            }

            foreach (var (nodeId, data) in current.Nodes)
            {
                if (current.IsVoter(nodeId))
                {
                    nodes.TryAdd(nodeId, data);
                }
            }

            proposed = Membership.Create([current.Configs[0], target.Configs[0]], nodes);
            LeaderChange.LeaveJointTarget = target;
        }

        var logId = new LogId(_vote.LeaderId, _lastLogId.NextIndex());
        AppendMembershipAsLeader(logId, proposed);
        return new(MembershipChangeStatus.Accepted, logId, proposed, null, null);
    }

    /// <summary>
    /// Leader only: the last log id that <paramref name="nodeId"/> (a voter or learner) is known
    /// to hold durably, so a host can tell when a learner has caught up before promoting it.
    /// </summary>
    /// <returns>False when this node does not lead or <paramref name="nodeId"/> is not a peer.</returns>
    public bool TryGetProgress(ulong nodeId, out LogId? matched)
    {
        ThrowIfFailed();
        if (_role == RaftRole.Leader && FindProgress(nodeId) is { } pr)
        {
            matched = pr.Matched;
            return true;
        }

        matched = null;
        return false;
    }

    /// <summary>Sets up the membership at start: <paramref name="effective"/> in force, <paramref name="committed"/> to fall back to (both null: <paramref name="initial"/> with no log id).</summary>
    private void InitMembership(StoredMembership? committed, StoredMembership? effective, Membership initial)
    {
        _previousStored = committed;
        _effectiveLogId = effective?.LogId;
        _membership = effective?.Membership ?? initial;
        _peers = _membership.NodesOtherThan(_id);
    }

    /// <summary>Called for every entry appended to the view: a membership entry is in force at once.</summary>
    private void OnEntriesAppended(ReadOnlySpan<Entry> entries)
    {
        Membership? effective = null;
        for (int i = 0; i < entries.Length; i++)
        {
            if (entries[i].Membership is { } membership)
            {
                _previousStored = new StoredMembership(_effectiveLogId, effective ?? _membership);
                _effectiveLogId = entries[i].LogId;
                effective = membership;
            }
        }

        if (effective is not null)
        {
            ApplyEffectiveMembership(effective);
        }
    }

    /// <summary>Called after the view was truncated from <paramref name="index"/>: a removed membership entry gives way to the one before.</summary>
    private void OnTruncatedFrom(ulong index)
    {
        if (EffectiveLogId is not { } effective || effective.Index < index)
        {
            return;
        }

        if (_previousStored?.LogId is { } previous && previous.Index >= index)
        {
            throw new RaftInvariantException(
                $"Node {_id}: a truncation from index {index} removes both membership entries {effective} and {previous}; the earlier one must have been committed.");
        }

        _effectiveLogId = _previousStored?.LogId;
        ApplyEffectiveMembership(_previousStored?.Membership ?? _membership);
    }

    /// <summary>
    /// After a snapshot was installed: when it replaced the whole log, its membership (committed)
    /// is the one in force; when the log continues it, the log's last membership entry stays in force.
    /// </summary>
    private void OnSnapshotInstalled(SnapshotMeta meta, bool logContinues)
    {
        if (logContinues && LogIds.Compare(EffectiveLogId, meta.LastMembership.LogId) >= 0)
        {
            return;
        }

        _previousStored = meta.LastMembership;
        _effectiveLogId = meta.LastMembership.LogId;
        ApplyEffectiveMembership(meta.LastMembership.Membership);
    }

    private void AppendMembershipAsLeader(LogId logId, Membership membership)
    {
        AppendOne(Entry.ForMembership(logId, membership));
        _replicationPending = true;
        if (_progress is { Length: 0 })
        {
            MaybeCommit();
        }
    }

    /// <summary>Puts <paramref name="membership"/> (carried by <see cref="_effectiveLogId"/>) in force: peers, the leader's progress, the role of a non-leader.</summary>
    private void ApplyEffectiveMembership(Membership membership)
    {
        if (ReferenceEquals(membership, _membership))
        {
            return;
        }

        _membership = membership;
        _peers = membership.NodesOtherThan(_id);
        switch (_role)
        {
            case RaftRole.Leader:
                _peers = LeaderPeers();
                RebuildProgress();
                break;
            case RaftRole.PreCandidate or RaftRole.Candidate:
                // Grants were counted against the old configuration.
                BecomeFollower();
                break;
            default:
                _campaign = null;
                var role = membership.IsVoter(_id) ? RaftRole.Follower : RaftRole.Learner;
                if (role != _role)
                {
                    _role = role;
                    ResetElectionTimer();
                }

                break;
        }
    }

    /// <summary>
    /// Leader: the nodes to replicate to. While the configuration in force is not committed, the
    /// nodes it removes are replicated to as well (never counted), as openraft does: they must
    /// receive the entry that removes them, or they would stay voters of the configuration before.
    /// </summary>
    private ulong[] LeaderPeers()
    {
        var peers = _membership.NodesOtherThan(_id);
        if (EffectiveLogId is not { } effective || (_committed is { } committed && committed.Index >= effective.Index))
        {
            return peers;
        }

        var all = new List<ulong>(peers);
        foreach (var (nodeId, _) in PreviousConfig.Nodes)
        {
            if (nodeId != _id && !_membership.Contains(nodeId))
            {
                all.Add(nodeId);
            }
        }

        if (all.Count == peers.Length)
        {
            return peers;
        }

        all.Sort();
        return [.. all];
    }

    private int OtherMembersCount() => _membership.Contains(_id) ? _membership.Nodes.Count - 1 : _membership.Nodes.Count;

    /// <summary>
    /// Leader, once a configuration commits: tells each node it removed (the leader no longer
    /// replicates to them) that the configuration is committed. A removed node that holds it
    /// then knows it is out and stays silent, instead of campaigning as an outgoing voter of a
    /// configuration it believes uncommitted (see <see cref="IsOutgoingVoter"/>).
    /// </summary>
    private void SendFarewells(LogId configuration, LogId committed)
    {
        foreach (var (nodeId, _) in PreviousConfig.Nodes)
        {
            if (nodeId != _id && !_membership.Contains(nodeId))
            {
                Send(new Messages.AppendEntriesRequest(_id, nodeId, _vote, configuration, ReadOnlyMemory<Entry>.Empty, committed));
            }
        }
    }

    /// <summary>Leader: keeps the progress of peers that stay, adds a probe for each new one.</summary>
    private void RebuildProgress()
    {
        var old = _progress!;
        var progress = new PeerProgress[_peers.Length];
        ulong next = _lastLogId.NextIndex();
        for (int i = 0; i < _peers.Length; i++)
        {
            PeerProgress? kept = null;
            foreach (var pr in old)
            {
                if (pr.NodeId == _peers[i])
                {
                    kept = pr;
                    break;
                }
            }

            progress[i] = kept ?? new PeerProgress(_peers[i], next);
        }

        _progress = progress;
    }

    /// <summary>
    /// Leader, after its commit advanced: leaves a committed joint configuration, and steps down
    /// once a committed configuration no longer counts it as a voter.
    /// </summary>
    private void OnLeaderCommitAdvanced()
    {
        if (_role != RaftRole.Leader || EffectiveLogId is not { } effective || _committed is not { } committed || committed.Index < effective.Index)
        {
            return;
        }

        if (_membership.IsJoint)
        {
            var target = _leaderChange?.LeaveJointTarget;
            if (target is null || !target.Configs[0].AsSpan().SequenceEqual(_membership.Configs[1].AsSpan()))
            {
                // The joint entry came from an earlier leader: leave to its new voter set. Whether
                // the removed voters were to stay as learners is not in the log, so they stay: a
                // learner too many is seen and removed in one change, where a node dropped against
                // the request would lose the log it was meant to keep receiving. The proposer's
                // host, if it waits for the change, reports the difference (see GroupMembership).
                target = Membership.Create([_membership.Configs[1]], _membership.Nodes);
            }

            if (_leaderChange is { } change)
            {
                change.LeaveJointTarget = null;
            }

            AppendMembershipAsLeader(new LogId(_vote.LeaderId, _lastLogId.NextIndex()), target);
            return;
        }

        // Nothing to do (and no state to allocate) when the configuration before removed nobody:
        // the same instance, or none at all as in a fresh group.
        var previous = PreviousConfig;
        if (_leaderChange?.FarewellSentFor != effective && !ReferenceEquals(previous, _membership) && previous.Nodes.Count > 0)
        {
            // The nodes this configuration removed were replicated to until now; stop, and tell them.
            LeaderChange.FarewellSentFor = effective;
            if (_peers.Length != OtherMembersCount())
            {
                _peers = _membership.NodesOtherThan(_id);
                RebuildProgress();
            }

            SendFarewells(effective, committed);
        }

        if (!_membership.IsVoter(_id))
        {
            // The configuration that removed this leader is committed: tell the remaining nodes
            // the commit, then stop leading (they elect a leader among themselves).
            _commitBroadcastPending = true;
            FlushReplication();
            BecomeFollower();
        }
    }
}
