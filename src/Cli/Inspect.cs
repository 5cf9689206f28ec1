namespace RaftToolkit.Cli;

/// <summary>Prints what a store holds, per group, without writing to it.</summary>
internal static class Inspect
{
    public static async Task<int> RunAsync(StoreSelection selection)
    {
        string path = selection.Path;
        var opened = ReadOnlyStore.Open(selection);
        await using (opened.ConfigureAwait(false))
        {
            var store = opened.Store;
            var groups = await store.ListGroupsAsync().ConfigureAwait(false);
            Console.WriteLine($"{path}: {groups.Count:N0} groups");
            Console.WriteLine($"{"group",10} {"first",10} {"last",10} {"vote",-24} {"committed",-16} {"purged",-16}");
            foreach (var group in groups)
            {
                var log = store.ForGroup(group);
                var state = await log.GetLogStateAsync().ConfigureAwait(false);
                var vote = await log.ReadVoteAsync().ConfigureAwait(false);
                var committed = await log.ReadCommittedAsync().ConfigureAwait(false);
                bool hasEntries = state.LastLogId is { } last && (state.LastPurgedLogId is not { } purged || last.Index > purged.Index);
                string first = hasEntries ? (state.LastPurgedLogId is { } p ? p.Index + 1 : 0).ToString(System.Globalization.CultureInfo.InvariantCulture) : "-";
                string lastIndex = hasEntries ? state.LastLogId!.Value.Index.ToString(System.Globalization.CultureInfo.InvariantCulture) : "-";
                Console.WriteLine($"{group,10} {first,10} {lastIndex,10} {vote?.ToString() ?? "-",-24} {committed?.ToString() ?? "-",-16} {state.LastPurgedLogId?.ToString() ?? "-",-16}");
            }
        }

        return 0;
    }
}
