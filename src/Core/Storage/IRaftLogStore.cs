using RaftToolkit.Core.Model;

namespace RaftToolkit.Core.Storage;

/// <summary>
/// One group's durable log (openraft's <c>RaftLogStorage</c>, v2 semantics). Writes of one
/// group apply in the order they are issued.
/// </summary>
public interface IRaftLogStore : IRaftLogReader
{
    /// <summary>
    /// The last purged id and the last log id; the last log id falls back to the last purged id
    /// when no entry is left.
    /// </summary>
    ValueTask<LogState> GetLogStateAsync(CancellationToken cancellationToken = default);

    /// <summary>A reader of this log that may be used concurrently with writes.</summary>
    IRaftLogReader GetReader();

    /// <summary>Persists <paramref name="vote"/>; durable when the task completes.</summary>
    ValueTask SaveVoteAsync(Vote vote, CancellationToken cancellationToken = default);

    /// <summary>Records the committed id (need not be durable on its own).</summary>
    ValueTask SaveCommittedAsync(LogId? committed, CancellationToken cancellationToken = default);

    /// <summary>The last committed id saved, if any.</summary>
    ValueTask<LogId?> ReadCommittedAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends <paramref name="entries"/>, which must follow the last entry with no hole.
    /// The entries are readable when the task completes; <paramref name="callback"/> fires when
    /// they are durable, and readable by then (or with the error that made them never durable). Callbacks fire in the
    /// order the appends were issued: an empty append writes nothing, and its callback fires once
    /// the group's earlier writes are durable.
    /// </summary>
    /// <remarks>
    /// Consume the returned task exactly once (await it, or read its result), even when the
    /// callback is all the caller needs: as with any <see cref="ValueTask"/>, a store may pool
    /// and reuse what backs it, and a task that is never consumed is never given back.
    /// </remarks>
    /// <exception cref="LogOrderException">The first entry does not follow the last one, or the batch is not contiguous.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An entry's index is past <see cref="LogIndexes.Max"/>.</exception>
    ValueTask AppendAsync(ReadOnlyMemory<Entry> entries, IFlushCallback callback, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes every entry after <paramref name="logId"/>; every entry when null. Name the id of
    /// a stored entry, or the last purged id: the log then ends at that entry (at the purged id
    /// when <paramref name="logId"/>'s index is the last purged index).
    /// </summary>
    /// <exception cref="LogOrderException"><paramref name="logId"/>'s index is below the last purged index, or it is null when entries are purged.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="logId"/>'s index is past <see cref="LogIndexes.Max"/>.</exception>
    ValueTask TruncateAfterAsync(LogId? logId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes every entry up to and including <paramref name="logId"/> and records it as the
    /// last purged id in the same atomic write. Purging past the end empties the log.
    /// </summary>
    /// <exception cref="LogOrderException"><paramref name="logId"/>'s index is below the last purged index.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="logId"/>'s index is past <see cref="LogIndexes.Max"/>.</exception>
    ValueTask PurgeAsync(LogId logId, CancellationToken cancellationToken = default);
}
