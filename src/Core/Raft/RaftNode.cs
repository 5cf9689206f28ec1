using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft.Log;
using RaftToolkit.Core.Raft.Messages;
using RaftToolkit.Core.Raft.Replication;
using RaftToolkit.Core.Storage;

namespace RaftToolkit.Core.Raft;

/// <summary>
/// One Raft group's consensus state machine: pure, deterministic and I/O-free. The host feeds it
/// time (<see cref="Tick"/>), messages (<see cref="Step"/>) and proposals (<see cref="Propose"/>),
/// collects its effects with <see cref="GetReady"/> and confirms them with <see cref="Advance"/>.
/// Nothing here blocks, awaits, locks or starts a thread; one instance must only be used by one
/// thread at a time.
/// </summary>
/// <remarks>
/// <para>Votes follow openraft's advanced mode: a vote names a <see cref="LeaderId"/> (term, node),
/// votes are totally ordered, a node grants a request whose vote is at least its own and whose
/// last log id is at least its own, and a leader's vote becomes committed once a quorum granted
/// it. A term may therefore see several leaders; the greatest leader id wins.</para>
/// <para>The log the node sees is the host-written part read through <see cref="IRaftLogSource"/>
/// (entries before the first unstable index) followed by the unstable entries the node holds
/// until the host confirms them durable.</para>
/// <para>A storage read error or a safety violation stops the group: <see cref="Failure"/> is set
/// and every later call throws, so a damaged node can never emit a malformed message.</para>
/// </remarks>
public sealed partial class RaftNode
{
    private static readonly RaftMessage[] NoMessages = [];

    private readonly ulong _id;
    private readonly RaftConfig _config;
    private readonly IRaftLogSource _source;

    /// <summary>The configuration in force: the last membership entry of the log (see RaftNode.Membership.cs).</summary>
    private Membership _membership;

    /// <summary>Every other member (voters and learners) in id order: who the leader replicates to. Shared with every group on the same membership instance (see <see cref="Membership.NodesOtherThan"/>): replaced, never changed.</summary>
    private ulong[] _peers;

    private RaftRole _role;

    /// <summary>The current vote; never goes backwards. <see cref="_voteDirty"/> until handed out for persistence.</summary>
    private Vote _vote;
    private bool _voteDirty;

    /// <summary>
    /// The greatest term seen in a vote request this node refused. Not persisted and not a vote:
    /// it only makes this node's next campaign outbid a candidate whose log is too stale to win,
    /// which would otherwise keep raising the term just ahead of everyone (etcd bumps its term
    /// on such requests; with openraft votes that would mean voting).
    /// </summary>
    private ulong _greatestRefusedTerm;

    private ulong _randomState;
    private int _electionElapsed;
    private int _heartbeatElapsed;
    private int _randomizedElectionTimeout;

    /// <summary>Candidate and pre-candidate only: the campaign in progress; null otherwise.</summary>
    private CampaignState? _campaign;

    /// <summary>Leader only: one entry per peer, in <see cref="_peers"/> order; null otherwise.</summary>
    private PeerProgress[]? _progress;

    /// <summary>Leader only: new entries or a new commit wait to be sent at the next <see cref="GetReady"/>.</summary>
    private bool _replicationPending;
    private bool _commitBroadcastPending;

    private LogId? _committed;
    private bool _committedDirty;
    private LogId? _applied;

    /// <summary>The next committed index to hand out for apply.</summary>
    private ulong _applyNext;

    /// <summary>Messages ready to go out at the next <see cref="GetReady"/>; allocated on demand.</summary>
    private List<RaftMessage>? _outbox;

    /// <summary>Responses waiting for state that has not been handed out for persistence yet.</summary>
    private List<RaftMessage>? _heldForNextWrite;

    /// <summary>Responses waiting for the writes of the outstanding <see cref="Ready"/>.</summary>
    private List<RaftMessage>? _heldForOutstandingWrite;

    private Ready? _outstanding;
    private bool _outstandingPersists;

    private Exception? _failure;

