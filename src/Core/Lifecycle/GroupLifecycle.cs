using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using RaftToolkit.Core.Host;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Storage;

namespace RaftToolkit.Core.Lifecycle;

/// <summary>
/// Starting groups on a host and watching them: <see cref="BootstrapAsync"/>,
/// <see cref="LeadershipEvents"/> and <see cref="GetMetricsAsync"/>.
/// </summary>
public static class GroupLifecycle
{
    /// <summary>The id of a fresh group's first entry, which carries its initial membership: the same on every initial voter.</summary>
    public static LogId InitialMembershipLogId => new(0, 0, 0);

    /// <summary>
    /// Starts <paramref name="groupId"/> on <paramref name="host"/>.
    /// <list type="bullet">
    /// <item><see cref="BootstrapKind.Fresh"/>: the group's store must hold nothing, and its state
    /// machine must have applied nothing and hold no snapshot; writes the
    /// initial membership as entry 0 (one durable write) and starts as a follower. Every initial
    /// voter does the same, so the logs agree from the start.</item>
    /// <item><see cref="BootstrapKind.Reopen"/>: writes nothing of its own; rebuilds the node from the store
    /// with <see cref="RaftStorageHelper.GetInitialStateAsync{TResponse, TSnapshot}"/> (committed
    /// entries the state machine lacks are re-applied). An empty group starts as a learner.</item>
    /// <item><see cref="BootstrapKind.Join"/>: writes nothing of its own; starts from the store (usually
    /// empty) and waits as a learner until a leader replicates to this node.</item>
    /// </list>
    /// Start-up recovery, for Reopen and Join, may purge log entries the state machine's snapshot
    /// already covers (after a crash between a snapshot's install and its purge) and re-apply
    /// committed entries.
    /// </summary>
    /// <exception cref="ArgumentException">Fresh with a membership that does not make this node a voter (nothing changed).</exception>
    /// <exception cref="BootstrapException">
    /// <see cref="BootstrapErrorKind.UnexpectedExistingState"/>: Fresh on a group with state;
    /// <see cref="BootstrapErrorKind.AlreadyHosted"/>: the group already runs here. Nothing changed.
    /// </exception>
    /// <exception cref="StorageInconsistencyException">
    /// The stored state contradicts itself: the log is purged past what the state machine applied
    /// and no snapshot covers the gap (a state machine that does not keep its snapshot durably),
    /// the current snapshot is ahead of what is applied, or the log and the state machine disagree
    /// (an inverted log order).
    /// </exception>
    public static async Task BootstrapAsync<TNode, TData, TResponse, TSnapshot>(
        this MultiRaftHost<TNode, TData, TResponse, TSnapshot> host, ulong groupId, BootstrapMode mode, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(mode);
        if (mode.Kind == BootstrapKind.Fresh && !mode.InitialMembership!.IsVoter(host.NodeId))
        {
            throw new ArgumentException($"Node {host.NodeId} is not a voter of the initial membership {mode.InitialMembership} of group {groupId}; only initial voters bootstrap Fresh (others Join).", nameof(mode));
        }

        if (!host.TryReserve(groupId))
        {
            throw new BootstrapException(BootstrapErrorKind.AlreadyHosted, groupId, $"the group already runs (or is starting) on node {host.NodeId}.");
        }

        bool started = false;
        try
        {
            var log = host.Store.ForGroup(groupId);
            var vote = await log.ReadVoteAsync(cancellationToken).ConfigureAwait(false);
            var committed = await log.ReadCommittedAsync(cancellationToken).ConfigureAwait(false);
            var logState = await log.GetLogStateAsync(cancellationToken).ConfigureAwait(false);
            bool hasState = vote is not null || committed is not null || logState.LastLogId is not null;
            var stateMachine = host.CreateStateMachine(groupId);
            var logger = host.Logger;
            switch (mode.Kind)
            {
                case BootstrapKind.Fresh:
                    if (hasState)
                    {
                        throw new BootstrapException(
                            BootstrapErrorKind.UnexpectedExistingState,
                            groupId,
                            $"Fresh bootstrap on node {host.NodeId} found existing state (vote {Describe(vote)}, committed {Describe(committed)}, last log id {Describe(logState.LastLogId)}); use Reopen to restart it.");
                    }

                    // The state machine's state counts too (as openraft's initialize counts the
                    // applied id): a log it is ahead of would be purged up to its applied id at
                    // start-up, and the membership asked for here silently replaced by its own.
                    var applied = await stateMachine.GetAppliedStateAsync(cancellationToken).ConfigureAwait(false);
                    var current = await stateMachine.GetCurrentSnapshotAsync(cancellationToken).ConfigureAwait(false);
                    if (applied.LastApplied is not null || current is not null)
                    {
                        throw new BootstrapException(
                            BootstrapErrorKind.UnexpectedExistingState,
                            groupId,
                            $"Fresh bootstrap on node {host.NodeId} found a state machine with state (applied {Describe(applied.LastApplied)}, snapshot {current?.Meta.SnapshotId ?? "none"}); use Reopen to restart it.");
                    }

                    var batch = new LogWriteBatch();
                    batch.Append(groupId, new[] { Entry.ForMembership(InitialMembershipLogId, mode.InitialMembership!) });
                    await host.Store.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
                    logger.LogDebug("Node {NodeId} bootstrapped group {GroupId} fresh with {Membership}.", host.NodeId, groupId, mode.InitialMembership);
                    break;
                case BootstrapKind.Reopen:
                    if (hasState)
                    {
                        logger.LogDebug("Node {NodeId} reopens group {GroupId}: vote {Vote}, committed {Committed}, last log id {LastLogId}.", host.NodeId, groupId, Describe(vote), Describe(committed), Describe(logState.LastLogId));
                    }
                    else
                    {
                        logger.LogInformation("Node {NodeId} reopens group {GroupId}, which has no state here: it starts empty and waits as a learner.", host.NodeId, groupId);
                    }

                    break;
                default:
                    if (hasState)
                    {
                        logger.LogInformation("Node {NodeId} joins group {GroupId}, which already has state here (last log id {LastLogId}): it restarts from it, changing nothing.", host.NodeId, groupId, Describe(logState.LastLogId));
                    }
                    else
                    {
                        logger.LogInformation("Node {NodeId} joins group {GroupId}: it waits as a learner until a leader adds it.", host.NodeId, groupId);
                    }

                    break;
            }

            var snapshot = await RestoreFromSnapshotAsync(stateMachine, cancellationToken).ConfigureAwait(false);
            var initial = await RaftStorageHelper.GetInitialStateAsync(log, stateMachine, cancellationToken).ConfigureAwait(false);
            if (snapshot is null && initial.Snapshot is not null)
            {
                // Recovery built the snapshot the purged log needs (the state machine had none):
                // the node starts with it, or a follower needing purged entries would wait for
                // the next scheduled one.
                snapshot = await stateMachine.GetCurrentSnapshotAsync(cancellationToken).ConfigureAwait(false);
            }

            if (initial.LastPurgedLogId is { } purged && LogIds.Compare(initial.LastApplied, purged) < 0)
            {
                // The purged entries exist only in a snapshot, and the state machine has none to restore from.
                throw new StorageInconsistencyException(
                    $"Group {groupId} on node {host.NodeId}: the log is purged up to {purged} but the state machine has applied only {Describe(initial.LastApplied)} and has no snapshot covering the purged entries.");
            }

            // The node sends its current snapshot to followers that need purged entries, so it
            // starts with the snapshot's bytes, not just its description.
            if (snapshot is { Meta.LastLogId: { } covered } && LogIds.Compare(covered, initial.LastApplied) > 0)
            {
                // A snapshot ahead of what is applied cannot be the node's: it would claim entries the state machine lacks.
                throw new StorageInconsistencyException($"Group {groupId} on node {host.NodeId}: the current snapshot covers {covered}, past the applied {Describe(initial.LastApplied)}.");
            }

            // The node reads its log synchronously: load what it will read first (the entries not
            // yet applied); older ones are loaded on demand.
            IReadOnlyList<Entry> tail = [];
            if (initial.LastLogId is { } last && last.Index + 1 > initial.LastApplied.NextIndex())
            {
                tail = await log.TryGetLogEntriesAsync(Math.Max(initial.LastApplied.NextIndex(), initial.LastPurgedLogId.NextIndex()), last.Index + 1, cancellationToken).ConfigureAwait(false);
            }

            tail = InternMemberships(host, tail);
            var cache = new GroupLogCache(initial.LastPurgedLogId, initial.LastLogId, initial.KeyLogIds, tail);
            // Both memberships: the committed one is what a truncation of the effective one's
            // (uncommitted) entry falls back to.
            var membership = new MembershipState(Intern(host, initial.Membership.Committed), Intern(host, initial.Membership.Effective));
            var state = new RaftNodeState(initial.Vote, initial.Committed, initial.LastApplied);
            if (snapshot is { Meta.LastLogId: not null })
            {
                state = state with { Snapshot = snapshot.Meta, SnapshotData = host.Types.EncodeSnapshot(snapshot.Data) };
            }

            var node = new RaftNode(host.NodeId, host.RaftConfig, cache, membership, state, electionSalt: groupId);
            var group = new HostedGroup<TResponse, TSnapshot>(groupId, node, cache, log, stateMachine);
            await host.AddGroupAsync(group).ConfigureAwait(false);
            started = true;
        }
        finally
        {
            if (!started)
            {
                host.Unreserve(groupId);
            }
        }
    }

