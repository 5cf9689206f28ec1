using System.Globalization;
using RaftToolkit.Core.Model;

namespace RaftToolkit.Cli;

/// <summary>Prints a group's log entries, one row each, without writing to the store.</summary>
internal static class Entries
{
    /// <summary>Rows printed unless <c>--count</c> says otherwise.</summary>
    public const int DefaultCount = 20;

    /// <summary>The most rows one run prints.</summary>
    public const int MaxCount = 100_000;

    /// <summary>Bytes of a normal entry's data shown, in hex.</summary>
    private const int ShownDataBytes = 16;

    /// <summary>Parses <c>entries</c>' arguments and prints the entries.</summary>
    public static Task<int> RunAsync(ReadOnlySpan<string> args)
    {
        ulong? group = null;
        ulong? from = null;
        int count = DefaultCount;
        var selection = StoreSelection.Parse("entries", args, new Dictionary<string, Action<string>>
        {
            ["--group"] = value => group = StoreSelection.ParseId("--group", value),
            ["--from"] = value => from = StoreSelection.ParseId("--from", value),
            ["--count"] = value => count = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n is >= 1 and <= MaxCount
                ? n
                : throw new ArgumentException($"--count needs a whole number from 1 to {MaxCount:N0}, not '{value}'."),
        });
        return RunAsync(selection, group, from, count);
    }

    private static async Task<int> RunAsync(StoreSelection selection, ulong? groupId, ulong? from, int count)
    {
        var opened = ReadOnlyStore.Open(selection);
        await using (opened.ConfigureAwait(false))
        {
            var store = opened.Store;
            // A flat store holds one group, whatever id it is shown as; a group-prefixed one needs to be told which.
            ulong group = groupId
                ?? (store.KeySpace == Native.Keys.LogKeySpace.Flat ? selection.FlatGroupId : throw new ArgumentException("entries needs --group ID for a group-prefixed store."));
            var log = store.ForGroup(group);
            var state = await log.GetLogStateAsync().ConfigureAwait(false);
            ulong first = state.LastPurgedLogId.NextIndex();
            if (state.LastLogId is not { } last || last.Index < first)
            {
                Console.WriteLine($"{selection.Path}: group {group} has no entries (last purged {state.LastPurgedLogId?.ToString() ?? "none"}).");
                return 0;
            }

            // From where asked, but not below the first stored entry; count rows at most, not past the last.
            ulong start = Math.Max(from ?? first, first);
            if (start > last.Index)
            {
                Console.WriteLine($"{selection.Path}: group {group}, entries {first} to {last.Index}; none from {start}.");
                return 0;
            }

            ulong end = last.Index - start < (ulong)count ? last.Index : start + (ulong)count - 1;
            Console.WriteLine($"{selection.Path}: group {group}, entries {first} to {last.Index}; showing {start} to {end}:");
            Console.WriteLine($"{"index",10} {"term-node",-16} {"kind",-10} {"bytes",8} data");
            foreach (var entry in await log.TryGetLogEntriesAsync(start, end + 1).ConfigureAwait(false))
            {
                Console.WriteLine($"{entry.Index,10} {entry.LogId.LeaderId,-16} {entry.Kind,-10} {entry.Data.Length,8} {Describe(entry)}");
            }
        }

        return 0;
    }

    private static string Describe(Entry entry) => entry.Kind switch
    {
        EntryKind.Membership => entry.Membership!.ToString(),
        EntryKind.Normal when entry.Data.Length > ShownDataBytes => Convert.ToHexString(entry.Data.Span[..ShownDataBytes]) + "…",
        EntryKind.Normal => Convert.ToHexString(entry.Data.Span),
        _ => "",
    };
}
