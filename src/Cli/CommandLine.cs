namespace RaftToolkit.Cli;

/// <summary>Parses <c>raftkit &lt;command&gt; [options]</c> and runs the command.</summary>
internal static class CommandLine
{
    private const string Usage = """
        raftkit demo [--groups N] [--seconds S] [--payload BYTES] [--workers W] [--snapshot-after E] [--keep]
            Three hosts in this process on RocksDB stores (GroupPrefixed) in a temporary
            directory, over the in-memory transport. Bootstraps N groups (default 1000), drives
            proposals for S seconds (default 10) and prints commits/s, commit latency and synced
            writes/s. --snapshot-after E snapshots each group every E applied entries and purges
            its log behind the snapshot (default 0: never). --keep leaves the stores on disk for
            `raftkit inspect`.
        raftkit inspect <path> [--log-family NAME] [--meta-family NAME] [--flat-group ID]
            Opens a store read-only and prints one row per group: first/last index, vote,
            committed, purged.
        raftkit verify <path> [--log-family NAME] [--meta-family NAME] [--flat-group ID]
            Opens a store read-only and checks every key and record: each meta record (vote,
            committed, last purged) and log record decodes, each log runs without a hole from
            its start (one past the last purged index, or 0) to its last entry, no entry is left
            at or below the last purged index, terms never decrease along a log, and no key is
            foreign to the key space. Prints a summary, then each problem with its group and
            index (at most 10 a group and 1,000 in all, with how many more there are). Writes
            and repairs nothing.
        raftkit entries <path> [--group ID] [--from INDEX] [--count N] [--log-family NAME] [--meta-family NAME] [--flat-group ID]
            Opens a store read-only and prints a group's entries, one row each: index, term and
            node of the leader that wrote it, kind, data length, and the first 16 bytes of data
            (or the membership). From INDEX (default: the first stored entry), N rows (default
            20). --group is needed for a group-prefixed store. A record that fails its checks
            is an error naming the group and index (exit code 1).

        inspect, verify and entries open the store's two column families (raft_log and
        raft_meta unless named otherwise, as in the store's options), in the key space the
        store's marker names, beside a running host if need be. A flat store does not record
        its group's id: its group is shown as --flat-group's (default 0). They see what was
        written up to their start.

        Exit codes: 0 done (verify: no problems found); 3 verify found problems; 1 the store could
        not be opened or read, or no command was given; 2 an unknown command or a bad argument.
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 1 : 0;
        }

        try
        {
            switch (args[0])
            {
                case "demo":
                    var options = DemoOptions.Parse(args.AsSpan(1));
                    await Demo.RunAsync(options).ConfigureAwait(false);
                    return 0;
                case "inspect":
                    return await Inspect.RunAsync(StoreSelection.Parse("inspect", args.AsSpan(1))).ConfigureAwait(false);
                case "verify":
                    return await Verify.RunAsync(StoreSelection.Parse("verify", args.AsSpan(1))).ConfigureAwait(false);
                case "entries":
                    return await Entries.RunAsync(args.AsSpan(1)).ConfigureAwait(false);
                default:
                    throw new ArgumentException($"Unknown command '{args[0]}'.");
            }
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"raftkit: {e.Message}");
            Console.Error.WriteLine(Usage);
            return 2;
        }
        catch (Exception e) when (e is RaftToolkit.Core.Storage.RaftStorageException or RocksDbSharp.RocksDbException)
        {
            // Not a usage error: the store could not be opened or read (no database there, a
            // database written before the key-space marker opened read-only, damage).
            Console.Error.WriteLine($"raftkit: {e.Message}");
            return 1;
        }
    }
}

/// <summary>The demo's settings.</summary>
internal sealed record DemoOptions(int Groups, int Seconds, int PayloadBytes, int Workers, bool Keep, int SnapshotAfterEntries = 0)
{
    public static DemoOptions Parse(ReadOnlySpan<string> args)
    {
        int groups = 1000, seconds = 10, payload = 128, workers = Environment.ProcessorCount;
        bool keep = false;
        int snapshotAfter = 0;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--groups": groups = ParseInt(args, ref i, 1, 1_000_000); break;
                case "--seconds": seconds = ParseInt(args, ref i, 1, 86_400); break;
                case "--payload": payload = ParseInt(args, ref i, 1, 1 << 20); break;
                case "--workers": workers = ParseInt(args, ref i, 1, 1024); break;
                case "--keep": keep = true; break;
                case "--snapshot-after": snapshotAfter = ParseInt(args, ref i, 0, int.MaxValue); break;
                default: throw new ArgumentException($"Unknown demo option '{args[i]}'.");
            }
        }

        return new DemoOptions(groups, seconds, payload, workers, keep, snapshotAfter);
    }

    private static int ParseInt(ReadOnlySpan<string> args, ref int i, int min, int max)
    {
        string name = args[i];
        if (++i >= args.Length || !int.TryParse(args[i], out int value) || value < min || value > max)
        {
            throw new ArgumentException($"{name} needs a whole number between {min} and {max}.");
        }

        return value;
    }
}
