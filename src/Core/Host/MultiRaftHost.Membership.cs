using RaftToolkit.Core.Lifecycle;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Storage;

namespace RaftToolkit.Core.Host;

/// <summary>
/// What a host's membership helpers learn about a group from its worker: enough to tell whether
/// a change committed, whether the group left the joint configuration, and how far a peer is.
/// </summary>
/// <param name="Role">The node's role.</param>
/// <param name="LeaderHint">The leader the node knows of, if any (itself when it leads).</param>
/// <param name="Effective">The membership in force and the entry that carried it.</param>
/// <param name="Committed">The node's committed log id.</param>
/// <param name="AtWatchedIndex">The id of the entry at the watched index, when the node's log still holds one there.</param>
/// <param name="LastPurged">The id of the last entry the node's log dropped into a snapshot, if any.</param>
/// <param name="PeerMatched">Leader only: the last log id the watched peer is known to hold; null when unknown or not a peer.</param>
/// <param name="IsPeer">Leader only: the watched peer is one this leader replicates to.</param>
/// <param name="Round">The group's applied-round count when probed: what <c>WaitForProgressAsync</c> waits to see pass.</param>
internal readonly record struct MembershipProbe(RaftRole Role, ulong? LeaderHint, StoredMembership Effective, LogId? Committed, LogId? AtWatchedIndex, LogId? LastPurged, LogId? PeerMatched, bool IsPeer, ushort Round);

/// <summary>Membership changes, leadership transfer and waking quiescent groups, run on each group's worker.</summary>
public sealed partial class MultiRaftHost<TNode, TData, TResponse, TSnapshot>
{
    /// <summary>Proposes <paramref name="change"/> on the group's worker (as a proposal is), returning the core's verdict.</summary>
    internal Task<MembershipChangeResult> ProposeMembershipChangeAsync(ulong groupId, MembershipChange change)
    {
        var done = new TaskCompletionSource<MembershipChangeResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        PostControl(groupId, worker => worker.ChangeMembership(groupId, change, done), done);
        return done.Task;
    }

    /// <summary>Reads the group's membership state on its worker; <paramref name="watchedIndex"/> and <paramref name="peer"/> pick what else to report (0: nothing).</summary>
    internal Task<MembershipProbe> ProbeMembershipAsync(ulong groupId, ulong watchedIndex, ulong peer)
    {
        var done = new TaskCompletionSource<MembershipProbe>(TaskCreationOptions.RunContinuationsAsynchronously);
        PostControl(groupId, worker => worker.ProbeMembership(groupId, watchedIndex, peer, done), done);
        return done.Task;
    }

