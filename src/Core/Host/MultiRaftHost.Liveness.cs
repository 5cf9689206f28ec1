using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Transport;

namespace RaftToolkit.Core.Host;

/// <summary>
/// The host's peer failure detector (see <see cref="MultiRaftHostOptions.PeerSilenceTicks"/>).
/// </summary>
/// <remarks>
/// A quiescent group sends nothing and a quiescent follower counts no election time, so Raft's
/// own failure detection is off for exactly the groups that are idle. Liveness moves up one
/// level, as in CockroachDB's quiesced ranges: hosts ping each other once per tick, a cost per
/// peer host rather than per group, and a host that falls silent gets the groups it shares
/// with this one woken; the woken followers time out and elect, as Raft would have had them.
/// <para>Pings come from the timer thread, which runs whatever the workers do, so a ping alone
/// would say the host is alive while every group it leads is not: a worker waiting on a store
/// write that never returns (a hung disk, on which every worker of the host ends up waiting) or on
/// a state machine that blocks its thread serves none of its groups (one that awaits holds only its
/// own group: the worker parks its apply after a tick), and quiescent followers elsewhere would
/// wait on it for as long as it stays stuck. So a host pings only while its workers make progress:
/// each worker stamps the tick its round began, and while one round has lasted
/// <see cref="StuckWorker"/>'s bound the host stops pinging, its peers find it silent and fail
/// its groups over. Messages are handled as before, and pings resume once the round ends.</para>
/// <para>Only a ping counts as a sign of life (<see cref="HeardFrom"/>): the host's other workers
/// may still exchange messages with a peer while one is stuck, and those messages would hide it.
/// Any batch, received or sent, makes the peer known (see below), so that it is pinged; a healthy
/// host pings every known peer every tick whatever else it sends, so counting pings alone loses
/// nothing. The peers then wake every quiescent group they share with the host, those its
/// healthy workers serve too, which they cannot tell apart. So while it withholds its pings the
/// host holds quiescence off for all its groups (<see cref="HoldQuiescence"/>): the leaders it
/// still serves heartbeat, their followers, woken or not, stay with them, and they quiesce again
/// once the host pings again.</para>
/// <para>A peer this host sends messages to is known too (<see cref="SendingTo"/>), as if it had
/// sent first. Were peers known only from what arrives, a link that drops one way would get the
/// verdicts backwards: with A's batches reaching B and none of B's reaching A, A would never learn
/// B and so never ping it, while B, hearing A's messages but never a ping, would find A silent and
/// wake the groups they share, though it hears A fine. Known by sending, A pings B, so B finds A
/// alive, and A finds B silent, which is what A sees.</para>
/// </remarks>
public sealed partial class MultiRaftHost<TNode, TData, TResponse, TSnapshot>
{
    /// <summary>Every peer host this one has heard from or sent messages to, by node id; empty while the detector is off.</summary>
    private readonly ConcurrentDictionary<ulong, PeerLiveness> _peers = new();

    /// <summary>Guards against overlapping timer callbacks running the check twice at once.</summary>
    private int _checkingPeers;

    /// <summary>A worker's round stamp between rounds: far enough ahead that no tick finds it stuck.</summary>
    private const long NotInRound = long.MaxValue;

    /// <summary>True while pings are withheld for a stuck worker; touched only by the peer check (one at a time), so that it logs each change once.</summary>
    private bool _pingsWithheld;

    /// <summary>
    /// Notes a batch from <paramref name="node"/>; called on transport threads. Any batch makes
    /// the peer known, so that this host pings it; only a ping (<paramref name="ping"/>) shows it
    /// alive, since a host withholds its pings while a worker is stuck but not its other messages.
    /// </summary>
    private void HeardFrom(ulong node, bool ping)
    {
        if (!Watches(node))
        {
            return;
        }

        long tick = Volatile.Read(ref _tickSequence);
        var peer = Know(node, tick);
        if (ping)
        {
            Volatile.Write(ref peer.LastHeardTick, tick);
        }
    }

    /// <summary>
    /// Notes that a worker sends <paramref name="node"/> a batch: the peer is known from now, so
    /// that this host pings it even if nothing it sends ever arrives (see the remarks on the
    /// class). On the workers' hot path: once the peer is known, one lookup and no allocation.
    /// </summary>
    private void SendingTo(ulong node)
    {
        if (Watches(node) && !_peers.ContainsKey(node))
        {
            Know(node, Volatile.Read(ref _tickSequence));
        }
    }

    /// <summary>True when the detector is on and <paramref name="node"/> is a peer, not this host.</summary>
    private bool Watches(ulong node) => _options.EffectivePeerSilenceTicks != 0 && node != NodeId;

    /// <summary>
    /// The detector's record of <paramref name="node"/>, made if there is none yet: a peer newly
    /// known, whether it sent first or this host did, has the full silence to ping from <paramref name="tick"/>.
    /// </summary>
    private PeerLiveness Know(ulong node, long tick) =>
        _peers.GetOrAdd(node, static (_, tick) => new PeerLiveness { LastHeardTick = tick }, tick);

    /// <summary>
    /// Sends a peer an empty batch. A transport that throws (a peer unreachable) must not end the
    /// process: this runs on the timer thread, where an exception escapes to nobody.
    /// </summary>
    private void Ping(ulong node)
    {
        try
        {
            _transport.Send(node, []);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            if (!IsStopping)
            {
                _logger.LogDebug(e, "Node {NodeId}: pinging peer {Peer} failed; its silence will show.", NodeId, node);
            }
        }
    }

