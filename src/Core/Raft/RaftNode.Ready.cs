using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft.Messages;
using RaftToolkit.Core.Storage;

namespace RaftToolkit.Core.Raft;

/// <summary>Handing work to the host and learning that it was done.</summary>
public sealed partial class RaftNode
{
    /// <summary>
    /// Hands out everything pending: the vote and entries to persist, the committed id,
    /// messages to send and committed entries to apply. Only one Ready may be outstanding.
    /// </summary>
    /// <exception cref="InvalidOperationException">The previous Ready was not advanced yet, or the group stopped.</exception>
    public Ready GetReady()
    {
        ThrowIfFailed();
        if (_outstanding is not null)
        {
            throw new InvalidOperationException($"Raft node {_id}: the previous Ready has not been advanced; writes must complete in order.");
        }

        try
        {
            return BuildReady();
        }
        catch (Exception e) when (e is RaftStorageException or RaftInvariantException)
        {
            _failure = e;
            throw;
        }
    }

    /// <summary>
    /// Confirms that <paramref name="ready"/>'s writes are durable and its committed entries
    /// applied. Releases the responses that waited on those writes (they go out with the next
    /// Ready) and lets a leader count its own durable entries.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="ready"/> is not the outstanding Ready of this node.</exception>
    public void Advance(Ready ready)
    {
        ArgumentNullException.ThrowIfNull(ready);
        ThrowIfFailed();
        if (!ReferenceEquals(ready, _outstanding))
        {
            throw new ArgumentException($"Raft node {_id}: this Ready is not the outstanding one (advance each Ready once, in order).", nameof(ready));
        }

        MarkDurable(ready.Entries.Span);
        if (ready.SnapshotToInstall is { LastLogId: { } installed })
        {
            _applied = installed;
        }

        if (!ready.CommittedEntries.IsEmpty)
        {
            _applied = ready.CommittedEntries.Span[^1].LogId;
        }

        if (_outstandingPersists && _heldForOutstandingWrite is { Count: > 0 } held)
        {
            foreach (var message in held)
            {
                // An acknowledgement made under a leader this node has since left may describe
                // entries that a newer leader replaced before they became durable: drop it; the
                // old leader is superseded anyway.
                if (message is AppendEntriesResponse { Outcome: AppendEntriesOutcome.Success } ack && ack.Vote.LeaderId != _vote.LeaderId)
                {
                    continue;
                }

                Send(message);
            }

            held.Clear();
        }

        _heldForOutstandingWrite = null;
        _outstanding = null;
        _outstandingPersists = false;
        if (_role == RaftRole.Leader && ready.MustPersist)
        {
            MaybeCommit();
        }
        else if (_electedOnceVoteDurable && _role == RaftRole.Candidate && !_voteDirty && ready.Vote == _vote)
        {
            BecomeLeader();
        }

        if (_quiescent)
        {
            // The entries a quiescent node held until now are durable: no tick will release the buffer.
            ReleaseIdleBuffer();
        }

        UpdatePurge();
    }

    private Ready BuildReady()
    {
        if (_role == RaftRole.Leader)
        {
            FlushReplication();
            FlushReadRound();
        }

        Vote? vote = null;
        if (_voteDirty)
        {
            vote = _vote;
            _voteDirty = false;
        }

        bool truncate = _hasPendingTruncation;
        ulong truncateFrom = _pendingTruncateFrom;
        LogId? truncateAfter = null;
        if (truncate)
        {
            if (_purgedId is { } purged && truncateFrom <= purged.Index)
            {
                // Entries up to the purge point go with the purge (written after the truncation).
                truncateFrom = purged.Index + 1;
            }

            if (truncateFrom > 0)
            {
                if (!TryGetViewLogId(truncateFrom - 1, out var kept))
                {
                    throw new StorageInconsistencyException($"Node {_id}: entry {truncateFrom - 1} is missing from the log while truncating after it.");
                }

                truncateAfter = kept;
            }

            _hasPendingTruncation = false;
        }

        ReadOnlyMemory<Entry> entries = ReadOnlyMemory<Entry>.Empty;
        ulong lastNext = _lastLogId.NextIndex();
        if (lastNext > _handedOutEnd)
        {
            // Handed out without a copy: the buffer's slots in this range are not written again
            // while the Ready is outstanding (appends go after them, a truncation copies the
            // buffer first, and the shift in MarkDurable happens only at Advance).
            int offset = (int)(_handedOutEnd - _unstableStart);
            entries = new ReadOnlyMemory<Entry>(_unstable, offset, _unstableCount - offset);
            _handedOutEnd = lastNext;
        }

        LogId? committed = null;
        if (_committedDirty)
        {
            committed = _committed;
            _committedDirty = false;
        }

        var install = TakePendingInstall(out var installData, out var truncationBeforeInstall);
        bool persists = vote.HasValue || truncate || !entries.IsEmpty || install is not null;
        if (_heldForNextWrite is { Count: > 0 } waiting)
        {
            if (persists)
            {
                _heldForOutstandingWrite = waiting;
                _heldForNextWrite = null;
            }
            else
            {
                // Nothing is left unwritten, so nothing the responses depend on is pending.
                (_outbox ??= []).AddRange(waiting);
                waiting.Clear();
            }
        }

        IReadOnlyList<RaftMessage> messages = NoMessages;
        if (_outbox is { Count: > 0 } outbox)
        {
            messages = outbox;
            _outbox = null;
        }

        ReadOnlyMemory<Entry> toApply = ReadOnlyMemory<Entry>.Empty;
        if (_committed is { } c && c.Index >= _applyNext)
        {
            toApply = ReadEntries(_applyNext, c.Index + 1, _config.MaxApplyEntriesPerReady, int.MaxValue);
            _applyNext += (ulong)toApply.Length;
        }

        bool requestSnapshot = _snapshots is { Requested: true } || SnapshotPolicyDue(_applyNext);
        var ready = new Ready(vote, truncate, truncateFrom, truncateAfter, entries, committed, messages, toApply)
        {
            SnapshotToInstall = install,
            SnapshotData = installData,
            TruncationBeforeInstall = truncationBeforeInstall,
        };
        FillSnapshotWork(ready, requestSnapshot);
        FillReadStates(ready);
        _outstanding = ready;
        _outstandingPersists = persists;
        return ready;
    }
}
