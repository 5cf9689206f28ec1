using System.Diagnostics;
using System.Text.RegularExpressions;
using RaftToolkit.Core.Model;
using RaftToolkit.Native.Keys;
using RaftToolkit.Native.Tests.Records;
using static RaftToolkit.Native.Tests.TestEntries;

namespace RaftToolkit.Native.Tests.Cli;

/// <summary>
/// <c>raftkit inspect</c>, <c>raftkit verify</c> and <c>raftkit entries</c>, run as an operator
/// runs them: the built <c>raftkit</c> in a child process, on a real store (left open by this
/// process where a running host would hold it), judged by exit code and output.
/// </summary>
public sealed partial class CommandLineTests : IDisposable
{
    private static readonly TimeSpan ChildTimeout = TimeSpan.FromMinutes(2);

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private sealed record Run(int ExitCode, string Output, string Error)
    {
        /// <summary>The output's lines, without empty ones.</summary>
        public string[] Lines => Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        /// <summary>Asserts the exit code; on failure, shows the whole run.</summary>
        public void AssertExited(int code, string? what = null) => Assert.True(ExitCode == code, what is null ? ToString() : $"{what}: {this}");

        public override string ToString() => $"exit code {ExitCode}\n--- stdout\n{Output}--- stderr\n{Error}";
    }

    /// <summary>Runs <c>raftkit verify</c> on <paramref name="path"/>, which must exit 3 (problems found) and print <paramref name="expectedLines"/> lines; returns them.</summary>
    private static async Task<string[]> VerifyFindingProblems(string path, int expectedLines)
    {
        var run = await RunRaftkit("verify", path);

        run.AssertExited(3);
        var lines = run.Lines;
        Assert.True(lines.Length == expectedLines, run.ToString());
        return lines;
    }

