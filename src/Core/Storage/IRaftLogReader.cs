using RaftToolkit.Core.Model;

namespace RaftToolkit.Core.Storage;

/// <summary>
/// Reads one group's log (openraft's <c>RaftLogReader</c>, v2 semantics). A reader may be held
/// across writes: it always sees the entries appended before each call.
/// </summary>
public interface IRaftLogReader
{
    /// <summary>
    /// The entries in <c>[start, end)</c> that exist. Holes appear only at the ends (purged
    /// entries before, missing entries after): what is returned is contiguous.
    /// </summary>
    ValueTask<IReadOnlyList<Entry>> TryGetLogEntriesAsync(ulong start, ulong end, CancellationToken cancellationToken = default);

    /// <summary>
    /// Like <see cref="TryGetLogEntriesAsync"/>, but may return fewer entries (a store bounds a
    /// read by count or bytes); returns at least the first entry when it exists.
    /// </summary>
    ValueTask<IReadOnlyList<Entry>> LimitedGetLogEntriesAsync(ulong start, ulong end, CancellationToken cancellationToken = default);

    /// <summary>The id of the entry at <paramref name="index"/>.</summary>
    /// <exception cref="LogEntryNotFoundException">The index is purged or past the end.</exception>
    ValueTask<LogId> GetLogIdAsync(ulong index, CancellationToken cancellationToken = default);

    /// <summary>The persisted vote, if one was ever saved.</summary>
    ValueTask<Vote?> ReadVoteAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Streams the entries in <c>[start, end)</c> that exist, in order, as one contiguous run of
    /// the log. A store may read a long range in chunks; if the log changes between two chunks
    /// so that it no longer holds the last entry streamed (a purge past it, or a truncation and
    /// new appends), the stream ends there rather than skip entries or splice two logs.
    /// </summary>
    IAsyncEnumerable<Entry> EntriesStreamAsync(ulong start, ulong end, CancellationToken cancellationToken = default);

    /// <summary>
    /// Streams the entries in <c>[start, end)</c> while <paramref name="leader"/> is still the
    /// committed leader this store voted for. If the persisted vote is not a committed vote for
    /// that leader, the stream fails once with <see cref="LeaderChangedException"/> and ends.
    /// Like <see cref="EntriesStreamAsync"/>, it is one contiguous run of the log.
    /// </summary>
    IAsyncEnumerable<Entry> LeaderBoundedStreamAsync(LeaderId leader, ulong start, ulong end, CancellationToken cancellationToken = default);
}
