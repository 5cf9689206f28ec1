using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using RaftToolkit.Core.Lifecycle;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Raft.Messages;
using RaftToolkit.Core.Storage;
using RaftToolkit.Core.Transport;

namespace RaftToolkit.Core.Host;

/// <summary>The worker loop: the host's round.</summary>
public sealed partial class MultiRaftHost<TNode, TData, TResponse, TSnapshot>
{
    private sealed partial class Worker
    {
        private readonly MultiRaftHost<TNode, TData, TResponse, TSnapshot> _host;
        private readonly ConcurrentQueue<WorkItem> _inbox = new();
        private readonly SemaphoreSlim _wake = new(0);

        /// <summary>1 while a wake-up is pending, so producers release the semaphore once per wait, not once per item.</summary>
        private int _signaled;

        private readonly Dictionary<ulong, HostedGroup<TResponse, TSnapshot>> _byId = [];

        /// <summary>Every group of this worker, for the tick; removal swaps the last one in.</summary>
        private readonly List<HostedGroup<TResponse, TSnapshot>> _all = [];

        /// <summary>Groups that are not quiescent: the only ones the tick visits (see <see cref="TickAll"/>).</summary>
        private readonly List<HostedGroup<TResponse, TSnapshot>> _ticking = [];

        /// <summary>Groups with work since the last round: the only ones a round visits.</summary>
        private List<HostedGroup<TResponse, TSnapshot>> _active = [];
        private List<HostedGroup<TResponse, TSnapshot>> _round = [];

        /// <summary>The most groups a round visited since the last tick: the room the round's lists need (see <see cref="TrimBuffers"/>).</summary>
        private int _roundPeak;

        /// <summary>Groups whose Ready this round took.</summary>
        private readonly List<HostedGroup<TResponse, TSnapshot>> _readied = [];

        /// <summary>Groups with leadership subscribers (checked after every round).</summary>
        private readonly List<HostedGroup<TResponse, TSnapshot>> _watched = [];

        /// <summary>This round's applies that did not end when started, and their groups, index by index (see <see cref="ApplyAllAsync"/>).</summary>
        private readonly List<Task> _slowApplies = [];
        private readonly List<HostedGroup<TResponse, TSnapshot>> _slowGroups = [];

        /// <summary>Applies that outlasted their round, by group (see <see cref="Park"/>).</summary>
        private readonly Dictionary<HostedGroup<TResponse, TSnapshot>, ParkedApply> _parked = [];

        /// <summary>Parked applies that ended since the last round: their groups finish with this round's.</summary>
        private readonly List<(HostedGroup<TResponse, TSnapshot> Group, Task Apply)> _unparked = [];

        /// <summary>Groups that missed log entries this round and need a load from the store.</summary>
        private readonly List<HostedGroup<TResponse, TSnapshot>> _missed = [];

        /// <summary>One batch per destination node, built during a round and handed to the transport.</summary>
        private readonly Dictionary<ulong, List<GroupMessage>> _outbound = [];

        /// <summary>Groups whose Ready installs a snapshot: their writes join the batch only once the state machine holds it.</summary>
        private readonly List<HostedGroup<TResponse, TSnapshot>> _installs = [];

        private readonly LogWriteBatch _batch = new();

        /// <summary>Votes and truncations to make durable before this round's snapshot installs (see <see cref="Ready.TruncationBeforeInstall"/>).</summary>
        private readonly LogWriteBatch _beforeInstall = new();
        private long _seenTick;

        /// <summary>
        /// Request ids of this worker's ReadIndex reads. They start at a random point, not at 0:
        /// a follower matches the leader's answer to a forwarded read by its id alone, and an
        /// answer to a read this node forwarded before a restart may arrive after it. Numbered
        /// from 1 again, the restarted node would take that answer, an index from before writes
        /// acknowledged since, for its own new read of the same number.
        /// </summary>
        private ulong _nextReadId = (ulong)Random.Shared.NextInt64();

        /// <summary>1 once the worker stopped: control items are answered at once, groups are refused.</summary>
        private int _closed;

        /// <summary>
        /// The host's tick when the round in progress began, or <see cref="NotInRound"/> while the
        /// worker waits for work. Written only here, once at each end of a round; read by the
        /// timer's peer check, which stops pinging while a round lasts too long (see <see cref="MultiRaftHost{TNode, TData, TResponse, TSnapshot}.StuckWorker"/>).
        /// </summary>
        private long _roundStartTick = NotInRound;

        /// <summary>True while the host withholds its pings: every group here, a new one too, holds quiescence off (see <see cref="HoldQuiescence"/>).</summary>
        private bool _quiescenceHeld;

        private bool Closed => Volatile.Read(ref _closed) != 0;

        /// <summary>The tick the round in progress began at; <see cref="NotInRound"/> between rounds. Any thread.</summary>
        public long RoundStartTick => Volatile.Read(ref _roundStartTick);

        public Worker(MultiRaftHost<TNode, TData, TResponse, TSnapshot> host)
        {
            _host = host;
        }

        private ulong NodeId => _host.NodeId;

        public void Enqueue(in WorkItem item)
        {
            _inbox.Enqueue(item);
            if (Closed)
            {
                // The loop is gone: answer (fail) the item here so no caller waits forever.
                DrainClosed(_host._fatal);
                return;
            }

            Signal();
        }

        public void Signal()
        {
            if (Interlocked.Exchange(ref _signaled, 1) == 0)
            {
                _wake.Release();
            }
        }

