using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;

namespace RaftToolkit.Testing.Simulation;

/// <summary>
/// Checks the Raft safety properties across a simulated cluster: election safety (one leader
/// per leader id), log matching (an entry's id fixes its payload and its predecessor), leader
/// completeness (a new leader holds every entry committed before it), state-machine safety
/// (every replica applies the same sequence), monotonic commit and apply, and votes that never
/// go backwards. Every violation throws <see cref="SimulationInvariantException"/>.
/// </summary>
public sealed class SafetyChecker
{
    private readonly Dictionary<LogId, Entry> _entries = [];
    private readonly Dictionary<LogId, LogId?> _predecessors = [];
    private readonly Dictionary<LeaderId, (ulong Node, int Incarnation)> _leaders = [];
    private readonly List<LogId> _committed = [];
    private readonly Dictionary<LeaderId, ulong> _commitsByLeader = [];
    private readonly Dictionary<LogId, byte[]> _snapshots = [];

    /// <summary>The ids of the committed sequence agreed so far.</summary>
    public IReadOnlyList<LogId> CommittedSequence => _committed;

    /// <summary>Records an entry made durable on some node after <paramref name="previous"/>; checks log matching.</summary>
    public void OnEntryDurable(ulong node, LogId? previous, in Entry entry)
    {
        CheckSamePayload(node, entry);
        if (_predecessors.TryGetValue(entry.LogId, out var knownPrevious))
        {
            if (knownPrevious != previous)
            {
                throw new SimulationInvariantException(
                    $"Log matching: node {node} stored {entry.LogId} after {Show(previous)}, another node after {Show(knownPrevious)}.");
            }
        }
        else
        {
            _predecessors.Add(entry.LogId, previous);
        }
    }

    /// <summary>Records how far a leader has committed (commits originate only at leaders).</summary>
    public void OnLeaderCommitted(LeaderId leaderId, LogId? committed)
    {
        ulong next = committed.NextIndex();
        if (!_commitsByLeader.TryGetValue(leaderId, out var known) || next > known)
        {
            _commitsByLeader[leaderId] = next;
        }
    }

    /// <summary>
    /// Records that <paramref name="node"/> (in its <paramref name="incarnation"/>) leads under
    /// <paramref name="leaderId"/>; checks election safety and leader completeness. With
    /// advanced leader ids, completeness binds a leader to what every smaller leader id
    /// committed: a leader id smaller than one that committed may still be elected by late
    /// votes, but it can never gather a quorum of accepting followers, so it cannot commit.
    /// </summary>
    public void OnLeader(ulong node, int incarnation, LeaderId leaderId, RaftNode raft)
    {
        ArgumentNullException.ThrowIfNull(raft);
        if (_leaders.TryGetValue(leaderId, out var first))
        {
            if (first != (node, incarnation))
            {
                throw new SimulationInvariantException(
                    $"Election safety: leader id {leaderId} is held by node {node} (incarnation {incarnation}) and was held by node {first.Node} (incarnation {first.Incarnation}).");
            }
        }
        else
        {
            _leaders.Add(leaderId, (node, incarnation));
        }

        ulong required = 0;
        foreach (var (committer, next) in _commitsByLeader)
        {
            if (committer < leaderId && next > required)
            {
                required = next;
            }
        }

        // Below its purge point a leader holds committed entries only through its snapshot (checked in OnSnapshot).
        for (int i = (int)(raft.LastPurgedLogId?.Index ?? 0); i < (int)Math.Min(required, (ulong)_committed.Count); i++)
        {
            if (!raft.TryGetLogId((ulong)i, out var id) || id != _committed[i])
            {
                throw new SimulationInvariantException(
                    $"Leader completeness: leader {leaderId} on node {node} lacks committed entry {_committed[i]} at index {i}.");
            }
        }
    }

    /// <summary>Checks that the entries up to <paramref name="toIndexInclusive"/> in a node's log agree with the committed sequence, and extends it.</summary>
    public void OnCommitted(ulong node, RaftNode raft, ulong fromIndex, ulong toIndexInclusive)
    {
        for (ulong i = fromIndex; i <= toIndexInclusive; i++)
        {
            if (!raft.TryGetLogId(i, out var id))
            {
                throw new SimulationInvariantException($"Node {node} reports index {toIndexInclusive} committed but has no entry at {i}.");
            }

            if (i < (ulong)_committed.Count)
            {
                if (_committed[(int)i] != id)
                {
                    throw new SimulationInvariantException(
                        $"State-machine safety: node {node} committed {id} at index {i}, but {_committed[(int)i]} was committed there.");
                }
            }
            else if (i == (ulong)_committed.Count)
            {
                _committed.Add(id);
            }
        }
    }

    /// <summary>Checks one applied entry of a node against the committed sequence and every other copy of that entry.</summary>
    public void OnApplied(ulong node, ulong expectedIndex, in Entry entry)
    {
        if (entry.Index != expectedIndex)
        {
            throw new SimulationInvariantException($"Apply order: node {node} applied index {entry.Index}, expected {expectedIndex}.");
        }

        if (entry.Index < (ulong)_committed.Count)
        {
            if (_committed[(int)entry.Index] != entry.LogId)
            {
                throw new SimulationInvariantException(
                    $"State-machine safety: node {node} applied {entry} at index {entry.Index}, but {_committed[(int)entry.Index]} is the committed entry there.");
            }
        }
        else if (entry.Index == (ulong)_committed.Count)
        {
            _committed.Add(entry.LogId);
        }
        else
        {
            throw new SimulationInvariantException($"Node {node} applied index {entry.Index} before index {_committed.Count} was known committed anywhere.");
        }

        CheckSamePayload(node, entry);
    }

    /// <summary>
    /// Checks a snapshot built or installed on a node: its last id must be the committed entry at
    /// that index, and every snapshot ending at the same id must hold the same bytes (the state
    /// machines are deterministic, so equal prefixes give equal snapshots).
    /// </summary>
    public void OnSnapshot(ulong node, LogId last, ReadOnlySpan<byte> data)
    {
        if (last.Index >= (ulong)_committed.Count || _committed[(int)last.Index] != last)
        {
            throw new SimulationInvariantException(
                $"Node {node} holds a snapshot ending at {last}, which is not a committed entry ({(last.Index < (ulong)_committed.Count ? _committed[(int)last.Index].ToString() : "nothing")} is committed there).");
        }

        if (_snapshots.TryGetValue(last, out var known))
        {
            if (!data.SequenceEqual(known))
            {
                throw new SimulationInvariantException($"State-machine safety: node {node}'s snapshot at {last} differs from another node's snapshot at the same entry.");
            }
        }
        else
        {
            _snapshots.Add(last, data.ToArray());
        }
    }

    private void CheckSamePayload(ulong node, in Entry entry)
    {
        if (_entries.TryGetValue(entry.LogId, out var known))
        {
            if (!known.Equals(entry))
            {
                throw new SimulationInvariantException($"Node {node} holds {entry} but {known} exists elsewhere under the same log id.");
            }
        }
        else
        {
            _entries.Add(entry.LogId, entry);
        }
    }

    private static string Show(LogId? id) => id is { } v ? v.ToString() : "the start";
}
