using System.Diagnostics;
using Xunit.Abstractions;

namespace RaftToolkit.Native.Tests.Crash;

/// <summary>
/// Kills a child process that writes to many groups through the write coalescer (appends, votes,
/// truncations, purges and group removals) with SIGKILL at random moments, and checks after each
/// kill that everything it acknowledged survived, that a truncation, purge or removal in
/// flight happened entirely or not at all, and that the store verifies clean
/// (<see cref="AcknowledgedWrites"/>).
/// Every other child runs with a 64 KiB write buffer, so that memtables flush and WAL files
/// roll over and are reused (the default <see cref="RocksDbLogStoreOptions.WalRecycleFileCount"/>)
/// while the kills land.
/// </summary>
/// <remarks>
/// CI mode: 20 kills. Long mode: RAFTKIT_CRASH_KILLS=1000. Replay a run with RAFTKIT_SEED=&lt;seed&gt;.
/// </remarks>
public sealed class CrashRecoveryTests(ITestOutputHelper output) : IDisposable
{
    private const ulong SmallWriteBuffer = 64 << 10;
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _dir = new("raftkit-crash");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task EveryAcknowledgedWriteSurvivesSigkill()
    {
        int seed = TestSeed.FromEnvironmentOrNew();
        int kills = int.TryParse(Environment.GetEnvironmentVariable("RAFTKIT_CRASH_KILLS"), out int k) ? k : 20;
        output.WriteLine($"seed {seed} (replay: RAFTKIT_SEED={seed}), {kills} kills, {CrashChildRuns.Groups} groups, {CrashChildRuns.Writers} writers");
        var random = new Random(seed);
        string path = _dir.Sub("db");
        var acknowledged = new AcknowledgedWrites();

        for (int round = 0; round < kills; round++)
        {
            // A small-buffer child runs longer, long enough to flush and reuse WALs many times.
            bool smallBuffer = round % 2 == 1;
            int acksBeforeKill = smallBuffer ? 500 + random.Next(1500) : 1 + random.Next(400);
            ulong? writeBuffer = smallBuffer ? SmallWriteBuffer : null;
            // Each run's terms start above every earlier run's.
            ulong firstTerm = ((ulong)round + 1) << 32;
            acknowledged.Record(await RunAndKill(path, random.Next(), firstTerm, acksBeforeKill, writeBuffer));
            await acknowledged.VerifyAsync(path, $"round {round}", nextFirstTerm: firstTerm + (1UL << 32));
        }

        output.WriteLine($"{acknowledged.Count} acknowledged writes checked over {kills} kills, {acknowledged.Deletions} of them truncations, purges and group removals ({acknowledged.Removals} removals)");
        output.WriteLine($"{acknowledged.Doubtful.InDoubt} truncations, purges and removals in flight at a kill, {acknowledged.Doubtful.Happened} of them found done");
        Assert.True(acknowledged.Count >= kills, "the child acknowledged fewer writes than it was killed");
        if (kills >= 4)
        {
            Assert.True(acknowledged.Deletions > 0 && acknowledged.Removals > 0, "the child acknowledged no truncation, purge or group removal: their crash paths went untested");
            Assert.True(acknowledged.Doubtful.InDoubt > 0, "no kill landed during a truncation, purge or removal: their all-or-nothing went untested");
        }

        if (kills >= 4)
        {
            // RocksDB's info log names every WAL file it reuses: the kills did land on recycled WALs.
            int reused = Directory.GetFiles(path, "LOG*").Sum(log => File.ReadLines(log).Count(line => line.Contains("from recycle list", StringComparison.Ordinal)));
            output.WriteLine($"{reused} WAL files reused");
            Assert.True(reused > 0, "no child wrote to a reused WAL file: the recycled-WAL crash path went untested");
        }
    }

    private static async Task<List<GroupReport>> RunAndKill(string path, int childSeed, ulong firstTerm, int acksBeforeKill, ulong? writeBuffer)
    {
        using var process = Process.Start(CrashChildRuns.StartInfo(path, childSeed, firstTerm, writeBuffer)) ?? throw new InvalidOperationException("could not start the crash child");
        var stdout = new MemoryStream();
        int lines = 0;
        var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var pump = Task.Run(async () =>
        {
            var buffer = new byte[4096];
            var stream = process.StandardOutput.BaseStream;
            int read;
            while ((read = await stream.ReadAsync(buffer)) > 0)
            {
                stdout.Write(buffer, 0, read);
                lines += buffer.AsSpan(0, read).Count((byte)'\n');
                if (lines > acksBeforeKill)
                {
                    enough.TrySetResult();
                }
            }

            enough.TrySetResult();
        });
        var stderr = process.StandardError.ReadToEndAsync();

        await enough.Task.WaitAsync(StepTimeout);

        // The child holds the database: opening it here must fail, and change nothing.
        Assert.True(Assert.Throws<StoreOpenException>(() => RocksDbLogStore.Open(path)).InUse, "the crash child's database opened twice");
        process.Kill(entireProcessTree: false);
        await process.WaitForExitAsync().WaitAsync(StepTimeout);
        await pump.WaitAsync(StepTimeout);
        Assert.True(process.ExitCode != 0 || lines > acksBeforeKill, $"the child exited on its own: {await stderr}");

        var printed = CrashChildRuns.Parse(stdout.GetBuffer().AsSpan(0, (int)stdout.Length));
        Assert.True(printed.Failures.Count == 0, $"the child's store failed before the kill: {string.Join("; ", printed.Failures)}");
        Assert.True(printed.Errors.Count == 0, $"a writer of the child failed: {string.Join("; ", printed.Errors)}");
        return printed.Reports;
    }
}