        public async Task RunAsync()
        {
            Exception? fatal = null;
            try
            {
                while (!_host.IsStopping)
                {
                    if (_active.Count == 0 && _inbox.IsEmpty && Volatile.Read(ref _host._tickSequence) == _seenTick)
                    {
                        await _wake.WaitAsync().ConfigureAwait(false);

                        // Reset only after taking the permit: an item queued from here on
                        // releases a new one, and everything queued before is drained below.
                        Volatile.Write(ref _signaled, 0);
                        continue;
                    }

                    // Two stores a round (plain ones on x64), no allocation, no lock: the timer reads
                    // them to tell a worker stuck in a round (a store write that does not return,
                    // or a state machine blocking its thread) from one that is busy or idle. A round that throws leaves
                    // its stamp, but then the host is stopping and pings no more anyway.
                    Volatile.Write(ref _roundStartTick, Volatile.Read(ref _host._tickSequence));
                    await RoundAsync().ConfigureAwait(false);
                    Volatile.Write(ref _roundStartTick, NotInRound);
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                fatal = e;
                _host.OnFatal(e);
            }
            finally
            {
                await WaitForParkedAppliesAsync().ConfigureAwait(false);
                ShutDownAll(fatal ?? _host._fatal);
            }
        }

        private async Task RoundAsync()
        {
            DrainInbox();
            long tick = Volatile.Read(ref _host._tickSequence);
            if (tick != _seenTick)
            {
                // One tick per round even if several periods passed: under overload time slows
                // down rather than firing a burst of elections.
                _seenTick = tick;
                TickAll();
                TrimBuffers();
            }

            if (_active.Count == 0)
            {
                // A role can change without producing a Ready (a leader stepping down on
                // check-quorum), so streams are checked on quiet rounds too.
                PublishLeadership();
                return;
            }

            (_round, _active) = (_active, _round);
            _roundPeak = Math.Max(_roundPeak, _round.Count);
            Collect();
            SendOutbound();
            if (_installs.Count > 0)
            {
                await InstallSnapshotsAsync().ConfigureAwait(false);
            }

            if (!_batch.IsEmpty)
            {
                try
                {
                    await WriteAsync(_batch).ConfigureAwait(false);
                }
                finally
                {
                    _batch.Clear();
                }
            }

            await ApplyAndAdvanceAsync().ConfigureAwait(false);
            PublishLeadership();
            foreach (var group in _readied)
            {
                if (!group.ApplyParked)
                {
                    group.CompleteRound();
                }
            }

            if (_missed.Count > 0)
            {
                await LoadMissedAsync().ConfigureAwait(false);
            }

            Interlocked.Increment(ref _host.Statistics.RoundsValue);
            HostMetrics.Rounds.Add(1, _host._nodeTag);
            HostMetrics.GroupsPerRound.Record(_readied.Count, _host._nodeTag);
            _readied.Clear();
            _round.Clear();
        }

        /// <summary>
        /// Persists <paramref name="batch"/>. A store validates a batch whole and writes nothing when
        /// one operation is refused; a refusal that names a group (its log order broken, or the
        /// group removed from the store behind the host's back) stops that group, not the host, and
        /// the batch is written again without it. Any other error (an I/O error) is fatal.
        /// </summary>
        private async Task WriteAsync(LogWriteBatch batch)
        {
            while (true)
            {
                try
                {
                    await _host._store.WriteAsync(batch).ConfigureAwait(false);
                    Interlocked.Increment(ref _host.Statistics.StoreWritesValue);
                    Interlocked.Add(ref _host.Statistics.EntriesWrittenValue, batch.EntryCount);
                    return;
                }
                catch (RaftStorageException refused) when (RefusedGroup(refused) is { } group)
                {
                    if (batch.RemoveGroup(group.GroupId) == 0)
                    {
                        // Named, but not written by this batch: not that group's doing.
                        throw;
                    }

                    FailGroup(group, refused);
                    if (batch.IsEmpty)
                    {
                        return;
                    }
                }
            }
        }

        /// <summary>The running group of this worker a store refusal names, if any.</summary>
        private HostedGroup<TResponse, TSnapshot>? RefusedGroup(RaftStorageException refused)
        {
            ulong? groupId = refused switch
            {
                LogOrderException order => order.GroupId,
                UnknownGroupException unknown => unknown.GroupId,
                _ => null,
            };
            return groupId is { } id && TryGetRunning(id, out var group) ? group : null;
        }

        private void DrainInbox()
        {
            // Bounded so that a flood of proposals cannot starve the rest of the round.
            int budget = Math.Max(1024, _inbox.Count);
            while (budget-- > 0 && _inbox.TryDequeue(out var item))
            {
                if (item.Messages is { } messages)
                {
                    StepMessages(messages);
                }
                else if (item.Responder is { } responder)
                {
                    Propose(item.GroupId, item.Payload, responder);
                }
                else if (item.Read is { } read)
                {
                    ReadIndex(item.GroupId, read);
                }
                else
                {
                    item.Control!(this);
                }
            }
        }

        private void StepMessages(List<GroupMessage> messages)
        {
            foreach (var message in messages)
            {
                if (!TryGetRunning(message.GroupId, out var group))
                {
                    // A group not (or no longer) here: its peers retry, so dropping is safe.
                    continue;
                }

                try
                {
                    group.Node.Step(message.Message);
                }
                catch (ArgumentException e)
                {
                    _host._logger.LogWarning(e, "Node {NodeId} group {GroupId}: dropped a malformed message from node {From}.", NodeId, message.GroupId, message.Message.From);
                    continue;
                }
                catch (Exception e) when (IsGroupFault(e))
                {
                    FailGroup(group, e);
                    continue;
                }

                MarkActive(group);
            }
        }

        private void Propose(ulong groupId, ReadOnlyMemory<byte> payload, IResponder<TResponse> responder)
        {
            if (!TryGetRunning(groupId, out var group))
            {
                responder.Fail(new GroupNotHostedException(groupId, NodeId));
                return;
            }

            ProposeResult result;
            try
            {
                result = group.Node.Propose(payload);
            }
            catch (Exception e) when (IsGroupFault(e))
            {
                responder.Fail(new ProposalDroppedException(groupId, ProposalDropReason.GroupStopped, e));
                FailGroup(group, e);
                return;
            }

            // Refused or not, the call woke a quiescent node: back on the tick with it.
            MarkActive(group);
            if (!result.IsAccepted)
            {
                responder.Fail(new NotLeaderException(groupId, NodeId, result.LeaderHint));
                return;
            }

            (group.Pending ??= new Queue<PendingProposal<TResponse>>()).Enqueue(new PendingProposal<TResponse>(result.LogId, responder));
            Interlocked.Increment(ref _host.Statistics.ProposalsValue);
            HostMetrics.Proposals.Add(1, _host._nodeTag);
        }

        private void TickAll()
        {
            // Only groups that are not quiescent tick: with quiescence on, 100,000 idle groups
            // cost nothing per tick. A quiescent group leaves the list here and comes back
            // through MarkActive when a message, proposal or call reaches it.
            var ticking = _ticking;
            long ticked = 0;
            for (int i = 0; i < ticking.Count; i++)
            {
                var group = ticking[i];
                if (group.Stopped)
                {
                    StopTickingAt(i--);
                    continue;
                }

                if (group.Node.IsQuiescent)
                {
                    StopTickingAt(i--);
                    group.ReleaseIdle();
                    continue;
                }

                ticked++;
                try
                {
                    group.Node.Tick();
                }
                catch (Exception e) when (IsGroupFault(e))
                {
                    FailGroup(group, e);
                    StopTickingAt(i--);
                    continue;
                }

                if (group.Node.HasReady)
                {
                    MarkActive(group);
                }
            }

            Interlocked.Add(ref _host.Statistics.TickedGroupsValue, ticked);
        }

        /// <summary>Puts a group back on the tick (it left it while quiescent).</summary>
        private void StartTicking(HostedGroup<TResponse, TSnapshot> group)
        {
            group.Ticking = true;
            _ticking.Add(group);
        }

        /// <summary>Takes the group at <paramref name="index"/> off the tick (the last one takes its place).</summary>
        private void StopTickingAt(int index)
        {
            var ticking = _ticking;
            ticking[index].Ticking = false;
            ticking[index] = ticking[^1];
            ticking.RemoveAt(ticking.Count - 1);
        }

        /// <summary>
        /// Once per tick: gives back the room that the rounds since the last tick did not use in
        /// the round's buffers. A burst (every group electing at once) grows them to the number of
        /// groups; a steady load keeps what it needs, and groups that went idle do not pin the
        /// burst's buffers for ever.
        /// </summary>
        private void TrimBuffers()
        {
            _batch.TrimExcess();
            int peak = _roundPeak;
            _roundPeak = 0;
            TrimList(_active, peak);
            TrimList(_round, peak);
            TrimList(_readied, peak);
            TrimList(_ticking, 0);
        }

        /// <summary>Shrinks <paramref name="list"/> to twice what it needs (<paramref name="peak"/> or its count) when that is under a quarter of its room.</summary>
        private static void TrimList(List<HostedGroup<TResponse, TSnapshot>> list, int peak)
        {
            int needed = Math.Max(peak, list.Count);
            if (list.Capacity > 64 && needed < list.Capacity / 4)
            {
                list.Capacity = Math.Max(16, needed * 2);
            }
        }

        /// <summary>
        /// Puts the group in this round and, if its node is awake, on the tick. Called after every
        /// call into the node, whatever it answered: a call wakes a quiescent node even when it
        /// refuses (a proposal to a follower), and an awake node off the tick would never count
        /// the silence of a leader that died.
        /// </summary>
        private void MarkActive(HostedGroup<TResponse, TSnapshot> group)
        {
            if (!group.Ticking && !group.Node.IsQuiescent)
            {
                StartTicking(group);
            }

            if (!group.Active)
            {
                group.Active = true;
                _active.Add(group);
            }
        }

        /// <summary>Takes every active group's Ready: writes into the batch, messages into per-peer batches.</summary>
        private void Collect()
        {
            foreach (var group in _round)
            {
                group.Active = false;
                if (group.Stopped || !group.Node.HasReady)
                {
                    continue;
                }

                Ready ready;
                try
                {
                    ready = group.Node.GetReady();
                }
                catch (Exception e) when (IsGroupFault(e))
                {
                    FailGroup(group, e);
                    continue;
                }

                group.Ready = ready;
                _readied.Add(group);
                ulong id = group.GroupId;
                if (ready.SnapshotToInstall is { LastLogId: { } covered } && group.Pending is { Count: > 0 } waiting)
                {
                    // Their entries are never applied here (the snapshot replaces them), so no response can come.
                    while (waiting.Count > 0 && waiting.Peek().LogId.Index <= covered.Index)
                    {
                        waiting.Dequeue().Responder.Fail(new ProposalDroppedException(id, ProposalDropReason.CoveredBySnapshot));
                    }
                }

                if (group.Pending is { Count: > 0 } && (ready.HasTruncation || group.Node.Role != RaftRole.Leader))
                {
                    DropProposalsNoLongerInTheLog(group);
                }

                if (ready.ReadStates.Count > 0)
                {
                    TakeReadStates(group, ready.ReadStates);
                }

                if (ready.SnapshotToInstall is not null)
                {
                    // The state machine must hold the snapshot before the log behind it is purged
                    // (a crash in between would lose entries): written after the install.
                    _installs.Add(group);
                }
                else
                {
                    AddWrites(id, ready);
                }

                var messages = ready.Messages;
                for (int i = 0; i < messages.Count; i++)
                {
                    var message = messages[i];
                    if (!_outbound.TryGetValue(message.To, out var list))
                    {
                        list = [];
                        _outbound[message.To] = list;
                    }

                    list.Add(new GroupMessage(id, message));
                }
            }
        }

        /// <summary>Adds a Ready's writes to the round's batch, in the order the core requires: vote, truncation, purge, entries, committed.</summary>
        private void AddWrites(ulong id, Ready ready)
        {
            if (ready.Vote is { } vote)
            {
                _batch.SaveVote(id, vote);
            }

            if (ready.HasTruncation)
            {
                _batch.TruncateAfter(id, ready.TruncateAfter);
            }

            if (ready.PurgeUpTo is { } purge)
            {
                _batch.Purge(id, purge);
            }

            _batch.Append(id, ready.Entries);
            if (ready.Committed is { } committed)
            {
                _batch.SaveCommitted(id, committed);
            }
        }

        /// <summary>
        /// Writes the installing groups' votes and contradicted log tails, installs the snapshots
        /// this round's Readys carry into their state machines, then adds those Readys' writes
        /// (the purge behind the snapshot among them) to the batch. A state machine that cannot
        /// install stops its group, and its writes are left out.
        /// </summary>
        private async Task InstallSnapshotsAsync()
        {
            // The vote, and a log tail that contradicts its snapshot, go first, durably, for every
            // installing group in one write (the order Ready documents; see TruncationBeforeInstall).
            foreach (var group in _installs)
            {
                if (group.Stopped || group.Ready is not { } ready)
                {
                    continue;
                }

                if (ready.Vote is { } vote)
                {
                    _beforeInstall.SaveVote(group.GroupId, vote);
                }

                if (ready.TruncationBeforeInstall is { } truncation)
                {
                    _beforeInstall.TruncateAfter(group.GroupId, truncation.After);
                }
            }

            if (!_beforeInstall.IsEmpty)
            {
                try
                {
                    await WriteAsync(_beforeInstall).ConfigureAwait(false);
                }
                finally
                {
                    _beforeInstall.Clear();
                }
            }

            foreach (var group in _installs)
            {
                if (group.Stopped || group.Ready is not { SnapshotToInstall: { } meta } ready)
                {
                    continue;
                }

                try
                {
                    var data = _host.Types.DecodeSnapshot(ready.SnapshotData.Span);
                    await group.StateMachine.InstallSnapshotAsync(meta, data).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    FailGroup(group, e);
                    continue;
                }

                Interlocked.Increment(ref _host.Statistics.SnapshotsInstalledValue);
                AddWrites(group.GroupId, ready);
            }

            _installs.Clear();
        }

        /// <summary>
        /// Takes the outcomes of ReadIndex reads: a confirmed one waits for apply to reach its
        /// index (served after this round's apply at the earliest), a failed one fails typed.
        /// </summary>
        private void TakeReadStates(HostedGroup<TResponse, TSnapshot> group, IReadOnlyList<ReadState> states)
        {
            if (group.Reads is not { } reads)
            {
                return;
            }

            for (int i = 0; i < states.Count; i++)
            {
                var state = states[i];
                if (!reads.Remove(state.RequestId, out var done))
                {
                    continue;
                }

                switch (state.Status)
                {
                    case ReadIndexStatus.Confirmed:
                        (group.ConfirmedReads ??= []).Add(new ConfirmedRead(state.Index, done));
                        break;
                    case ReadIndexStatus.NotLeader:
                        done.TrySetException(new NotLeaderException(group.GroupId, NodeId, LeaderHintOf(group.Node)));
                        break;
                    default:
                        done.TrySetException(new ReadIndexException(group.GroupId, NodeId, state.Status, LeaderHintOf(group.Node)));
                        break;
                }
            }
        }

        /// <summary>Serves every confirmed read whose index the state machine has applied.</summary>
        private void ServeAppliedReads(HostedGroup<TResponse, TSnapshot> group)
        {
            if (group.ConfirmedReads is not { Count: > 0 } confirmed || group.Node.Applied is not { } applied)
            {
                return;
            }

            int kept = 0;
            for (int i = 0; i < confirmed.Count; i++)
            {
                var read = confirmed[i];
                if (read.Index <= applied.Index)
                {
                    read.Done.TrySetResult(read.Index);
                    Interlocked.Increment(ref _host.Statistics.ReadsServedValue);
                }
                else
                {
                    confirmed[kept++] = read;
                }
            }

            confirmed.RemoveRange(kept, confirmed.Count - kept);
        }

        private ulong? LeaderHintOf(RaftNode node) => node.LeaderHint is { } hint && hint != NodeId ? hint : null;

        /// <summary>Builds a snapshot of the group's state machine as the node asked, and hands it to the node (which then purges the log behind it).</summary>
        private async Task BuildSnapshotAsync(HostedGroup<TResponse, TSnapshot> group)
        {
            try
            {
                var snapshot = await group.StateMachine.BuildSnapshotAsync(force: true).ConfigureAwait(false);
                if (snapshot is null)
                {
                    // The node waits for this snapshot before it asks for another, so without one
                    // the log would never be purged again: the state machine broke its contract.
                    throw new InvalidOperationException($"The state machine of group {group.GroupId} built no snapshot, though one was forced.");
                }

                if (snapshot.Meta.LastLogId is null)
                {
                    // Nothing applied yet: nothing to snapshot.
                    return;
                }

                byte[] data = _host.Types.EncodeSnapshot(snapshot.Data);
                if (group.Node.SnapshotBuilt(snapshot.Meta, data))
                {
                    Interlocked.Increment(ref _host.Statistics.SnapshotsBuiltValue);
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A state machine that cannot snapshot (or reports one that does not match the
                // log) cannot be trusted to go on.
                FailGroup(group, e);
            }
        }

        /// <summary>
        /// Fails the proposals whose entries left this node's log (a new leader's entries replaced
        /// them): they can never commit. Without this a proposal made just before losing the
        /// leadership would wait until some later entry commits at its index, which in an idle
        /// group is never. Entries still in the log stay pending: the new leader may commit them.
        /// </summary>
        private static void DropProposalsNoLongerInTheLog(HostedGroup<TResponse, TSnapshot> group)
        {
            var pending = group.Pending!;
            int count = pending.Count;
            for (int i = 0; i < count; i++)
            {
                var proposal = pending.Dequeue();
                if (group.Node.TryGetLogId(proposal.LogId.Index, out var inLog) && inLog == proposal.LogId)
                {
                    pending.Enqueue(proposal);
                }
                else
                {
                    proposal.Responder.Fail(new ProposalDroppedException(group.GroupId, ProposalDropReason.Superseded));
                }
            }
        }

        /// <summary>
        /// Sends this round's messages, one batch per peer. They go out before the round's write:
        /// a Ready's messages never depend on its own writes (the node holds back acknowledgements
        /// until Advance), so the leader's followers start their fsync while the leader does its own.
        /// </summary>
        private void SendOutbound()
        {
            if (_outbound.Count == 0)
            {
                return;
            }

            long batches = 0;
            long messages = 0;
            foreach (var (to, list) in _outbound)
            {
                if (list.Count == 0)
                {
                    continue;
                }

                batches++;
                messages += list.Count;
                _host.SendingTo(to);
                try
                {
                    _host._transport.Send(to, list);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // A batch that cannot be delivered is dropped, as the transport contract
                    // says: Raft resends what matters. One unreachable peer must not stop the
                    // host, nor a transport disposed by a stopping host fault a clean stop.
                    if (!_host.IsStopping)
                    {
                        _host._logger.LogWarning(e, "Node {NodeId}: sending {Messages} messages to node {Peer} failed; they are dropped.", NodeId, list.Count, to);
                    }
                }
            }

            // The transport owns the lists now; a fresh map entry per peer next round.
            _outbound.Clear();
            Interlocked.Add(ref _host.Statistics.BatchesSentValue, batches);
            Interlocked.Add(ref _host.Statistics.MessagesSentValue, messages);
        }

        private async Task ApplyAndAdvanceAsync()
        {
            await ApplyAllAsync().ConfigureAwait(false);
            if (_unparked.Count > 0)
            {
                FinishUnparked();
            }

            foreach (var group in _readied)
            {
                // A group whose apply failed was stopped by ApplyAllAsync; a parked one keeps its Ready.
                if (group.Stopped || group.ApplyParked || group.Ready is not { } ready)
                {
                    continue;
                }

                group.Ready = null;
                try
                {
                    group.Node.Advance(ready);
                }
                catch (Exception e) when (IsGroupFault(e) || e is ArgumentException)
                {
                    FailGroup(group, e);
                    continue;
                }

                if (ready.SnapshotRequested)
                {
                    await BuildSnapshotAsync(group).ConfigureAwait(false);
                    if (group.Stopped)
                    {
                        continue;
                    }
                }

                ServeAppliedReads(group);
                var node = group.Node;
                group.Cache.Trim(node.Applied.NextIndex(), _host._options.RetainedAppliedEntries);
                // Counted by the node: a single voter becomes candidate and leader within one
                // round, and a candidate whose election timed out campaigns again, neither of
                // which a change of role seen here between rounds shows.
                if (node.TakeCampaigns() is int campaigns and > 0)
                {
                    Interlocked.Add(ref _host.Statistics.ElectionsValue, campaigns);
                    HostMetrics.Elections.Add(campaigns, _host._nodeTag);
                }

                if (group.Cache.HasMiss)
                {
                    _missed.Add(group);
                }

                if (node.HasReady)
                {
                    MarkActive(group);
                }
            }
        }

        /// <summary>
        /// Applies the committed entries of every group readied this round: starts every state
        /// machine's apply first, then waits for them, so that state machines that await their own
        /// I/O (a database, a file) overlap it and the round lasts as long as its slowest apply,
        /// not the sum of them. It waits at most a tick: an apply still running then is parked
        /// (<see cref="Park"/>), and holds only its own group. Each state machine still applies its
        /// own entries in order, one call at a time; different groups' state machines already run
        /// at once on different workers. A group whose apply throws stops; the others go on.
        /// </summary>
        private async ValueTask ApplyAllAsync()
        {
            long started = Stopwatch.GetTimestamp();
            long applied = 0;
            foreach (var group in _readied)
            {
                if (group.Stopped || group.Ready is not { } ready)
                {
                    continue;
                }

                group.Cache.OnWritten(ready.HasTruncation, ready.TruncateAfter, ready.PurgeUpTo, ready.Entries.Span);
                if (!ready.CommittedEntries.IsEmpty)
                {
                    // Runs the state machine up to its first wait; one that does not wait is done here.
                    var apply = ApplyAsync(group, ready.CommittedEntries);
                    if (apply.IsCompleted)
                    {
                        applied += Finish(group, ErrorOf(apply));
                    }
                    else
                    {
                        _slowGroups.Add(group);
                        _slowApplies.Add(apply.AsTask());
                    }
                }
            }

            if (_slowApplies.Count > 0)
            {
                try
                {
                    await Task.WhenAll(_slowApplies).WaitAsync(_host._options.TickInterval).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // A tick passed, or an apply threw: each apply's outcome is read below.
                }

                for (int i = 0; i < _slowApplies.Count; i++)
                {
                    var apply = _slowApplies[i];
                    if (apply.IsCompleted)
                    {
                        applied += Finish(_slowGroups[i], ErrorOf(new ValueTask(apply)));
                    }
                    else
                    {
                        Park(_slowGroups[i], apply);
                    }
                }

                _slowGroups.Clear();
                _slowApplies.Clear();
            }

            RecordApplied(applied, started);
        }

        /// <summary>
        /// Takes the groups whose parked apply ended since the last round into this round's, to be
        /// advanced with them (they were not collected: their Ready was outstanding).
        /// </summary>
        private void FinishUnparked()
        {
            long applied = 0;
            foreach (var (group, apply) in _unparked)
            {
                if (group.Stopped)
                {
                    continue;
                }

                _readied.Add(group);
                applied += Finish(group, ErrorOf(new ValueTask(apply)));
            }

            _unparked.Clear();
            RecordApplied(applied, started: null);
        }

        /// <summary>The error a completed apply ended with, or null; reads (and so consumes) its result.</summary>
        private static Exception? ErrorOf(ValueTask completed)
        {
            try
            {
                completed.GetAwaiter().GetResult();
                return null;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                return e;
            }
        }

        /// <summary>Ends <paramref name="group"/>'s apply: counts its entries, or stops the group on the state machine's <paramref name="error"/>.</summary>
        private long Finish(HostedGroup<TResponse, TSnapshot> group, Exception? error)
        {
            if (error is not null)
            {
                // The state machine cannot go on from here: stop the group, not the host.
                FailGroup(group, error);
                return 0;
            }

            return group.Ready!.CommittedEntries.Length;
        }

        /// <summary>Counts <paramref name="applied"/> entries and, when this round applied any itself (from <paramref name="started"/>), how long that took.</summary>
        private void RecordApplied(long applied, long? started)
        {
            if (applied > 0)
            {
                Interlocked.Add(ref _host.Statistics.CommitsValue, applied);
                HostMetrics.Commits.Add(applied, _host._nodeTag);
                if (started is { } since)
                {
                    HostMetrics.ApplyLatency.Record(Stopwatch.GetElapsedTime(since).TotalMilliseconds, _host._nodeTag);
                }
            }
        }

        /// <summary>
        /// Lets the round go on without <paramref name="group"/>, whose state machine is still
        /// applying a tick after its round started it. A state machine slower than that would
        /// otherwise hold every group of this worker: no heartbeat, proposal or commit for any of
        /// them, and their followers elsewhere electing new leaders for all. Parked, the group
        /// keeps its Ready outstanding, which is what the node expects of a write or apply in
        /// progress: its messages and ticks are still taken, and nothing more is handed out (a
        /// leader sends no heartbeat meanwhile, so a group parked for an election timeout fails
        /// over, as a group on a stalled host would). When the apply ends, the worker finishes the
        /// group in its next round (<see cref="Unpark"/>). Removing the group, or stopping the
        /// host, waits for the apply: no state machine is called after either has completed. A
        /// group that fails meanwhile keeps its id taken until the apply ends (<see cref="FailGroup"/>).
        /// </summary>
        private void Park(HostedGroup<TResponse, TSnapshot> group, Task apply)
        {
            group.ApplyParked = true;
            _parked[group] = new ParkedApply(apply);
            Interlocked.Increment(ref _host.Statistics.AppliesParkedValue);
            HostMetrics.AppliesParked.Add(1, _host._nodeTag);
            _host._logger.LogDebug("Node {NodeId} group {GroupId}: its state machine is still applying a tick after its round began; the round goes on without the group.", NodeId, group.GroupId);
            apply.ContinueWith(
                static (ended, state) =>
                {
                    var (worker, group) = ((Worker, HostedGroup<TResponse, TSnapshot>))state!;
                    worker.Enqueue(WorkItem.ForControl(group.GroupId, w => w.Unpark(group, ended)));
                },
                (this, group),
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }

        /// <summary>
        /// A parked apply ended: the group finishes with the next round's groups, or, if it stopped
        /// meanwhile, the removals that waited for the apply complete.
        /// </summary>
        private void Unpark(HostedGroup<TResponse, TSnapshot> group, Task apply)
        {
            if (Closed || !_parked.Remove(group, out var parked))
            {
                // The host stopped, and waited for the apply before it did (see WaitForParkedAppliesAsync).
                return;
            }

            group.ApplyParked = false;
            EndParked(group.GroupId, parked);
            if (group.Stopped)
            {
                // Observed, so that a state machine's error in a stopped group does not go unnoticed as unobserved.
                _ = apply.Exception;
                return;
            }

            _unparked.Add((group, apply));
            MarkActive(group);
        }

        /// <summary>Waits for every parked apply before the worker stops: no state machine is called once its host stopped.</summary>
        private async Task WaitForParkedAppliesAsync()
        {
            foreach (var (group, parked) in _parked)
            {
                try
                {
                    await parked.Apply.ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // The group stops with the host anyway.
                }

                EndParked(group.GroupId, parked);
            }

            _parked.Clear();
        }

        /// <summary>
        /// A parked apply of <paramref name="groupId"/> ended: the removals that waited for it
        /// complete, and if the group failed meanwhile, its id is free again.
        /// </summary>
        private void EndParked(ulong groupId, ParkedApply parked)
        {
            parked.CompleteRemovals();
            if (parked.FreeIdWhenEnded)
            {
                _host._groups.TryRemove(groupId, out _);
            }
        }

        private async ValueTask ApplyAsync(HostedGroup<TResponse, TSnapshot> group, ReadOnlyMemory<Entry> committed)
        {
            int count = committed.Length;
            var items = ArrayPool<ApplyItem<TResponse>>.Shared.Rent(count);
            try
            {
                MatchProposals(group, committed.Span, items);
                await group.StateMachine.ApplyAsync(items.AsMemory(0, count)).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // The group stops, but these proposals already left its pending queue, which is
                // what stopping fails: fail them here, or their proposers wait forever. A
                // responder the state machine answered before it threw ignores the call.
                var dropped = new ProposalDroppedException(group.GroupId, ProposalDropReason.GroupStopped, e);
                foreach (var item in items.AsSpan(0, count))
                {
                    item.Responder?.Fail(dropped);
                }

                throw;
            }
            finally
            {
                items.AsSpan(0, count).Clear();
                ArrayPool<ApplyItem<TResponse>>.Shared.Return(items);
            }
        }

        /// <summary>Pairs each committed entry with the proposal waiting for it, failing proposals whose place another leader's entry took.</summary>
        private static void MatchProposals(HostedGroup<TResponse, TSnapshot> group, ReadOnlySpan<Entry> entries, ApplyItem<TResponse>[] items)
        {
            var pending = group.Pending;
            for (int i = 0; i < entries.Length; i++)
            {
                IResponder<TResponse>? responder = null;
                if (pending is not null)
                {
                    // Proposals are queued in log order; one at or before this index either is
                    // this entry or lost its place to another leader's entry.
                    while (pending.Count > 0 && pending.Peek().LogId.Index <= entries[i].Index)
                    {
                        var proposal = pending.Dequeue();
                        if (proposal.LogId == entries[i].LogId)
                        {
                            responder = proposal.Responder;
                        }
                        else
                        {
                            proposal.Responder.Fail(new ProposalDroppedException(group.GroupId, ProposalDropReason.Superseded));
                        }
                    }
                }

                items[i] = new ApplyItem<TResponse>(entries[i], responder);
            }
        }

        /// <summary>Loads the entries a leader missed (a follower far behind) so its next try finds them.</summary>
        private async Task LoadMissedAsync()
        {
            foreach (var group in _missed)
            {
                if (group.Stopped)
                {
                    continue;
                }

                if (!group.Cache.TakeMiss(_host._options.BackfillEntries, out ulong from, out ulong end))
                {
                    continue;
                }

                IReadOnlyList<Entry> entries;
                try
                {
                    entries = await group.Log.TryGetLogEntriesAsync(from, end).ConfigureAwait(false);
                }
                catch (RaftStorageException e) when (e is not (StoreClosedException or StoreFailedException))
                {
                    // A bad record (corruption) is this group's problem; a closed or failed
                    // store is everyone's and stops the host (rethrown as is).
                    FailGroup(group, e);
                    continue;
                }

                group.Cache.SetBackfill(entries);
                Interlocked.Increment(ref _host.Statistics.BackfillLoadsValue);
            }

            _missed.Clear();
        }

        private void PublishLeadership()
        {
            foreach (var group in _watched)
            {
                PublishIfChanged(group);
            }
        }

        /// <summary>Tells the group's subscribers its leadership state if its class changed since they were last told.</summary>
        private static void PublishIfChanged(HostedGroup<TResponse, TSnapshot> group)
        {
            var role = LeadershipState.ClassOf(group.Node.Role);
            if (role == group.PublishedClass)
            {
                return;
            }

            group.PublishedClass = role;
            var state = LeadershipState.Of(group.Node);
            foreach (var writer in group.Subscribers!)
            {
                writer.TryWrite(state);
            }
        }

        public void Add(HostedGroup<TResponse, TSnapshot> group, TaskCompletionSource<bool> done)
        {
            if (Closed)
            {
                done.TrySetException(new ObjectDisposedException(nameof(MultiRaftHost), $"Node {NodeId}'s host is stopped."));
                return;
            }

            if (_byId.ContainsKey(group.GroupId))
            {
                done.TrySetException(new BootstrapException(BootstrapErrorKind.AlreadyHosted, group.GroupId, $"the group already runs on node {NodeId}."));
                return;
            }

            _byId.Add(group.GroupId, group);
            group.Slot = _all.Count;
            _all.Add(group);
            if (_quiescenceHeld)
            {
                group.Node.HoldQuiescence(true);
            }

            StartTicking(group);
            if (group.Node.HasReady)
            {
                MarkActive(group);
            }

            done.TrySetResult(true);
        }

        public void Remove(ulong groupId, TaskCompletionSource<bool> done)
        {
            if (!_byId.TryGetValue(groupId, out var group))
            {
                done.TrySetException(new GroupNotHostedException(groupId, NodeId));
                return;
            }

            StopGroup(group, new ProposalDroppedException(groupId, ProposalDropReason.GroupStopped));
            if (_parked.TryGetValue(group, out var parked))
            {
                // Removed once its state machine is no longer applying (see Unpark).
                parked.Waiting(done);
                return;
            }

            done.TrySetResult(true);
        }

        public void Campaign(ulong groupId, TaskCompletionSource<bool> done)
        {
            if (TryCallNode(groupId, static node => node.Campaign(), done, out bool started))
            {
                done.TrySetResult(started);
            }
        }

        /// <summary>
        /// Runs a caller's <paramref name="call"/> on the group's node. A group not running here
        /// fails <paramref name="done"/> with <see cref="GroupNotHostedException"/>; a fault stops
        /// the group (only the group) and fails it with <see cref="ProposalDroppedException"/>.
        /// Otherwise the group is marked active, whatever the node answered, and true returned.
        /// </summary>
        private bool TryCallNode<T, TDone>(ulong groupId, Func<RaftNode, T> call, TaskCompletionSource<TDone> done, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out T result)
        {
            result = default;
            if (!TryGetRunning(groupId, out var group))
            {
                done.TrySetException(new GroupNotHostedException(groupId, NodeId));
                return false;
            }

            try
            {
                result = call(group.Node);
            }
            catch (Exception e) when (IsGroupFault(e))
            {
                done.TrySetException(new ProposalDroppedException(groupId, ProposalDropReason.GroupStopped, e));
                FailGroup(group, e);
                return false;
            }

            MarkActive(group);
            return true;
        }

        /// <summary>Starts a ReadIndex read of the group; <paramref name="done"/> completes with the read index once it is confirmed and applied here.</summary>
        public void ReadIndex(ulong groupId, TaskCompletionSource<ulong> done)
        {
            if (!TryGetRunning(groupId, out var group))
            {
                done.TrySetException(new GroupNotHostedException(groupId, NodeId));
                return;
            }

            ulong requestId = ++_nextReadId;
            ReadIndexStatus status;
            try
            {
                status = group.Node.ReadIndex(requestId);
            }
            catch (Exception e) when (IsGroupFault(e))
            {
                done.TrySetException(new GroupNotHostedException(groupId, NodeId));
                FailGroup(group, e);
                return;
            }

            MarkActive(group);
            if (status == ReadIndexStatus.NotLeader)
            {
                done.TrySetException(new NotLeaderException(groupId, NodeId, LeaderHintOf(group.Node)));
                return;
            }

            (group.Reads ??= []).Add(requestId, done);
        }

        public void Subscribe(ulong groupId, ChannelWriter<LeadershipState> writer, TaskCompletionSource<bool> done)
        {
            if (!TryGetRunning(groupId, out var group))
            {
                done.TrySetException(new GroupNotHostedException(groupId, NodeId));
                return;
            }

            if (group.Subscribers is null)
            {
                group.Subscribers = [];
                group.WatchSlot = _watched.Count;
                _watched.Add(group);
                group.PublishedClass = LeadershipState.ClassOf(group.Node.Role);
            }
            else
            {
                // A change made earlier this round reaches the earlier subscribers now: the new
                // one's first state is the current one, and must not count as telling them.
                PublishIfChanged(group);
            }

            // The first state is the one in force now; later ones only on a change of class.
            writer.TryWrite(LeadershipState.Of(group.Node));
            group.Subscribers.Add(writer);
            done.TrySetResult(true);
        }

        public void CountSubscribers(ulong groupId, TaskCompletionSource<int> done) =>
            done.TrySetResult(_byId.TryGetValue(groupId, out var group) ? group.Subscribers?.Count ?? 0 : 0);

        public void Unsubscribe(ulong groupId, ChannelWriter<LeadershipState> writer)
        {
            if (_byId.TryGetValue(groupId, out var group) && group.Subscribers is { } subscribers && subscribers.Remove(writer) && subscribers.Count == 0)
            {
                Unwatch(group);
            }
        }

        public void QueryMetrics(ulong groupId, TaskCompletionSource<GroupMetrics> done)
        {
            if (!TryGetRunning(groupId, out var group))
            {
                done.TrySetException(new GroupNotHostedException(groupId, NodeId));
                return;
            }

            var node = group.Node;
            ulong? leader = node.Role == RaftRole.Leader ? NodeId : node.LeaderHint;
            done.TrySetResult(new GroupMetrics(groupId, NodeId, node.Role, node.Vote.Term, leader, node.LastLogId, node.Committed, node.Applied, group.LastPurged, node.Snapshot?.LastLogId));
        }

        private void Unwatch(HostedGroup<TResponse, TSnapshot> group)
        {
            int slot = group.WatchSlot;
            if (slot < 0)
            {
                return;
            }

            var last = _watched[^1];
            _watched[slot] = last;
            last.WatchSlot = slot;
            _watched.RemoveAt(_watched.Count - 1);
            group.WatchSlot = -1;
            group.Subscribers = null;
        }

        /// <summary>The group, when this worker runs it and it has not stopped.</summary>
        private bool TryGetRunning(ulong groupId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out HostedGroup<TResponse, TSnapshot>? group) =>
            _byId.TryGetValue(groupId, out group) && !group.Stopped;

        /// <summary>
        /// What a node's step may throw that stops its group (and only its group): a store that
        /// failed, a broken invariant, or a call the node's state does not allow.
        /// </summary>
        private static bool IsGroupFault(Exception e) => e is RaftStorageException or RaftInvariantException or InvalidOperationException;

        private void FailGroup(HostedGroup<TResponse, TSnapshot> group, Exception error)
        {
            _host._logger.LogError(error, "Node {NodeId} group {GroupId} stopped on an error; the other groups go on.", NodeId, group.GroupId);
            StopGroup(group, new ProposalDroppedException(group.GroupId, ProposalDropReason.GroupStopped, error));
            if (_parked.TryGetValue(group, out var parked))
            {
                // Its id is freed once its state machine is no longer applying (see EndParked):
                // a bootstrap of the group before then would run a second state machine, which
                // recovery would have apply the same entries beside the first.
                parked.FreeIdWhenEnded = true;
                return;
            }

            _host._groups.TryRemove(group.GroupId, out _);
        }

        /// <summary>Stops one group: fails its proposals, ends its streams, forgets it.</summary>
        private void StopGroup(HostedGroup<TResponse, TSnapshot> group, Exception dropped)
        {
            if (group.Stopped)
            {
                return;
            }

            group.Stopped = true;
            if (group.Pending is { } pending)
            {
                while (pending.Count > 0)
                {
                    pending.Dequeue().Responder.Fail(dropped);
                }
            }

            if (group.Reads is { } reads)
            {
                foreach (var read in reads.Values)
                {
                    read.TrySetException(new GroupNotHostedException(group.GroupId, NodeId));
                }

                reads.Clear();
            }

            if (group.ConfirmedReads is { } confirmed)
            {
                foreach (var read in confirmed)
                {
                    read.Done.TrySetException(new GroupNotHostedException(group.GroupId, NodeId));
                }

                confirmed.Clear();
            }

            if (group.Subscribers is { } subscribers)
            {
                foreach (var writer in subscribers)
                {
                    writer.TryWrite(LeadershipState.Shutdown);
                    writer.TryComplete();
                }

                Unwatch(group);
            }

            _byId.Remove(group.GroupId);
            int slot = group.Slot;
            var last = _all[^1];
            _all[slot] = last;
            last.Slot = slot;
            _all.RemoveAt(_all.Count - 1);
        }

        private void ShutDownAll(Exception? cause)
        {
            while (_all.Count > 0)
            {
                var group = _all[^1];
                StopGroup(group, new ProposalDroppedException(group.GroupId, ProposalDropReason.HostStopped, cause));
            }

            // Only now: once closed, producers drain items themselves, on their own threads, and
            // that is safe only because the group maps are empty and never change again. A full
            // fence between closing and draining: a producer enqueues, then reads _closed; were
            // this store still buffered while the drain below saw an empty queue, each side would
            // miss the other's item and its caller would wait for ever.
            Interlocked.Exchange(ref _closed, 1);
            DrainClosed(cause);
        }

        /// <summary>An apply that outlasted its round, and the removals of its group that wait for it to end.</summary>
        private sealed class ParkedApply(Task apply)
        {
            private List<TaskCompletionSource<bool>>? _removals;

            public Task Apply { get; } = apply;

            /// <summary>The group failed while the apply ran: its id is freed once the apply ends.</summary>
            public bool FreeIdWhenEnded { get; set; }

            public void Waiting(TaskCompletionSource<bool> removal) => (_removals ??= []).Add(removal);

            public void CompleteRemovals()
            {
                if (_removals is { } removals)
                {
                    foreach (var removal in removals)
                    {
                        removal.TrySetResult(true);
                    }
                }
            }
        }

        /// <summary>Answers whatever is still queued on a stopped worker (it touches only the now empty group map).</summary>
        private void DrainClosed(Exception? cause)
        {
            while (_inbox.TryDequeue(out var item))
            {
                if (item.Responder is { } responder)
                {
                    responder.Fail(new ProposalDroppedException(item.GroupId, ProposalDropReason.HostStopped, cause));
                }
                else if (item.Read is { } read)
                {
                    read.TrySetException(new GroupNotHostedException(item.GroupId, NodeId));
                }
                else if (item.Control is { } control)
                {
                    control(this);
                }
            }
        }
    }
}