    /// <summary>Creates a node that restarts from <paramref name="state"/> over the log in <paramref name="log"/>.</summary>
    /// <param name="id">This node's id.</param>
    /// <param name="config">Tunables; validated here and may be shared between groups.</param>
    /// <param name="log">The host-written log.</param>
    /// <param name="membership">The configuration in force.</param>
    /// <param name="state">The persisted vote, saved committed id and last applied id.</param>
    /// <param name="electionSalt">
    /// Mixed into the election timeouts' seed (with <see cref="RaftConfig.RandomSeed"/> and the node
    /// id): a host passes the group id, so that the many groups of one node draw different timeouts.
    /// </param>
    /// <exception cref="ArgumentException">The config is invalid, or the state contradicts the log.</exception>
    /// <remarks>
    /// <paramref name="membership"/> is taken as in force and committed, with no log entry behind
    /// it. A node restarting over a log that holds membership entries is created with the
    /// <see cref="MembershipState"/> overload instead, so that a truncation of an uncommitted
    /// membership entry can put the committed one back.
    /// </remarks>
    public RaftNode(ulong id, RaftConfig config, IRaftLogSource log, Membership membership, RaftNodeState state, ulong electionSalt = 0)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(membership);
        config.Validate();
        _id = id;
        _config = config;
        _source = log;
        var last = RestoreSnapshotState(state, log.LastLogId);
        if (state.Applied is { } applied && (last is not { } lastId || applied.Index > lastId.Index))
        {
            throw new ArgumentException($"The applied id {applied} is past the last log id {(last is { } lastLog ? lastLog.ToString() : "none")}.", nameof(state));
        }

        _membership = membership;
        _peers = [];
        _vote = state.Vote;
        _randomState = config.RandomSeed ^ (id * 0x9E3779B97F4A7C15UL) ^ (electionSalt * 0xBF58476D1CE4E5B9UL) ^ 0xD1B54A32D192ED03UL;

        _lastLogId = last;
        _unstableStart = last.NextIndex();
        _handedOutEnd = _unstableStart;

        // The saved committed id may be ahead of a log that lost its unsynced tail; only what the
        // log holds can be known committed here (the leader resends the rest).
        _committed = state.Committed;
        if (_committed is { } c && (last is not { } l || c.Index > l.Index))
        {
            _committed = last;
        }

