using RaftToolkit.Core.Model;

namespace RaftToolkit.Core.Raft.Messages;

/// <summary>The kind of a <see cref="RaftMessage"/>; also its tag on the wire.</summary>
public enum RaftMessageKind : byte
{
    /// <summary><see cref="Messages.VoteRequest"/>.</summary>
    VoteRequest = 1,

    /// <summary><see cref="Messages.VoteResponse"/>.</summary>
    VoteResponse = 2,

    /// <summary><see cref="Messages.PreVoteRequest"/>.</summary>
    PreVoteRequest = 3,

    /// <summary><see cref="Messages.PreVoteResponse"/>.</summary>
    PreVoteResponse = 4,

    /// <summary><see cref="Messages.AppendEntriesRequest"/> (also the heartbeat, with no entries).</summary>
    AppendEntriesRequest = 5,

    /// <summary><see cref="Messages.AppendEntriesResponse"/>.</summary>
    AppendEntriesResponse = 6,

    /// <summary><see cref="Messages.TimeoutNowRequest"/> (leadership transfer).</summary>
    TimeoutNowRequest = 20,

    /// <summary><see cref="Messages.QuiesceNotice"/> (an idle leader goes quiet).</summary>
    QuiesceNotice = 21,

    /// <summary><see cref="Messages.InstallSnapshotRequest"/>.</summary>
    InstallSnapshotRequest = 40,

    /// <summary><see cref="Messages.InstallSnapshotResponse"/>.</summary>
    InstallSnapshotResponse = 41,

    /// <summary><see cref="Messages.ReadIndexRequest"/>.</summary>
    ReadIndexRequest = 42,

    /// <summary><see cref="Messages.ReadIndexResponse"/>.</summary>
    ReadIndexResponse = 43,

    /// <summary><see cref="Messages.LeadershipConfirmRequest"/>.</summary>
    LeadershipConfirmRequest = 44,

    /// <summary><see cref="Messages.LeadershipConfirmResponse"/>.</summary>
    LeadershipConfirmResponse = 45,
}

/// <summary>
/// A message between two nodes of one group. The group is not part of the message: the host
/// routes by group and frames the group id around it.
/// </summary>
/// <param name="From">The sending node.</param>
/// <param name="To">The receiving node.</param>
public abstract record RaftMessage(ulong From, ulong To)
{
    /// <summary>The message's kind.</summary>
    public abstract RaftMessageKind Kind { get; }
}

/// <summary>A candidate asks for a vote (Raft §5.2, §5.4.1).</summary>
/// <param name="From">The candidate.</param>
/// <param name="To">The voter asked.</param>
/// <param name="Vote">The vote asked for: (term, candidate), uncommitted.</param>
/// <param name="LastLogId">The candidate's last log id; a voter refuses a less up-to-date log.</param>
/// <param name="LeadershipTransfer">The candidate campaigns because the leader handed it leadership: voters grant despite their leader lease.</param>
public sealed record VoteRequest(ulong From, ulong To, Vote Vote, LogId? LastLogId, bool LeadershipTransfer = false) : RaftMessage(From, To)
{
    /// <inheritdoc />
    public override RaftMessageKind Kind => RaftMessageKind.VoteRequest;
}

/// <summary>A voter's answer to a <see cref="VoteRequest"/>, sent only once the voter's vote is durable.</summary>
/// <param name="From">The voter.</param>
/// <param name="To">The candidate.</param>
/// <param name="Vote">The voter's vote after handling the request (the request's vote when granted).</param>
/// <param name="Granted">True when the vote was granted.</param>
/// <param name="LastLogId">The voter's last log id.</param>
public sealed record VoteResponse(ulong From, ulong To, Vote Vote, bool Granted, LogId? LastLogId) : RaftMessage(From, To)
{
    /// <inheritdoc />
    public override RaftMessageKind Kind => RaftMessageKind.VoteResponse;
}