    /// <summary>
    /// The leadership of <paramref name="groupId"/> on this host as a stream: the state in force
    /// first, then one state per change of role class (Leader, Follower, Candidate, Learner); a
    /// new term or leader hint within the same class is not reported. Ends after
    /// <see cref="LeadershipState.Shutdown"/> when the group stops here (removed, host stopped or failed).
    /// </summary>
    /// <exception cref="GroupNotHostedException">(on the first MoveNextAsync) The group does not run here.</exception>
    public static async IAsyncEnumerable<LeadershipState> LeadershipEvents<TNode, TData, TResponse, TSnapshot>(
        this MultiRaftHost<TNode, TData, TResponse, TSnapshot> host, ulong groupId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(host);
        var channel = Channel.CreateUnbounded<LeadershipState>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        try
        {
            // Inside the try: a cancellation while subscribing must still unsubscribe (the
            // subscription is queued to the worker before the wait is cancelled, and the
            // unsubscription is queued after it, to the same worker).
            await host.SubscribeAsync(groupId, channel.Writer).WaitAsync(cancellationToken).ConfigureAwait(false);
            await foreach (var state in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return state;
            }
        }
        finally
        {
            host.Unsubscribe(groupId, channel.Writer);
        }
    }

    /// <summary>A snapshot of <paramref name="groupId"/> on this host: role, term, leader, last log id, committed, applied, purged.</summary>
    /// <exception cref="GroupNotHostedException">The group does not run here.</exception>
    public static Task<GroupMetrics> GetMetricsAsync<TNode, TData, TResponse, TSnapshot>(this MultiRaftHost<TNode, TData, TResponse, TSnapshot> host, ulong groupId)
    {
        ArgumentNullException.ThrowIfNull(host);
        return host.QueryMetricsAsync(groupId);
    }