        _applied = state.Applied;
        _applyNext = _applied.NextIndex();
        ReconcileStartWithSnapshot();
        InitMembership(null, null, membership);
        _role = _membership.IsVoter(id) ? RaftRole.Follower : RaftRole.Learner;
        ResetElectionTimer();
    }

    /// <summary>This node's id.</summary>
    public ulong Id => _id;

    /// <summary>The role this node plays now.</summary>
    public RaftRole Role => _role;

    /// <summary>The current vote (possibly not yet durable).</summary>
    public Vote Vote => _vote;

    /// <summary>The node this node believes leads the group (its committed vote's node), if any.</summary>
    public ulong? LeaderHint => _vote.Committed ? _vote.NodeId : null;

    /// <summary>The id of the last entry of the log as this node sees it (durable or not).</summary>
    public LogId? LastLogId => _lastLogId;

    /// <summary>The greatest log id known committed.</summary>
    public LogId? Committed => _committed;

    /// <summary>The last log id handed out for apply and confirmed by <see cref="Advance"/>.</summary>
    public LogId? Applied => _applied;

    /// <summary>The configuration in force.</summary>
    public Membership Membership => _membership;

    /// <summary>The error that stopped this group, if any; every call but the read-only properties throws once set.</summary>
    public Exception? Failure => _failure;

    /// <summary>The randomized election timeout in force, in ticks (for tests and diagnostics).</summary>
    public int ElectionTimeout => _randomizedElectionTimeout;

    /// <summary>True when <see cref="GetReady"/> has something to hand out (always false while a Ready is outstanding).</summary>
    public bool HasReady
    {
        get
        {
            if (_outstanding is not null || _failure is not null)
            {
                return false;
            }

            return _voteDirty
                || _hasPendingTruncation
                || _lastLogId.NextIndex() > _handedOutEnd
                || _committedDirty
                || _outbox is { Count: > 0 }
                || _heldForNextWrite is { Count: > 0 }
                || (_committed is { } c && c.Index >= _applyNext && TryGetViewLogId(_applyNext, out _))
                || (_role == RaftRole.Leader && (_replicationPending || _commitBroadcastPending))
                || SnapshotWorkReady || _purgeDue || ReadWorkReady;
        }
    }

    /// <summary>Advances time by one tick: election timeouts, heartbeats and check-quorum.</summary>
    public void Tick()
    {
        ThrowIfFailed();
        if (_quiescent)
        {
            // A quiescent group costs nothing per tick (see RaftNode.Quiescence.cs).
            return;
        }

        ReleaseIdleBuffer();
        try
        {
            if (_role == RaftRole.Leader)
            {
                TickTransfer();
                TickLeader();
                if (_role == RaftRole.Leader)
                {
                    MaybeQuiesce();
                }
            }
            else
            {
                _electionElapsed++;
                if ((_role != RaftRole.Learner || IsOutgoingVoter) && _electionElapsed >= _randomizedElectionTimeout)
                {
                    StartElection();
                }
            }

            TickSnapshotAndReads();
        }
        catch (Exception e) when (e is RaftStorageException or RaftInvariantException)
        {
            _failure = e;
            throw;
        }
    }

    /// <summary>Starts an election now (with a pre-vote round first when enabled), as an election timeout would.</summary>
    /// <returns>False when this node cannot campaign: it is a learner (see <see cref="IsOutgoingVoter"/>) or already the leader.</returns>
    public bool Campaign()
    {
        ThrowIfFailed();
        if (_role == RaftRole.Leader || (_role == RaftRole.Learner && !IsOutgoingVoter))
        {
            return false;
        }

        WakeFromQuiescence();

        StartElection();
        return true;
    }

    /// <summary>
    /// Appends <paramref name="payload"/> as a normal entry when this node leads; the entry is
    /// replicated at the next <see cref="GetReady"/>. The bytes are kept as given (not copied).
    /// </summary>
    /// <returns>The entry's id, or a refusal: NotLeader with a leader hint, or TransferInProgress.</returns>
    public ProposeResult Propose(ReadOnlyMemory<byte> payload)
    {
        ThrowIfFailed();
        WakeFromQuiescence();
        if (_role != RaftRole.Leader)
        {
            return ProposeResult.NotLeader(LeaderHint);
        }

        if (_leaderChange is { Transferring: true } transfer)
        {
            return ProposeResult.TransferInProgress(transfer.TransferTarget);
        }

        var logId = new LogId(_vote.LeaderId, _lastLogId.NextIndex());
        AppendOne(Entry.Normal(logId, payload));
        _replicationPending = true;
        if (_peers.Length == 0)
        {
            // A single voter commits as soon as its own write is durable (see Advance).
            MaybeCommit();
        }

        return ProposeResult.Accepted(logId);
    }

    /// <summary>Handles one message addressed to this node.</summary>
    /// <exception cref="ArgumentException">The message is not addressed to this node, or is malformed (nothing changed).</exception>
    /// <exception cref="RaftInvariantException">The message would break a safety property; the group is stopped.</exception>
    public void Step(RaftMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        ThrowIfFailed();
        if (message.To != _id)
        {
            throw new ArgumentException($"Message for node {message.To} stepped into node {_id}.", nameof(message));
        }

        if (message is AppendEntriesRequest request)
        {
            ValidateAppendRequest(request);
        }
        else if (message is InstallSnapshotRequest snapshotRequest)
        {
            ValidateInstallSnapshotRequest(snapshotRequest);
        }

        if (_quiescent && !IsStaleAcknowledgement(message))
        {
            WakeFromQuiescence();
        }

        try
        {
            switch (message)
            {
                case VoteRequest m: HandleVoteRequest(m); break;
                case VoteResponse m: HandleVoteResponse(m); break;
                case PreVoteRequest m: HandlePreVoteRequest(m); break;
                case PreVoteResponse m: HandlePreVoteResponse(m); break;
                case AppendEntriesRequest m: HandleAppendRequest(m); break;
                case AppendEntriesResponse m: HandleAppendResponse(m); break;
                case TimeoutNowRequest m: HandleTimeoutNow(m); break;
                case QuiesceNotice m: HandleQuiesceNotice(m); break;
                case InstallSnapshotRequest m: HandleInstallSnapshotRequest(m); break;
                case InstallSnapshotResponse m: HandleInstallSnapshotResponse(m); break;
                case ReadIndexRequest m: HandleReadIndexRequest(m); break;
                case ReadIndexResponse m: HandleReadIndexResponse(m); break;
                case LeadershipConfirmRequest m: HandleLeadershipConfirmRequest(m); break;
                case LeadershipConfirmResponse m: HandleLeadershipConfirmResponse(m); break;
                default: throw new ArgumentException($"Unknown message type {message.GetType().Name}.", nameof(message));
            }
        }
        catch (Exception e) when (e is RaftStorageException or RaftInvariantException)
        {
            _failure = e;
            throw;
        }
    }

    /// <summary>The id of the entry at <paramref name="index"/> in the log as this node sees it, when available.</summary>
    public bool TryGetLogId(ulong index, out LogId logId)
    {
        ThrowIfFailed();
        return TryGetViewLogId(index, out logId);
    }

    /// <summary>A diagnostic summary: role, vote, log, commit and (when leading) each follower's replication state.</summary>
    public override string ToString()
    {
        var text = new System.Text.StringBuilder();
        text.Append("node ").Append(_id).Append(' ').Append(_role).Append(" vote ").Append(_vote)
            .Append(" last ").Append(_lastLogId?.ToString() ?? "none")
            .Append(" committed ").Append(_committed?.ToString() ?? "none")
            .Append(" unstable ").Append(_unstableStart).Append('+').Append(_unstableCount)
            .Append(" config ").Append(_membership)
            .Append(_quiescent ? " quiescent" : string.Empty);
        if (_snapshots?.Receiving is { } receiving)
        {
            text.Append(" receiving ").Append(receiving.Meta.SnapshotId).Append(' ').Append(receiving.Length).Append(" B");
        }

        if (_progress is { } progress)
        {
            foreach (var pr in progress)
            {
                text.Append(" | ").Append(pr.NodeId).Append(' ').Append(pr.State)
                    .Append(" matched ").Append(pr.Matched?.ToString() ?? "none")
                    .Append(" next ").Append(pr.NextIndex)
                    .Append(" inflight ").Append(pr.InflightCount)
                    .Append(pr.ProbeSent ? " probe-sent" : string.Empty);
            }
        }

        return text.ToString();
    }

    private void SetVote(Vote vote)
    {
        Debug.Assert(vote >= _vote, "A vote never goes backwards.");
        if (vote != _vote)
        {
            _vote = vote;
            _voteDirty = true;

            // A snapshot half received from another leadership is never completed (its chunks
            // come only from the leader that started it): its buffer, up to twice the snapshot,
            // goes now rather than wait for some later transfer to replace it.
            if (_snapshots?.Receiving is { } receiving && receiving.Vote != vote)
            {
                _snapshots.Receiving = null;
            }
        }
    }

    private void ResetElectionTimer()
    {
        _electionElapsed = 0;

        // splitmix64: a few bytes of state per node instead of a System.Random per group.
        ulong z = _randomState += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        _randomizedElectionTimeout = _config.ElectionTicks + (int)(z % (ulong)_config.ElectionTicks);
    }

    /// <summary>Queues a message that depends on nothing unwritten.</summary>
    private void Send(RaftMessage message) => (_outbox ??= []).Add(message);

    /// <summary>
    /// Queues a message that may only leave once every vote and entry this node holds now is
    /// durable: vote and append responses, and a candidate's vote requests.
    /// </summary>
    private void SendAfterPersist(RaftMessage message)
    {
        if (HasUnhandedWrites)
        {
            (_heldForNextWrite ??= []).Add(message);
        }
        else if (_outstanding is not null && _outstandingPersists)
        {
            (_heldForOutstandingWrite ??= []).Add(message);
        }
        else
        {
            Send(message);
        }
    }

    private bool HasUnhandedWrites => _voteDirty || _hasPendingTruncation || _lastLogId.NextIndex() > _handedOutEnd || InstallUnhanded;

    private void ThrowIfFailed()
    {
        if (_failure is not null)
        {
            ThrowFailed();
        }
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowFailed() =>
        throw new InvalidOperationException($"Raft node {_id} stopped after a fatal error: {_failure!.Message}", _failure);
}
