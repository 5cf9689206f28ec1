using RaftToolkit.Native;
using RaftToolkit.Native.Keys;
using RocksDbSharp;

namespace RaftToolkit.Cli;

/// <summary>Prints what a GroupPrefixed store holds, per group, without writing to it.</summary>
internal static class Inspect
{
    public static async Task<int> RunAsync(string path)
    {
        if (!Directory.Exists(path))
        {
            throw new ArgumentException($"No store at '{path}'.");
        }

        var options = new RocksDbLogStoreOptions { KeySpace = LogKeySpace.GroupPrefixed, CreateIfMissing = false };
        var families = new ColumnFamilies();
        families.Add(options.LogColumnFamily, new ColumnFamilyOptions());
        families.Add(options.MetaColumnFamily, new ColumnFamilyOptions());

        // Read-only: a running host may own the directory, and inspecting must never change it.
        // With the WAL wherever the store keeps it, or the writes not yet in table files are missed.
        using var db = RocksDb.OpenReadOnly(new DbOptions().SetWalDir(RocksDbLogStore.WalDirectoryOf(path)), path, families, false);
        var store = RocksDbLogStore.Attach(db, options);
        try
        {
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
        finally
        {
            await store.DisposeAsync().ConfigureAwait(false);
        }

        return 0;
    }
}
