using System.Collections.Concurrent;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Testing.Storage;

namespace RaftToolkit.Core.Tests.Host;

/// <summary>An in-memory multi-group store that records how many groups each batch write spans, and can be told to fail.</summary>
internal sealed class RecordingStore : IMultiGroupLogStore
{
    private readonly InMemoryMultiGroupLogStore _inner = new();

    /// <summary>For each WriteAsync call: how many distinct groups its batch touched.</summary>
    public ConcurrentQueue<int> GroupsPerWrite { get; } = new();

    /// <summary>For each WriteAsync call: how many distinct groups its batch purged.</summary>
    public ConcurrentQueue<int> PurgedGroupsPerWrite { get; } = new();

    /// <summary>When set, every later WriteAsync fails with it (and writes nothing).</summary>
    public Exception? FailWith { get; set; }

    public IRaftLogStore ForGroup(ulong groupId) => _inner.ForGroup(groupId);

    public ValueTask<IReadOnlyList<ulong>> ListGroupsAsync(CancellationToken cancellationToken = default) => _inner.ListGroupsAsync(cancellationToken);

    /// <summary>When set, group removals start (and signal <see cref="RemovalStarted"/>) but wait for it to complete.</summary>
    public TaskCompletionSource? HoldRemovals { get; set; }

    public TaskCompletionSource RemovalStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask RemoveGroupAsync(ulong groupId, CancellationToken cancellationToken = default)
    {
        RemovalStarted.TrySetResult();
        if (HoldRemovals is { } hold)
        {
            await hold.Task.ConfigureAwait(false);
        }

        await _inner.RemoveGroupAsync(groupId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// When set, a write that appends entries reports their ids in <see cref="AppendHeld"/> and
    /// waits for this to complete before it writes anything: the write is still in progress.
    /// </summary>
    public TaskCompletionSource? HoldAppends { get; set; }

    /// <summary>Completes with the ids of the entries the first write held by <see cref="HoldAppends"/> appends.</summary>
    public TaskCompletionSource<LogId[]> AppendHeld { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask WriteAsync(LogWriteBatch batch, CancellationToken cancellationToken = default)
    {
        if (FailWith is { } error)
        {
            throw error;
        }

        if (HoldAppends is { } hold && batch.EntryCount > 0)
        {
            var appended = new List<LogId>();
            foreach (var op in batch.Operations)
            {
                foreach (var entry in op.Entries.Span)
                {
                    appended.Add(entry.LogId);
                }
            }

            AppendHeld.TrySetResult([.. appended]);
            await hold.Task.ConfigureAwait(false);
        }

        var groups = new HashSet<ulong>();
        var purged = new HashSet<ulong>();
        foreach (var op in batch.Operations)
        {
            groups.Add(op.GroupId);
            if (op.Kind == LogWriteOpKind.Purge)
            {
                purged.Add(op.GroupId);
            }
        }

        GroupsPerWrite.Enqueue(groups.Count);
        PurgedGroupsPerWrite.Enqueue(purged.Count);
        await _inner.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => _inner.DisposeAsync();
}
