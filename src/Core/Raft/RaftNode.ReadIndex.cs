using RaftToolkit.Core.Raft.Messages;

namespace RaftToolkit.Core.Raft;

/// <summary>
/// ReadIndex reads (Raft thesis §6.4): the leader takes its commit index as the read index,
/// confirms with a quorum round that it still leads, and hands the index out; the host serves
/// the read once its state machine has applied that far. Followers forward reads to the leader.
/// </summary>
public sealed partial class RaftNode
{
    /// <summary>Read state, allocated on the first read: a group that never serves one pays a single reference.</summary>
    private ReadQueue? _reads;

    private ReadQueue Reads => _reads ??= new ReadQueue();

    /// <summary>A read gets no answer after this many ticks.</summary>
    private int ReadTimeoutTicks => 2 * _config.ElectionTicks;

    /// <summary>
    /// Asks for a linearizable read index. On the leader it is confirmed by a quorum round; on a
    /// follower or learner that knows the leader it is forwarded there. The outcome arrives in
    /// <see cref="Ready.ReadStates"/> under <paramref name="requestId"/>: confirmed with an index
    /// (serve the read once applied reaches it), or failed (typed) when the leader steps down,
    /// refuses, or nothing answers within two election timeouts.
    /// </summary>
    /// <param name="requestId">
    /// The caller's id for this read; echoed in the outcome. A forwarded read is matched to the
    /// leader's answer by this id alone, so it must not repeat one a node of this group used
    /// before, in this process or an earlier one: an answer to a read of the node's previous
    /// life may still be on its way, and would be taken for this read's.
    /// </param>
    /// <returns><see cref="ReadIndexStatus.Pending"/> when accepted; <see cref="ReadIndexStatus.NotLeader"/> when no leader is known.</returns>
    public ReadIndexStatus ReadIndex(ulong requestId)
    {
        ThrowIfFailed();
        WakeFromQuiescence();
        if (_role == RaftRole.Leader)
        {
            AddLeaderRead(_id, requestId);
            return ReadIndexStatus.Pending;
        }

        if (LeaderHint is { } leader && leader != _id)
        {
            (Reads.Forwarded ??= []).Add(new PendingRead(requestId, leader));
            Send(new ReadIndexRequest(_id, leader, requestId));
            return ReadIndexStatus.Pending;
        }

        return ReadIndexStatus.NotLeader;
    }

    /// <summary>True when this leadership has committed an entry of its own, so its commit index is at least every earlier leader's.</summary>
    private bool CommittedInOwnTerm => _committed is { } c && c.LeaderId == _vote.LeaderId;

    private bool ReadWorkReady =>
        _reads is { } reads && (reads.States is { Count: > 0 } || (reads.RoundDue && _role == RaftRole.Leader && CommittedInOwnTerm));

    private void FillReadStates(Ready ready)
    {
        if (_reads is not null && Reads.States is { Count: > 0 } states)
        {
            ready.ReadStates = states;
            Reads.States = null;
        }
    }

    private void AddLeaderRead(ulong origin, ulong requestId)
    {
        (Reads.Pending ??= []).Add(new PendingRead(requestId, origin));
        Reads.RoundDue = true;
    }

    /// <summary>Leader, at a Ready: gives every read without a round the commit index and a new round, and asks the voters.</summary>
    private void FlushReadRound()
    {
        if (_reads is null || !Reads.RoundDue || _role != RaftRole.Leader || !CommittedInOwnTerm || Reads.Pending is not { } reads)
        {
            return;
        }

        Reads.RoundDue = false;
        ulong round = ++Reads.Round;
        ulong index = _committed!.Value.Index;
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(reads);
        for (int i = 0; i < span.Length; i++)
        {
            if (span[i].Round == 0)
            {
                span[i].Round = round;
                span[i].Index = index;
            }
        }

        SendConfirmRequests(round);
        ConfirmReads();
    }

    private void SendConfirmRequests(ulong round)
    {
        foreach (var pr in _progress!)
        {
            if (pr.ReadAckedRound < round && _membership.IsVoter(pr.NodeId))
            {
                Send(new LeadershipConfirmRequest(_id, pr.NodeId, _vote, round));
            }
        }
    }

    /// <summary>Completes, oldest first, every read whose round a quorum (this leader included) has confirmed.</summary>
    private void ConfirmReads()
    {
        if (_reads is null || Reads.Pending is not { Count: > 0 } reads)
        {
            return;
        }

        var progress = _progress!;
        Span<ulong> confirmed = progress.Length < 32 ? stackalloc ulong[progress.Length + 1] : new ulong[progress.Length + 1];
        int done = 0;
        for (; done < reads.Count; done++)
        {
            var read = reads[done];
            if (read.Round == 0)
            {
                break;
            }

            int count = 0;
            confirmed[count++] = _id;
            foreach (var pr in progress)
            {
                if (pr.ReadAckedRound >= read.Round)
                {
                    confirmed[count++] = pr.NodeId;
                }
            }

            if (!_membership.IsQuorum(confirmed[..count]))
            {
                break;
            }

            CompleteRead(read, ReadIndexStatus.Confirmed, read.Index);
        }

        reads.RemoveRange(0, done);
    }

