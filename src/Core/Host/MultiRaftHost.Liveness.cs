using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
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
/// </remarks>
public sealed partial class MultiRaftHost<TNode, TData, TResponse, TSnapshot>
{
    /// <summary>Every peer host this one has heard from, by node id; empty while the detector is off.</summary>
    private readonly ConcurrentDictionary<ulong, PeerLiveness> _peers = new();

    /// <summary>Guards against overlapping timer callbacks running the check twice at once.</summary>
    private int _checkingPeers;

    /// <summary>Notes a batch (or ping) from <paramref name="node"/>; called on transport threads.</summary>
    private void HeardFrom(ulong node)
    {
        if (_options.EffectivePeerSilenceTicks == 0 || node == NodeId)
        {
            return;
        }

        var peer = _peers.GetOrAdd(node, static _ => new PeerLiveness());
        Volatile.Write(ref peer.LastHeardTick, Volatile.Read(ref _tickSequence));
    }

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

    /// <summary>On the timer: pings every known peer and wakes the groups shared with a silent one.</summary>
    private void CheckPeers(long tick)
    {
        int silenceTicks = _options.EffectivePeerSilenceTicks;
        if (silenceTicks == 0 || IsStopping || Interlocked.Exchange(ref _checkingPeers, 1) != 0)
        {
            return;
        }

        try
        {
            foreach (var (node, peer) in _peers)
            {
                Ping(node);
                bool silent = tick - Volatile.Read(ref peer.LastHeardTick) >= silenceTicks;
                if (silent && !peer.Suspected)
                {
                    _logger.LogWarning("Node {NodeId}: peer {Peer} silent for {Ticks} ticks; waking the quiescent groups shared with it.", NodeId, node, silenceTicks);
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

    /// <summary>What the detector knows about one peer host.</summary>
    private sealed class PeerLiveness
    {
        /// <summary>The host's tick at which a batch from the peer last arrived.</summary>
        public long LastHeardTick;

        /// <summary>True once the peer's silence woke the shared groups; cleared when it is heard again.</summary>
        public bool Suspected;
    }
}