    /// <summary>
    /// Completes once <paramref name="groupId"/> has advanced by a round (its Ready persisted and
    /// applied) since <paramref name="probe"/> was taken, or after one tick, whichever comes
    /// first: what a caller waiting for a membership change or transfer to settle waits on
    /// between two probes, so that it sees the change in the round it happens rather than on the
    /// next tick. A round between the probe and this call counts, so none is missed. The tick
    /// bounds the wait for progress that comes without a Ready (a learner's acknowledgement).
    /// </summary>
    internal async Task WaitForProgressAsync(ulong groupId, MembershipProbe probe, CancellationToken cancellationToken)
    {
        var registered = new TaskCompletionSource<Task>(TaskCreationOptions.RunContinuationsAsynchronously);
        PostControl(groupId, worker => worker.WatchProgress(groupId, probe.Round, registered), registered);
        using var tick = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(_options.TickInterval, tick.Token);
        if (await Task.WhenAny(registered.Task, delay).ConfigureAwait(false) == registered.Task && registered.Task.IsCompletedSuccessfully)
        {
            await Task.WhenAny(registered.Task.Result, delay).ConfigureAwait(false);
        }

        // A host that stopped failed the registration: the caller's next probe reports it.
        _ = registered.Task.Exception;
        await tick.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>Starts a leadership transfer on the group's worker, returning the core's verdict and the leader hint.</summary>
    internal Task<(TransferLeadershipResult Result, ulong? LeaderHint)> StartTransferAsync(ulong groupId, ulong target)
    {
        var done = new TaskCompletionSource<(TransferLeadershipResult, ulong?)>(TaskCreationOptions.RunContinuationsAsynchronously);
        PostControl(groupId, worker => worker.TransferLeadership(groupId, target, done), done);
        return done.Task;
    }

    /// <summary>
    /// Wakes every quiescent group on this host that has <paramref name="peerNodeId"/> in its
    /// membership. A quiescent follower never times out on its own, so when a peer may have
    /// failed, whatever detects it (the transport has no failure signal; a connection loss or
    /// missed pings in the caller's failure detector) must call this: the woken followers count
    /// election ticks again and elect a new leader if the peer led the group.
    /// </summary>
    /// <param name="peerNodeId">The node suspected to have failed.</param>
    public void WakeGroups(ulong peerNodeId)
    {
        if (IsStopping)
        {
            return;
        }

        foreach (var worker in _workers)
        {
            worker.Enqueue(WorkItem.ForControl(0, w => w.WakeGroupsWith(peerNodeId)));
        }
    }

    /// <summary>How many periods of the shared timer have passed (tests wait on it instead of on the clock).</summary>
    internal long TickSequence => Volatile.Read(ref _tickSequence);

    private sealed partial class Worker
    {
        /// <summary>Wakes the groups of this worker that have <paramref name="peer"/> in their membership.</summary>
        public void WakeGroupsWith(ulong peer)
        {
            if (Closed)
            {
                return;
            }

            // Backwards: a failing group is swapped out of the list by the last one, already seen.
            for (int i = _all.Count - 1; i >= 0; i--)
            {
                var group = _all[i];
                var node = group.Node;
                if (group.Stopped || (group.Ticking && !node.IsQuiescent) || !node.Membership.Contains(peer))
                {
                    continue;
                }

                // Quiescent (perhaps still on the tick list, until the next tick takes it off), or
                // awake but off the tick (which no path should leave it): either way it must count
                // the peer's silence from now on.
                try
                {
                    node.Wake();
                }
                catch (Exception e) when (e is RaftInvariantException or InvalidOperationException)
                {
                    FailGroup(group, e);
                    continue;
                }

                MarkActive(group);
            }
        }

        public void ChangeMembership(ulong groupId, MembershipChange change, TaskCompletionSource<MembershipChangeResult> done)
        {
            if (TryCallNode(groupId, node => node.ProposeMembershipChange(change), done, out var result))
            {
                done.TrySetResult(result);
            }
        }

        /// <summary>
        /// Hands back a task that completes once the group has applied a round after
        /// <paramref name="seenRound"/>: at once if one already passed, else after its next
        /// applied round (one task per group, shared by every waiter).
        /// </summary>
        public void WatchProgress(ulong groupId, ushort seenRound, TaskCompletionSource<Task> registered)
        {
            if (!TryGetRunning(groupId, out var group))
            {
                // The caller's next probe reports the group gone.
                registered.TrySetResult(Task.CompletedTask);
                return;
            }

            if (group.RoundsApplied != seenRound)
            {
                registered.TrySetResult(Task.CompletedTask);
                return;
            }

            registered.TrySetResult((group.ProgressWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task);
        }

        public void ProbeMembership(ulong groupId, ulong watchedIndex, ulong peer, TaskCompletionSource<MembershipProbe> done)
        {
            if (!TryGetRunning(groupId, out var group))
            {
                done.TrySetException(new GroupNotHostedException(groupId, NodeId));
                return;
            }

            var node = group.Node;
            LogId? atWatched = watchedIndex != 0 && node.TryGetLogId(watchedIndex, out var id) ? id : null;
            LogId? matched = null;
            bool isPeer = peer != 0 && node.TryGetProgress(peer, out matched);
            done.TrySetResult(new MembershipProbe(node.Role, node.LeaderHint, node.EffectiveMembership, node.Committed, atWatched, node.LastPurgedLogId, matched, isPeer, group.RoundsApplied));
        }

        public void TransferLeadership(ulong groupId, ulong target, TaskCompletionSource<(TransferLeadershipResult, ulong?)> done)
        {
            if (TryCallNode(groupId, node => (node.TransferLeadership(target), node.LeaderHint), done, out var result))
            {
                done.TrySetResult(result);
            }
        }
    }
}