    /// <summary>
    /// Brings a state machine that restarted behind its own durable snapshot up to it: the
    /// snapshot replaces what the log no longer has (purged entries cannot be re-applied).
    /// A state machine at or past its snapshot is left alone. Returns the current snapshot, if any.
    /// </summary>
    private static async ValueTask<Snapshot<TSnapshot>?> RestoreFromSnapshotAsync<TResponse, TSnapshot>(IRaftStateMachine<TResponse, TSnapshot> stateMachine, CancellationToken cancellationToken)
    {
        var snapshot = await stateMachine.GetCurrentSnapshotAsync(cancellationToken).ConfigureAwait(false);
        if (snapshot is not { Meta.LastLogId: { } covered })
        {
            return snapshot;
        }

        var applied = await stateMachine.GetAppliedStateAsync(cancellationToken).ConfigureAwait(false);
        if (LogIds.Compare(covered, applied.LastApplied) > 0)
        {
            await stateMachine.InstallSnapshotAsync(snapshot.Meta, snapshot.Data, cancellationToken).ConfigureAwait(false);
        }

        return snapshot;
    }

    /// <summary>
    /// <paramref name="stored"/> with the host's shared instance of its configuration: itself when
    /// it has it already. The node keeps the committed one, and a fresh group's is the empty one,
    /// which all groups share.
    /// </summary>
    private static StoredMembership Intern<TNode, TData, TResponse, TSnapshot>(MultiRaftHost<TNode, TData, TResponse, TSnapshot> host, StoredMembership stored)
    {
        if (stored == StoredMembership.Default)
        {
            return StoredMembership.Default;
        }

        var shared = host.Intern(stored.Membership);
        return ReferenceEquals(shared, stored.Membership) ? stored : stored with { Membership = shared };
    }

    /// <summary>Points membership entries at the host's shared instances (the store decodes a new one per read).</summary>
    private static IReadOnlyList<Entry> InternMemberships<TNode, TData, TResponse, TSnapshot>(MultiRaftHost<TNode, TData, TResponse, TSnapshot> host, IReadOnlyList<Entry> entries)
    {
        Entry[]? copy = null;
        for (int i = 0; i < entries.Count; i++)
        {
            if (entries[i].Membership is { } membership)
            {
                copy ??= [.. entries];
                copy[i] = Entry.ForMembership(entries[i].LogId, host.Intern(membership));
            }
        }

        return copy ?? entries;
    }

    private static string Describe<T>(T? value)
        where T : struct => value is { } v ? v.ToString()! : "none";
}
