using RaftToolkit.Core.Model;
using RaftToolkit.Core.Raft;
using RaftToolkit.Core.Raft.Log;
using RaftToolkit.Core.Storage;

namespace RaftToolkit.Testing.Simulation;

/// <summary>
/// One simulated node's durable state: the log, the vote and the committed id. What reaches
/// <see cref="Persist"/> is durable; a Ready that was handed out but not persisted is lost on a
/// crash. A failed write stops the store for good (fail-stop): later writes fail with the
/// original error, never silently succeed.
/// </summary>
public sealed class SimulatedStorage
{
    private Exception? _failure;

    /// <summary>The durable log (also the node's <see cref="IRaftLogSource"/>).</summary>
    public InMemoryRaftLog Log { get; } = new();

    /// <summary>The durable vote.</summary>
    public Vote Vote { get; private set; }

    /// <summary>The saved committed id.</summary>
    public LogId? Committed { get; private set; }

    /// <summary>The durable current snapshot's description, if any.</summary>
    public SnapshotMeta? Snapshot { get; private set; }

    /// <summary>The durable current snapshot's bytes.</summary>
    public ReadOnlyMemory<byte> SnapshotData { get; private set; }

    /// <summary>Keeps a snapshot the node's state machine built, unless the current one covers as much.</summary>
    public void SaveSnapshot(SnapshotMeta meta, ReadOnlyMemory<byte> data)
    {
        ArgumentNullException.ThrowIfNull(meta);
        if (LogIds.Compare(meta.LastLogId, Snapshot?.LastLogId) > 0)
        {
            Snapshot = meta;
            SnapshotData = data.ToArray();
        }
    }

    /// <summary>When set, the next write fails (and so do all after it).</summary>
    public bool FailNextWrite { get; set; }

    /// <summary>The error that stopped the store, if any.</summary>
    public Exception? Failure => _failure;

    /// <summary>Called for every entry made durable, with the id of the entry before it (for log-matching checks).</summary>
    public Action<LogId?, Entry>? OnEntryDurable { get; set; }

    /// <summary>Writes <paramref name="ready"/>'s vote, snapshot install, truncation, purge, entries and committed id as one atomic batch.</summary>
    /// <exception cref="StoreFailedException">This write or an earlier one failed.</exception>
    /// <exception cref="StorageInconsistencyException">The vote would go backwards.</exception>
    public void Persist(Ready ready)
    {
        ArgumentNullException.ThrowIfNull(ready);
        if (_failure is not null)
        {
            throw new StoreFailedException(_failure);
        }

        if (FailNextWrite)
        {
            _failure = new IOException("Simulated fsync failure.");
            throw new StoreFailedException(_failure);
        }

        if (ready.Vote is { } vote)
        {
            if (vote < Vote)
            {
                throw new StorageInconsistencyException($"Persisted vote would go backwards: {Vote} -> {vote}.");
            }

            Vote = vote;
        }

        if (ready.TruncationBeforeInstall is { } beforeInstall)
        {
            Log.TruncateFrom(beforeInstall.FromIndex);
        }

        if (ready.SnapshotToInstall is { } install)
        {
            Snapshot = install;
            SnapshotData = ready.SnapshotData.ToArray();
        }

        if (ready.HasTruncation)
        {
            Log.TruncateFrom(ready.TruncateFromIndex);
        }

        if (ready.PurgeUpTo is { } purge)
        {
            Log.Purge(purge);
        }

        var entries = ready.Entries.Span;
        if (OnEntryDurable is { } observe)
        {
            for (int i = 0; i < entries.Length; i++)
            {
                LogId? previous = null;
                if (i > 0)
                {
                    previous = entries[i - 1].LogId;
                }
                else if (entries[i].Index > 0 && Log.TryGetLogId(entries[i].Index - 1, out var before))
                {
                    previous = before;
                }

                observe(previous, entries[i]);
            }
        }

        Log.Append(entries);
        if (ready.Committed is { } committed)
        {
            Committed = committed;
        }
    }
}