    /// <summary>On the timer: pings every known peer, unless a worker is stuck, and wakes the groups shared with a silent one.</summary>
    private void CheckPeers(long tick)
    {
        int silenceTicks = _options.EffectivePeerSilenceTicks;
        if (silenceTicks == 0 || IsStopping || Interlocked.Exchange(ref _checkingPeers, 1) != 0)
        {
            return;
        }

        try
        {
            bool withhold = StuckWorker(tick, silenceTicks, out int worker, out long roundTicks);
            if (withhold != _pingsWithheld)
            {
                _pingsWithheld = withhold;
                HoldQuiescence(withhold);
                if (withhold)
                {
                    _logger.LogWarning(
                        "Node {NodeId}: worker {Worker} has been in one round for {Ticks} ticks (a store write that does not return, or a state machine blocking the worker's thread); no longer pinging peers, so they wake the quiescent groups shared with this host and elect elsewhere for the stuck worker's. The groups this host leads on its other workers stay awake meanwhile.",
                        NodeId,
                        worker,
                        roundTicks);
                }
                else
                {
                    _logger.LogInformation("Node {NodeId}: no worker is stuck any more; pinging peers again.", NodeId);
                }
            }

            if (withhold)
            {
                Interlocked.Increment(ref Statistics.PingsWithheldTicksValue);
            }

            foreach (var (node, peer) in _peers)
            {
                if (!withhold)
                {
                    Ping(node);
                }

                bool silent = tick - Volatile.Read(ref peer.LastHeardTick) >= silenceTicks;
                if (silent && !peer.Suspected)
                {
                    _logger.LogWarning("Node {NodeId}: peer {Peer} silent for {Ticks} ticks; waking the quiescent groups shared with it.", NodeId, node, silenceTicks);
                    Interlocked.Increment(ref Statistics.PeersFoundSilentValue);
                    WakeGroups(node);
                }

                peer.Suspected = silent;
            }
        }
        catch (ObjectDisposedException) when (IsStopping)
        {
            // The host stopped (and disposed its transport) while this tick was pinging.
        }
        finally
        {
            Volatile.Write(ref _checkingPeers, 0);
        }
    }

    /// <summary>
    /// Has every worker hold quiescence off (or let it resume) for its groups: while its pings are
    /// withheld the host's peers wake every group they share with it, so the leaders it still
    /// serves must heartbeat, or their woken followers would time out and elect elsewhere. A stuck
    /// worker takes the item once its round ends, which is harmless: its leaders, stale by then,
    /// heartbeat and step down on the new leaders' higher term.
    /// </summary>
    private void HoldQuiescence(bool hold)
    {
        foreach (var worker in _workers)
        {
            worker.Enqueue(WorkItem.ForControl(0, w => w.HoldQuiescence(hold)));
        }
    }

    /// <summary>
    /// True when a worker has been in one round for at least <paramref name="silenceTicks"/>
    /// ticks: <paramref name="worker"/> is the first such, <paramref name="roundTicks"/> how long.
    /// A worker waiting for work is not in a round, so an idle host keeps pinging.
    /// </summary>
    /// <remarks>
    /// Why the bound is the peer silence, <see cref="MultiRaftHostOptions.PeerSilenceTicks"/>: a
    /// worker that long in one round has sent, answered and committed nothing for its groups for
    /// as long as the peers would take to give up on a host that died, so it is unavailable to
    /// them just the same, however legitimate its work. Its groups that are awake fail over by
    /// themselves after an election timeout (their followers hear no heartbeat), which is the
    /// silence's default, so with the defaults its quiescent groups are not held to a looser
    /// standard than its awake ones. A shorter bound would fail groups over on a disk that is
    /// merely slow for a moment; a longer one only lengthens the outage of a stuck host's
    /// quiescent groups, which is the bound, then the silence, then an election.
    /// </remarks>
    private bool StuckWorker(long tick, int silenceTicks, out int worker, out long roundTicks)
    {
        var workers = _workers;
        for (int i = 0; i < workers.Length; i++)
        {
            // A round begun after this tick was read (the stamp ahead of it) is not stuck either.
            long inRound = tick - workers[i].RoundStartTick;
            if (inRound >= silenceTicks)
            {
                worker = i;
                roundTicks = inRound;
                return true;
            }
        }

        worker = -1;
        roundTicks = 0;
        return false;
    }

    /// <summary>What the detector knows about one peer host.</summary>
    private sealed class PeerLiveness
    {
        /// <summary>The host's tick at which a ping from the peer last arrived (or at which the peer became known).</summary>
        public long LastHeardTick;

        /// <summary>True once the peer's silence woke the shared groups; cleared when it pings again.</summary>
        public bool Suspected;
    }

    private sealed partial class Worker
    {
        /// <summary>
        /// Holds quiescence off for every group here while the host withholds its pings, or lets
        /// it resume (see <see cref="RaftNode.HoldQuiescence"/>). A leader it wakes heartbeats from
        /// the next tick.
        /// </summary>
        public void HoldQuiescence(bool hold)
        {
            if (Closed)
            {
                return;
            }

            _quiescenceHeld = hold;

            // Backwards: a failing group is swapped out of the list by the last one, already seen.
            for (int i = _all.Count - 1; i >= 0; i--)
            {
                var group = _all[i];
                var node = group.Node;
                if (group.Stopped)
                {
                    continue;
                }

                bool wasQuiescent = node.IsQuiescent;
                try
                {
                    node.HoldQuiescence(hold);
                }
                catch (Exception e) when (e is RaftInvariantException or InvalidOperationException)
                {
                    FailGroup(group, e);
                    continue;
                }

                if (wasQuiescent && !node.IsQuiescent)
                {
                    MarkActive(group);
                }
            }
        }
    }
}