    private void CompleteRead(in PendingRead read, ReadIndexStatus status, ulong index)
    {
        if (read.Node == _id)
        {
            (Reads.States ??= []).Add(new ReadState(read.RequestId, status, index));
        }
        else
        {
            Send(new ReadIndexResponse(_id, read.Node, read.RequestId, status, index));
        }
    }

    /// <summary>On stepping down: no pending read of this leadership may ever be confirmed.</summary>
    private void FailLeaderReads()
    {
        if (_reads is null)
        {
            return;
        }

        Reads.RoundDue = false;
        if (Reads.Pending is not { Count: > 0 } reads)
        {
            return;
        }

        foreach (var read in reads)
        {
            CompleteRead(read, ReadIndexStatus.LeadershipLost, 0);
        }

        reads.Clear();
    }

    /// <summary>Per tick: ages reads, fails the overdue ones, and (leader, on a heartbeat) asks again for unconfirmed rounds.</summary>
    private void TickReads(bool heartbeat)
    {
        if (_reads is null)
        {
            return;
        }

        if (Reads.Pending is { Count: > 0 } reads)
        {
            AgeAndExpire(reads);
            if (heartbeat && _role == RaftRole.Leader && reads.Count > 0 && reads[^1].Round != 0)
            {
                SendConfirmRequests(Reads.Round);
            }
        }

        if (Reads.Forwarded is { Count: > 0 } forwarded)
        {
            AgeAndExpire(forwarded);
        }
    }

    private void AgeAndExpire(List<PendingRead> reads)
    {
        int limit = ReadTimeoutTicks;
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(reads);
        int expired = 0;
        for (int i = 0; i < span.Length; i++)
        {
            if (++span[i].Age > limit)
            {
                expired++;
            }
        }

        if (expired == 0)
        {
            return;
        }

        for (int i = reads.Count - 1; i >= 0; i--)
        {
            if (reads[i].Age > limit)
            {
                var read = reads[i];
                reads.RemoveAt(i);
                (Reads.States ??= []).Add(new ReadState(read.RequestId, ReadIndexStatus.TimedOut, 0));
            }
        }
    }

    private void HandleReadIndexRequest(ReadIndexRequest request)
    {
        if (_role == RaftRole.Leader)
        {
            AddLeaderRead(request.From, request.RequestId);
        }
        else
        {
            Send(new ReadIndexResponse(_id, request.From, request.RequestId, ReadIndexStatus.NotLeader, 0));
        }
    }

    private void HandleReadIndexResponse(ReadIndexResponse response)
    {
        if (_reads is null || Reads.Forwarded is not { } forwarded)
        {
            return;
        }

        for (int i = 0; i < forwarded.Count; i++)
        {
            if (forwarded[i].RequestId == response.RequestId && forwarded[i].Node == response.From)
            {
                forwarded.RemoveAt(i);
                (Reads.States ??= []).Add(new ReadState(response.RequestId, response.Status, response.Status == ReadIndexStatus.Confirmed ? response.Index : 0));
                return;
            }
        }
    }

    private void HandleLeadershipConfirmRequest(LeadershipConfirmRequest request)
    {
        if (request.Vote >= _vote)
        {
            FollowLeader(request.Vote);
        }

        // The answer affirms the vote it carries, so it waits until that vote is durable.
        SendAfterPersist(new LeadershipConfirmResponse(_id, request.From, _vote, request.Round));
    }

    private void HandleLeadershipConfirmResponse(LeadershipConfirmResponse response)
    {
        if (AcceptLeaderResponse(response.Vote, response.From) is not { } pr)
        {
            return;
        }

        if (response.Round > pr.ReadAckedRound)
        {
            pr.ReadAckedRound = response.Round;
            ConfirmReads();
        }
    }

    /// <summary>The reads of one node: pending, forwarded, and outcomes to hand out.</summary>
    private sealed class ReadQueue
    {
        /// <summary>Leader only: reads waiting for the quorum round of <see cref="PendingRead.Round"/> (0: no round yet), oldest first.</summary>
        public List<PendingRead>? Pending;

        /// <summary>Leader only: a read waits for a round (sent at the next Ready once an entry of this term is committed).</summary>
        public bool RoundDue;

        /// <summary>The last read round started; only grows, so rounds never repeat under one vote.</summary>
        public ulong Round;

        /// <summary>Reads this node forwarded to the leader, waiting for its answer.</summary>
        public List<PendingRead>? Forwarded;

        /// <summary>Outcomes to hand out with the next Ready.</summary>
        public List<ReadState>? States;
    }

    /// <summary>A read waiting for confirmation (leader) or for the leader's answer (forwarded).</summary>
    private struct PendingRead(ulong requestId, ulong node)
    {
        public readonly ulong RequestId = requestId;

        /// <summary>Leader: the node the read came from (this one or a forwarding follower). Forwarded: the leader asked.</summary>
        public readonly ulong Node = node;

        public ulong Round;
        public ulong Index;
        public int Age;
    }
}
