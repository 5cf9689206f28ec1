using System.Runtime.CompilerServices;
using RaftToolkit.Core.Model;

namespace RaftToolkit.Core.Storage;

/// <summary>
/// The entries stream of <see cref="IRaftLogReader"/>, for a store that reads a long range chunk
/// by chunk: it keeps the stream one contiguous run of the log, as the contract promises.
/// </summary>
public static class LogStreams
{
    /// <summary>
    /// Streams the entries in <c>[start, end)</c> that exist, in order, reading them with
    /// <paramref name="readChunk"/>. Each chunk after the first is read from the last entry
    /// streamed; if the log no longer holds that entry (a purge or a truncation overtook the
    /// stream), the stream ends there rather than skip entries or splice in another term's.
    /// </summary>
    /// <param name="start">The first index wanted.</param>
    /// <param name="end">One past the last index wanted; at least <paramref name="start"/> (callers check).</param>
    /// <param name="readChunk">
    /// Reads the entries that exist in <c>[from, end)</c>, in order, as many as the store likes
    /// (at least two, if there are two, so that a stream moves on); called once per chunk, and
    /// may throw to end the stream (a leader-bounded stream's <see cref="LeaderChangedException"/>).
    /// </param>
    /// <param name="cancellationToken">Checked before every chunk.</param>
    public static async IAsyncEnumerable<Entry> ContiguousAsync(
        ulong start,
        ulong end,
        Func<ulong, ulong, CancellationToken, ValueTask<IReadOnlyList<Entry>>> readChunk,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(readChunk);
        LogId? streamed = null;
        while ((streamed is { } last ? last.Index + 1 : start) < end)
        {
            cancellationToken.ThrowIfCancellationRequested();

            // After the first chunk, the first entry read is the last one streamed again: the check.
            int resume = streamed is null ? 0 : 1;
            var chunk = await readChunk(streamed?.Index ?? start, end, cancellationToken).ConfigureAwait(false);
            if (chunk.Count <= resume || (streamed is { } previous && chunk[0].LogId != previous))
            {
                yield break;
            }

            for (int i = resume; i < chunk.Count; i++)
            {
                yield return chunk[i];
            }

            streamed = chunk[^1].LogId;
        }
    }
}
