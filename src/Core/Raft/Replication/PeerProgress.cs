using RaftToolkit.Core.Model;

namespace RaftToolkit.Core.Raft.Replication;

/// <summary>How the leader currently replicates to one follower.</summary>
internal enum ReplicationState : byte
{
    /// <summary>The follower's position is unknown: one request at a time until one matches.</summary>
    Probe = 0,

    /// <summary>The follower matched: requests are pipelined up to the in-flight window.</summary>
    Replicate = 1,

    /// <summary>The follower needs entries the leader purged: a snapshot is sent, one chunk at a time.</summary>
    Snapshot = 2,
}

/// <summary>
/// The leader's view of one follower (or learner). Exists only while the node leads, so a
/// follower group pays nothing for it; what only some states need is allocated for them.
/// </summary>
internal sealed class PeerProgress
{
    /// <summary>Ring of the last index carried by each unacknowledged request; allocated on first use, grown up to the window.</summary>
    private ulong[]? _inflightEnds;
    private int _inflightHead;
    private int _inflightCount;

    /// <summary>Snapshot only: the transfer in progress.</summary>
    private SnapshotTransfer? _snapshot;

    public PeerProgress(ulong nodeId, ulong nextIndex)
    {
        NodeId = nodeId;
        NextIndex = nextIndex;
        RecentActive = true;
    }

    public ulong NodeId { get; }

    /// <summary>The last log id known to be durable on the follower and equal to the leader's; none until it answers.</summary>
    public LogId? Matched
    {
        get;
        private set
        {
            // Matched only grows, so "changed since the beat" is "differs from what it was then".
            field = value;
            MatchedSinceBeat = true;
        }
    }

    /// <summary>The next index to send. Invariant: Matched.NextIndex() &lt;= NextIndex.</summary>
    public ulong NextIndex { get; set; }

    public ReplicationState State { get; private set; }

    /// <summary>Probe only: a probe is out; the next one waits for an answer or the next heartbeat.</summary>
    public bool ProbeSent { get; set; }

    /// <summary>Heard from since the last check-quorum period.</summary>
    public bool RecentActive { get; set; }

    /// <summary>Matched advanced since the last <see cref="MarkBeat"/>: false for a pipeline whose requests were all lost.</summary>
    public bool MatchedSinceBeat { get; private set; }

    /// <summary>Heartbeats since <see cref="Matched"/> last advanced while requests were in flight.</summary>
    public int StalledBeats { get; set; }

    public int InflightCount => _inflightCount;

    /// <summary>Leader ticks since this follower last answered anything; past a limit it no longer holds the purge back.</summary>
    public int TicksSinceHeard { get; set; }

    /// <summary>The greatest read round this follower confirmed under the current leadership.</summary>
    public ulong ReadAckedRound { get; set; }

    /// <summary>Snapshot only: the snapshot being sent (kept with its bytes even if a newer one is built meanwhile).</summary>
    public SnapshotMeta? SendingSnapshot => _snapshot?.Meta;

    /// <summary>Snapshot only: the bytes of <see cref="SendingSnapshot"/>.</summary>
    public ReadOnlyMemory<byte> SendingSnapshotData => _snapshot?.Data ?? default;

    /// <summary>Snapshot only: the offset of the chunk in flight (every byte before it is acknowledged).</summary>
    public ulong SnapshotOffset
    {
        get => _snapshot?.Offset ?? 0;
        set => _snapshot!.Offset = value;
    }

    /// <summary>Records a heartbeat: <see cref="MatchedSinceBeat"/> starts over.</summary>
    public void MarkBeat() => MatchedSinceBeat = false;

    /// <summary>Starts sending <paramref name="meta"/> from its first byte.</summary>
    public void BecomeSnapshot(SnapshotMeta meta, ReadOnlyMemory<byte> data)
    {
        State = ReplicationState.Snapshot;
        _snapshot = new SnapshotTransfer(meta, data);
        ProbeSent = false;
        StalledBeats = 0;
        ClearInflight();
    }