/// <summary>
/// A pre-candidate asks whether a vote would be granted (Raft thesis §9.6). Changes no state at
/// the receiver, so a node that cannot win never raises anyone's term.
/// </summary>
/// <param name="From">The pre-candidate.</param>
/// <param name="To">The voter asked.</param>
/// <param name="ProposedVote">The vote the pre-candidate would ask for: (its term + 1, itself).</param>
/// <param name="LastLogId">The pre-candidate's last log id.</param>
public sealed record PreVoteRequest(ulong From, ulong To, Vote ProposedVote, LogId? LastLogId) : RaftMessage(From, To)
{
    /// <inheritdoc />
    public override RaftMessageKind Kind => RaftMessageKind.PreVoteRequest;
}

/// <summary>The answer to a <see cref="PreVoteRequest"/>.</summary>
/// <param name="From">The voter.</param>
/// <param name="To">The pre-candidate.</param>
/// <param name="ProposedVote">The proposed vote being answered (so stale answers are recognised).</param>
/// <param name="Granted">True when the voter would grant the vote.</param>
/// <param name="CurrentVote">The voter's own vote.</param>
public sealed record PreVoteResponse(ulong From, ulong To, Vote ProposedVote, bool Granted, Vote CurrentVote) : RaftMessage(From, To)
{
    /// <inheritdoc />
    public override RaftMessageKind Kind => RaftMessageKind.PreVoteResponse;
}

/// <summary>
/// The leader replicates entries after <see cref="PrevLogId"/> (Raft §5.3). With no entries it
/// is the heartbeat.
/// </summary>
/// <param name="From">The leader.</param>
/// <param name="To">The follower.</param>
/// <param name="Vote">The leader's committed vote.</param>
/// <param name="PrevLogId">The id of the entry just before <see cref="Entries"/>; none means "from the start of the log".</param>
/// <param name="Entries">The entries to append, contiguous, following <see cref="PrevLogId"/>.</param>
/// <param name="LeaderCommit">The leader's committed log id.</param>
public sealed record AppendEntriesRequest(ulong From, ulong To, Vote Vote, LogId? PrevLogId, ReadOnlyMemory<Entry> Entries, LogId? LeaderCommit)
    : RaftMessage(From, To)
{
    /// <inheritdoc />
    public override RaftMessageKind Kind => RaftMessageKind.AppendEntriesRequest;

    /// <summary>The id of the last entry carried, or <see cref="PrevLogId"/> when there are none.</summary>
    public LogId? LastLogId => Entries.IsEmpty ? PrevLogId : Entries.Span[^1].LogId;
}

/// <summary>How a follower answered an <see cref="AppendEntriesRequest"/>.</summary>
public enum AppendEntriesOutcome : byte
{
    /// <summary>The log matched and the entries are durable; <see cref="AppendEntriesResponse.Matched"/> says up to where.</summary>
    Success = 0,

    /// <summary>The entry at the request's previous index is missing or differs; a hint says where to retry.</summary>
    Conflict = 1,

    /// <summary>The follower holds a greater vote than the request's; the sender is no longer leader.</summary>
    HigherVote = 2,
}

/// <summary>A follower's answer to an <see cref="AppendEntriesRequest"/>, sent only once what it acknowledges is durable.</summary>
/// <param name="From">The follower.</param>
/// <param name="To">The leader.</param>
/// <param name="Vote">The follower's vote.</param>
/// <param name="Outcome">Success, conflict or a higher vote.</param>
/// <param name="Matched">Success: the last log id the follower now holds in agreement with the leader.</param>
/// <param name="RejectedPrevIndex">Conflict: the previous index of the rejected request (lets the leader drop stale rejections).</param>
/// <param name="ConflictHint">
/// Conflict: the follower's log id at the greatest index not after the rejected one whose leader id
/// is not greater than the rejected previous id's; none means "retry from the start". The leader
/// backs off in one step to the last entry of its own log that can match it.
/// </param>
public sealed record AppendEntriesResponse(ulong From, ulong To, Vote Vote, AppendEntriesOutcome Outcome, LogId? Matched, ulong RejectedPrevIndex, LogId? ConflictHint)
    : RaftMessage(From, To)
{
    /// <inheritdoc />
    public override RaftMessageKind Kind => RaftMessageKind.AppendEntriesResponse;
}