    /// <summary>Runs <c>raftkit</c> with <paramref name="args"/> and waits for it to exit.</summary>
    private static async Task<Run> RunRaftkit(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "raftkit.dll"));
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start raftkit");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(ChildTimeout);
        return new Run(process.ExitCode, await output, await error);
    }

    /// <summary>Groups 1..3, each with entries 0..9 of term 1; group 2 purged up to 3 and with a vote and a committed id.</summary>
    private async Task<(RocksDbLogStore Store, string Path)> OpenStore()
    {
        string path = _dir.Sub("store");
        var store = RocksDbLogStore.Open(path, new RocksDbLogStoreOptions { SyncMode = LogSyncMode.NoSync });
        for (ulong group = 1; group <= 3; group++)
        {
            await store.ForGroup(group).AppendAsync(Range(1, 0, 10), IgnoringCallback.Instance);
        }

        var two = store.ForGroup(2);
        await two.PurgeAsync(Id(1, 3));
        await two.SaveVoteAsync(new Vote(new LeaderId(1, 7), true));
        await two.SaveCommittedAsync(Id(1, 8));
        return (store, path);
    }

    [Fact]
    public async Task InspectPrintsOneRowPerGroupWithItsLogEndsVoteAndMarks()
    {
        var (store, path) = await OpenStore();
        await using var _ = store;

        var run = await RunRaftkit("inspect", path);

        run.AssertExited(0);
        var lines = run.Lines;
        Assert.True(lines.Length == 5, run.ToString());
        Assert.Equal($"{path}: 3 groups", lines[0]);
        Assert.Equal(["group", "first", "last", "vote", "committed", "purged"], Columns(lines[1]));
        Assert.Equal(["1", "0", "9", "-", "-", "-"], Columns(lines[2]));
        Assert.Equal(["2", "4", "9", "T1-N7:committed", "T1-N0.8", "T1-N0.3"], Columns(lines[3]));
        Assert.Equal(["3", "0", "9", "-", "-", "-"], Columns(lines[4]));
    }

    [Fact]
    public async Task InspectShowsNoEntriesForALogPurgedUpToItsLastEntry()
    {
        var (store, path) = await OpenStore();
        await using var _ = store;
        await store.ForGroup(3).PurgeAsync(Id(1, 9));

        var run = await RunRaftkit("inspect", path);

        run.AssertExited(0);
        var lines = run.Lines;
        Assert.True(lines.Length == 5, run.ToString());
        Assert.Equal(["3", "-", "-", "-", "-", "T1-N0.9"], Columns(lines[4]));
    }

    /// <summary>
    /// A copy of a store shows its own entries, not those its original was written with since;
    /// and a store moved elsewhere opens where it is now. Both keep their WAL beside their data.
    /// </summary>
    [Fact]
    public async Task ACopiedOrMovedStoreShowsItsOwnEntries()
    {
        var (store, path) = await OpenStore();
        await store.DisposeAsync();
        string copy = _dir.Sub("copy");
        RocksDbLogStoreOptionsTests.CopyDirectory(path, copy);
        await using (var original = RocksDbLogStore.Open(path, new RocksDbLogStoreOptions { SyncMode = LogSyncMode.NoSync }))
        {
            await original.ForGroup(1).TruncateAfterAsync(Id(1, 4));
            await original.ForGroup(1).AppendAsync(Range(2, 5, 10), IgnoringCallback.Instance);
        }

        var entries = await RunRaftkit("entries", copy, "--group", "1", "--count", "100");

        entries.AssertExited(0);
        Assert.Contains(entries.Lines, line => line.Contains("entries 0 to 9;", StringComparison.Ordinal));
        string moved = _dir.Sub("moved");
        Directory.Move(copy, moved);
        (await RunRaftkit("inspect", moved)).AssertExited(0);
    }

    [Fact]
    public async Task VerifyOfACleanStoreExitsZeroAndSaysWhatItChecked()
    {
        var (store, path) = await OpenStore();
        await using var _ = store;

        var run = await RunRaftkit("verify", path);

        run.AssertExited(0);
        Assert.Equal($"{path}: GroupPrefixed key space, 3 groups, 26 entries checked: no problems\n", run.Output);
    }

    [Fact]
    public async Task VerifyOfADamagedStoreExitsThreeAndNamesTheGroupAndIndexOfEachProblem()
    {
        var (store, path) = await OpenStore();
        await using var _ = store;
        StoreDamage.Tamper(store, LogKeySpace.GroupPrefixed, 1, 5, record => record[record.Length / 2] ^= 0x10);
        StoreDamage.DeleteLogKey(store, LogKeySpace.GroupPrefixed, 3, 7);

        var lines = await VerifyFindingProblems(path, expectedLines: 3);
        Assert.Equal($"{path}: GroupPrefixed key space, 3 groups, 25 entries checked: 2 problems in 2 groups", lines[0]);
        Assert.StartsWith("Corrupted log record in group 1 at index 5: checksum mismatch", lines[1], StringComparison.Ordinal);
        Assert.Equal("Group 3: the log has a hole: entry 7 is missing (index 8 follows 6).", lines[2]);
    }

    [Fact]
    public async Task VerifyListsTenProblemsOfAGroupAndSaysHowManyMoreItHas()
    {
        string path = _dir.Sub("many problems");
        await using var store = RocksDbLogStore.Open(path, new RocksDbLogStoreOptions { SyncMode = LogSyncMode.NoSync });
        await store.ForGroup(1).AppendAsync(Range(1, 0, 15), IgnoringCallback.Instance);
        for (ulong index = 0; index < 15; index++)
        {
            StoreDamage.Tamper(store, LogKeySpace.GroupPrefixed, 1, index, record => record[0] = 9);
        }

        var lines = await VerifyFindingProblems(path, expectedLines: 12);
        Assert.Equal($"{path}: GroupPrefixed key space, 1 group, 15 entries checked: 15 problems in 1 group", lines[0]);
        Assert.StartsWith("Corrupted log record in group 1 at index 9:", lines[10], StringComparison.Ordinal);
        Assert.Equal("Group 1: 5 more problems not listed.", lines[11]);
    }

    /// <summary>
    /// Past the 1,000 problems listed, the groups reached later have none listed: one line
    /// counts their problems.
    /// </summary>
    [Fact]
    public async Task VerifyCountsTheProblemsOfTheGroupsPastTheListingInOneLine()
    {
        string path = _dir.Sub("a thousand problems");
        await using var store = RocksDbLogStore.Open(path, new RocksDbLogStoreOptions { SyncMode = LogSyncMode.NoSync });
        for (ulong group = 1; group <= 1005; group++)
        {
            StoreDamage.PutMetaKey(store, [.. StoreDamage.LogKey(LogKeySpace.GroupPrefixed, group, 0)[..sizeof(ulong)], LogKeys.MetaSeparator, .. "term"u8], [1]);
        }

        var lines = await VerifyFindingProblems(path, expectedLines: 1002);
        Assert.Equal($"{path}: GroupPrefixed key space, 1,005 groups, 0 entries checked: 1,005 problems in 1,005 groups", lines[0]);
        Assert.StartsWith("Group 1000: the meta key", lines[1000], StringComparison.Ordinal);
        Assert.Equal("5 more problems in groups not listed (the listing stops at 1,000).", lines[1001]);
    }

    [Fact]
    public async Task VerifyOfAFlatStoreChecksItsOneGroup()
    {
        string path = _dir.Sub("flat");
        await using var store = RocksDbLogStore.Open(path, new RocksDbLogStoreOptions { KeySpace = LogKeySpace.Flat, SyncMode = LogSyncMode.NoSync });
        await store.AppendAsync(Range(1, 0, 4), IgnoringCallback.Instance);
        StoreDamage.Tamper(store, LogKeySpace.Flat, 0, 2, record => record[0] = 9);

        var run = await RunRaftkit("verify", path);

        run.AssertExited(3);
        Assert.StartsWith($"{path}: Flat key space, 1 group, 4 entries checked: 1 problem in 1 group\nCorrupted log record in group 0 at index 2: format version 9", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AStoreOverOtherColumnFamiliesIsOpenedByTheirNamesAndWithoutThemTheErrorListsThem()
    {
        string path = _dir.Sub("named");
        var options = new RocksDbLogStoreOptions { LogColumnFamily = "tenants_log", MetaColumnFamily = "tenants_meta", SyncMode = LogSyncMode.NoSync };
        await using var store = RocksDbLogStore.Open(path, options);
        await store.ForGroup(4).AppendAsync(Range(2, 0, 3), IgnoringCallback.Instance);

        var unnamed = await RunRaftkit("inspect", path);
        var metaUnnamed = await RunRaftkit("entries", path, "--log-family", "tenants_log", "--group", "4");
        var inspect = await RunRaftkit("inspect", path, "--log-family", "tenants_log", "--meta-family", "tenants_meta");
        var verify = await RunRaftkit("verify", "--meta-family", "tenants_meta", path, "--log-family", "tenants_log");

        unnamed.AssertExited(1);
        Assert.Contains("has no column family 'raft_log'", unnamed.Error, StringComparison.Ordinal);
        Assert.Contains("It has: default, tenants_log, tenants_meta.", unnamed.Error, StringComparison.Ordinal);
        Assert.Contains("--log-family and --meta-family", unnamed.Error, StringComparison.Ordinal);
        metaUnnamed.AssertExited(1);
        Assert.Contains("has no column family 'raft_meta'", metaUnnamed.Error, StringComparison.Ordinal);
        Assert.Contains("It has: default, tenants_log, tenants_meta.", metaUnnamed.Error, StringComparison.Ordinal);
        inspect.AssertExited(0);
        Assert.Equal(["4", "0", "2", "-", "-", "-"], Columns(inspect.Lines[2]));
        verify.AssertExited(0);
        Assert.StartsWith($"{path}: GroupPrefixed key space, 1 group, 3 entries checked: no problems", verify.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFlatStoresGroupIsShownAsTheIdGivenForIt()
    {
        string path = _dir.Sub("flat");
        await using var store = RocksDbLogStore.Open(path, new RocksDbLogStoreOptions { KeySpace = LogKeySpace.Flat, FlatGroupId = 42, SyncMode = LogSyncMode.NoSync });
        await store.AppendAsync(Range(1, 0, 4), IgnoringCallback.Instance);
        StoreDamage.Tamper(store, LogKeySpace.Flat, 0, 2, record => record[0] = 9);

        var inspect = await RunRaftkit("inspect", path, "--flat-group", "42");
        var verify = await RunRaftkit("verify", path, "--flat-group", "42");
        var entries = await RunRaftkit("entries", path, "--flat-group", "42", "--from", "3");

        inspect.AssertExited(0);
        Assert.Equal(["42", "0", "3", "-", "-", "-"], Columns(inspect.Lines[2]));
        verify.AssertExited(3);
        Assert.Contains("Corrupted log record in group 42 at index 2", verify.Output, StringComparison.Ordinal);
        entries.AssertExited(0);
        Assert.StartsWith($"{path}: group 42, entries 0 to 3; showing 3 to 3:", entries.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("unknown option", "--log-cf", "x")]
    [InlineData("option without its value", "--meta-family")]
    [InlineData("group id that is no number", "--flat-group", "-1")]
    [InlineData("second directory", "elsewhere")]
    [InlineData("same family twice", "--log-family", "raft_meta")]
    public async Task ABadStoreOptionIsAUsageErrorExitingTwo(string what, params string[] options)
    {
        var (store, path) = await OpenStore();
        await using var _ = store;

        var run = await RunRaftkit(["verify", path, .. options]);

        run.AssertExited(2, what);
        Assert.Equal("", run.Output);
        Assert.Contains("raftkit verify <path> [--log-family NAME]", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EntriesPrintsAGroupsEntriesFromTheIndexAskedForWithTheirLeaderKindSizeAndData()
    {
        var (store, path) = await OpenStore();
        await using var _ = store;
        byte[] twentyBytes = [.. Enumerable.Range(0, 20).Select(b => (byte)b)];
        await store.ForGroup(2).AppendAsync(
            new[] { Entry.Blank(new LogId(2, 5, 10)), Entry.ForMembership(new LogId(2, 5, 11), Membership.FromVoters([5, 6, 7])), Entry.Normal(new LogId(2, 5, 12), twentyBytes) },
            IgnoringCallback.Instance);

        var middle = await RunRaftkit("entries", path, "--group", "2", "--from", "5", "--count", "2");
        var tail = await RunRaftkit("entries", path, "--group", "2", "--from", "9");

        middle.AssertExited(0);
        var lines = middle.Lines;
        Assert.True(lines.Length == 4, middle.ToString());
        Assert.Equal($"{path}: group 2, entries 4 to 12; showing 5 to 6:", lines[0]);
        Assert.Equal(["index", "term-node", "kind", "bytes", "data"], Columns(lines[1]));
        Assert.Equal(["5", "T1-N0", "Normal", "16", "05000000000000000000000000000000"], Columns(lines[2]));
        Assert.Equal(["6", "T1-N0", "Normal", "16", "06000000000000000000000000000000"], Columns(lines[3]));
        tail.AssertExited(0);
        lines = tail.Lines;
        Assert.Equal($"{path}: group 2, entries 4 to 12; showing 9 to 12:", lines[0]);
        Assert.Equal(["10", "T2-N5", "Blank", "0"], Columns(lines[3]));
        Assert.Equal(["11", "T2-N5", "Membership", "0", .. Columns(Membership.FromVoters([5, 6, 7]).ToString())], Columns(lines[4]));
        Assert.Equal(["12", "T2-N5", "Normal", "20", "000102030405060708090A0B0C0D0E0F…"], Columns(lines[5]));
        Assert.Equal(6, lines.Length);
    }

    [Fact]
    public async Task EntriesStartsAtTheFirstStoredEntryAndSaysWhenThereIsNothingToShow()
    {
        var (store, path) = await OpenStore();
        await using var _ = store;
        await store.ForGroup(3).PurgeAsync(Id(1, 9));

        var purgedPart = await RunRaftkit("entries", path, "--group", "2", "--from", "0", "--count", "1");
        var pastTheEnd = await RunRaftkit("entries", path, "--group", "2", "--from", "10");
        var allPurged = await RunRaftkit("entries", path, "--group", "3");

        Assert.StartsWith($"{path}: group 2, entries 4 to 9; showing 4 to 4:", purgedPart.Output, StringComparison.Ordinal);
        Assert.Equal($"{path}: group 2, entries 4 to 9; none from 10.\n", pastTheEnd.Output);
        Assert.Equal($"{path}: group 3 has no entries (last purged T1-N0.9).\n", allPurged.Output);
        Assert.All([purgedPart, pastTheEnd, allPurged], run => run.AssertExited(0));
    }

    /// <summary>
    /// --count rows from the index asked for, unless the log ends first: one entry more than
    /// the count left in the log is not shown, and a count that reaches the last entry shows it.
    /// </summary>
    [Fact]
    public async Task EntriesPrintsAtMostTheCountOfRowsAndNonePastTheLastEntry()
    {
        var (store, path) = await OpenStore();
        await using var _ = store;

        var moreLeft = await RunRaftkit("entries", path, "--group", "1", "--from", "4", "--count", "5");
        var countLeft = await RunRaftkit("entries", path, "--group", "1", "--from", "5", "--count", "5");

        moreLeft.AssertExited(0);
        var lines = moreLeft.Lines;
        Assert.Equal($"{path}: group 1, entries 0 to 9; showing 4 to 8:", lines[0]);
        Assert.True(lines.Length == 2 + 5 && Columns(lines[^1])[0] == "8", moreLeft.ToString());
        countLeft.AssertExited(0);
        lines = countLeft.Lines;
        Assert.Equal($"{path}: group 1, entries 0 to 9; showing 5 to 9:", lines[0]);
        Assert.True(lines.Length == 2 + 5 && Columns(lines[^1])[0] == "9", countLeft.ToString());
    }

    [Theory]
    [InlineData("0")]
    [InlineData("100001")]
    [InlineData("ten")]
    public async Task AnEntriesCountOutsideOneToAHundredThousandIsAUsageErrorExitingTwo(string count)
    {
        var (store, path) = await OpenStore();
        await using var _ = store;

        var run = await RunRaftkit("entries", path, "--group", "1", "--count", count);

        run.AssertExited(2);
        Assert.Equal("", run.Output);
        Assert.Contains("--count needs a whole number from 1 to", run.Error, StringComparison.Ordinal);
        Assert.Contains("raftkit entries <path> [--group ID]", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EntriesOfADamagedRecordExitsOneNamingTheGroupAndIndexAndPrintsNoEntryOfIt()
    {
        var (store, path) = await OpenStore();
        await using var _ = store;
        StoreDamage.Tamper(store, LogKeySpace.GroupPrefixed, 1, 2, record => record[^1] ^= 0x40);

        var run = await RunRaftkit("entries", path, "--group", "1");

        run.AssertExited(1);
        Assert.Contains("Corrupted log record in group 1 at index 2", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Normal", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EntriesOfAGroupPrefixedStoreNeedsTheGroup()
    {
        var (store, path) = await OpenStore();
        await using var _ = store;

        var run = await RunRaftkit("entries", path);

        run.AssertExited(2);
        Assert.Contains("entries needs --group ID", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyWithoutAStoreIsAUsageErrorExitingTwo()
    {
        var run = await RunRaftkit("verify", _dir.Sub("nothing here"));

        run.AssertExited(2);
        Assert.Contains("No store at", run.Error, StringComparison.Ordinal);
        Assert.Contains("raftkit verify <path>", run.Error, StringComparison.Ordinal);
    }

    /// <summary>A directory that exists but holds no database: not a usage error, the store could not be opened.</summary>
    [Fact]
    public async Task VerifyOfADirectoryHoldingNoStoreExitsOneSayingWhy()
    {
        string path = _dir.Sub("no database");
        Directory.CreateDirectory(path);

        var run = await RunRaftkit("verify", path);

        run.AssertExited(1);
        Assert.StartsWith("raftkit: ", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("raftkit verify <path>", run.Error, StringComparison.Ordinal);
    }

    private static string[] Columns(string line) => Whitespace().Split(line.Trim());

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
