using System.Diagnostics;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native.CrashChild;
using Xunit.Abstractions;

namespace RaftToolkit.Native.Tests.Crash;

/// <summary>
/// A real I/O error, not an injected one: the crash child appends to many groups under a file
/// size limit, so the kernel refuses (EFBIG) the write that would grow a file past it. The store
/// must stop, fail every writer with that one error, and have reported durable only what a
/// reopened store still holds.
/// </summary>
public sealed class IoErrorTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan ChildTimeout = TimeSpan.FromSeconds(120);
    private readonly TempDirectory _dir = new("raftkit-ioerror");

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// Where the error strikes, by the file refused: the WAL (<c>.log</c>), in the store's own
    /// write, when it outgrows 4 MiB (far below its size at a memtable flush); or a table
    /// (<c>.sst</c>), in a background compaction, when an output outgrows 1 MiB with a 64 KiB
    /// write buffer, and RocksDB then refuses the store's next write.
    /// </summary>
    public static TheoryData<string, int, ulong?> Failures => new()
    {
        { ".log", 4096, null },
        { ".sst", 1024, 64 << 10 },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task AFilesystemErrorStopsTheStoreAndEveryAcknowledgedWriteSurvivesIt(string refusedFile, int fileSizeLimitKiB, ulong? writeBuffer)
    {
        int seed = TestSeed.FromEnvironmentOrNew();
        output.WriteLine($"{refusedFile}: seed {seed} (replay: RAFTKIT_SEED={seed})");
        string path = _dir.Sub("db");

        using var process = Process.Start(CrashChildRuns.StartInfo(path, seed, firstTerm: 1, writeBuffer, fileSizeLimitKiB))
            ?? throw new InvalidOperationException("could not start the crash child");
        var stdout = new MemoryStream();
        var pump = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(ChildTimeout);
        await pump.WaitAsync(ChildTimeout);
        Assert.True(process.ExitCode == CrashChildRuns.StoppedAfterIoError, $"the child exited with {process.ExitCode}, not after a failed write: {await stderr}");

        var printed = CrashChildRuns.Parse(stdout.GetBuffer().AsSpan(0, (int)stdout.Length));
        output.WriteLine($"{printed.Reports.Count} writes reported before the error: {printed.Failures[0]}");
        Assert.NotEmpty(printed.Reports);
        Assert.True(printed.Errors.Count == 0, $"a writer of the child failed other than on the store's error: {string.Join("; ", printed.Errors)}");

        // Every writer learned of the failure, each from the one original error: those in the
        // batch that failed, and those that wrote after it and were refused at once.
        Assert.Equal(CrashChildRuns.Writers, printed.Failures.Count);
        Assert.Single(printed.Failures.Distinct());
        Assert.Contains($"{refusedFile}: File too large", printed.Failures[0], StringComparison.Ordinal);

        var acknowledged = new AcknowledgedWrites();
        acknowledged.Record(printed.Reports);
        await acknowledged.VerifyAsync(path, "reopened after the I/O error", NextRunTerm);

        // Reopened without the limit, the store writes again: one more entry in every group.
        await using (var store = RocksDbLogStore.Open(path))
        {
            var appends = new Task<GroupReport[]>[CrashChildRuns.Groups];
            for (int g = 0; g < appends.Length; g++)
            {
                appends[g] = VoteAndAppendNext(store.ForGroup((ulong)g), g);
            }

            acknowledged.Record((await Task.WhenAll(appends)).SelectMany(reports => reports).ToList());
        }

        await acknowledged.VerifyAsync(path, "reopened after writing again", NextRunTerm + 1);
    }

    /// <summary>Above every term of the child, which starts at 1 and adds one per truncation.</summary>
    private const ulong NextRunTerm = 1UL << 32;

    /// <summary>Saves a vote of <see cref="NextRunTerm"/>, then appends an entry of it, as a node following a new leader does.</summary>
    private static async Task<GroupReport[]> VoteAndAppendNext(IRaftLogStore log, int group)
    {
        await log.SaveVoteAsync(new Vote(NextRunTerm, 0));
        ulong index = (await log.GetLogStateAsync()).LastLogId.NextIndex();
        await log.AppendAsync(new[] { Entry.Normal(new LogId(NextRunTerm, 0, index), CrashPayload.For((ulong)group, index, NextRunTerm)) }, IgnoringCallback.Instance);
        return [new GroupReport(ReportKind.Vote, group, 0, Term: NextRunTerm), new GroupReport(ReportKind.Append, group, index, index, NextRunTerm)];
    }
}