    /// <summary>The follower holds the snapshot ending at <paramref name="last"/>: replicate the log after it.</summary>
    public void OnSnapshotInstalled(LogId last)
    {
        if (Matched is not { } current || last.Index > current.Index)
        {
            Matched = last;
        }

        NextIndex = Matched.NextIndex();
        State = ReplicationState.Replicate;
        ForgetSnapshot();
        ProbeSent = false;
        StalledBeats = 0;
        ClearInflight();
    }

    private void ForgetSnapshot() => _snapshot = null;

    public bool InflightFull(int window) => _inflightCount >= window;

    /// <summary>Records an acknowledgement; returns true when <see cref="Matched"/> advanced.</summary>
    public bool OnMatched(LogId? matched)
    {
        bool advanced = false;
        if (matched is { } m && (Matched is not { } current || m.Index > current.Index))
        {
            Matched = m;
            advanced = true;
        }

        ulong matchedNext = Matched.NextIndex();
        if (NextIndex < matchedNext)
        {
            NextIndex = matchedNext;
        }

        if (Matched is { } known)
        {
            FreeTo(known.Index);
        }

        if (State == ReplicationState.Probe && matchedNext >= NextIndex)
        {
            // The follower holds everything before the probe's point (the probe's own answer
            // says so): its position is known, pipeline from there. A success that proves less,
            // such as the answer to a heartbeat sent from an older match while the probe is out,
            // leaves the probe where it is: pipelining from there would re-send the follower
            // entries it holds, from index 0 for one that has matched nothing yet.
            State = ReplicationState.Replicate;
            NextIndex = matchedNext;
            ClearInflight();
            ProbeSent = false;
        }

        return advanced;
    }

    /// <summary>Goes back to probing from <paramref name="nextIndex"/> (never before what is matched).</summary>
    public void BecomeProbe(ulong nextIndex)
    {
        State = ReplicationState.Probe;
        ForgetSnapshot();
        NextIndex = Math.Max(nextIndex, Matched.NextIndex());
        ProbeSent = false;
        StalledBeats = 0;
        ClearInflight();
    }

    public void AddInflight(ulong lastIndex, int window)
    {
        _inflightEnds ??= new ulong[Math.Min(window, 8)];
        if (_inflightCount == _inflightEnds.Length)
        {
            var grown = new ulong[Math.Min(window, _inflightEnds.Length * 2)];
            for (int i = 0; i < _inflightCount; i++)
            {
                grown[i] = _inflightEnds[(_inflightHead + i) % _inflightEnds.Length];
            }

            _inflightEnds = grown;
            _inflightHead = 0;
        }

        _inflightEnds[(_inflightHead + _inflightCount) % _inflightEnds.Length] = lastIndex;
        _inflightCount++;
    }

    private void FreeTo(ulong index)
    {
        while (_inflightCount > 0 && _inflightEnds![_inflightHead] <= index)
        {
            _inflightHead = (_inflightHead + 1) % _inflightEnds.Length;
            _inflightCount--;
        }
    }

    private void ClearInflight()
    {
        _inflightHead = 0;
        _inflightCount = 0;
    }

    /// <summary>Gives back the in-flight ring when nothing is in flight (a quiescent leader's peers need none until it wakes).</summary>
    public void ReleaseIdleBuffers()
    {
        if (_inflightCount == 0)
        {
            _inflightEnds = null;
            _inflightHead = 0;
        }
    }

    /// <summary>A snapshot being sent: which one, its bytes, and how far the follower acknowledged.</summary>
    private sealed class SnapshotTransfer(SnapshotMeta meta, ReadOnlyMemory<byte> data)
    {
        public SnapshotMeta Meta { get; } = meta;

        public ReadOnlyMemory<byte> Data { get; } = data;

        public ulong Offset;
    }
}
