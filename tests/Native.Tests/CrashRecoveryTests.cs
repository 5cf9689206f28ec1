using System.Diagnostics;
using System.Text;
using RaftToolkit.Native.CrashChild;
using Xunit.Abstractions;

namespace RaftToolkit.Native.Tests;

/// <summary>
/// Kills a child process that appends to many groups through the write coalescer with SIGKILL
/// at random moments, and checks after each kill that everything it acknowledged survived.
/// Every other child runs with a 64 KiB write buffer, so that memtables flush and WAL files
/// roll over and are reused (the default <see cref="RocksDbLogStoreOptions.WalRecycleFileCount"/>)
/// while the kills land.
/// </summary>
/// <remarks>
/// CI mode: 20 kills. Long mode: RAFTKIT_CRASH_KILLS=1000. Replay a run with RAFTKIT_SEED=&lt;seed&gt;.
/// </remarks>
public sealed class CrashRecoveryTests(ITestOutputHelper output) : IDisposable
{
    private const int Groups = 1024;
    private const int Writers = 64;
    private const ulong SmallWriteBuffer = 64 << 10;
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _dir = new("raftkit-crash");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task EveryAcknowledgedWriteSurvivesSigkill()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("RAFTKIT_SEED"), out int fixedSeed) ? fixedSeed : Random.Shared.Next();
        int kills = int.TryParse(Environment.GetEnvironmentVariable("RAFTKIT_CRASH_KILLS"), out int k) ? k : 20;
        output.WriteLine($"seed {seed} (replay: RAFTKIT_SEED={seed}), {kills} kills, {Groups} groups, {Writers} writers");
        var random = new Random(seed);
        string path = _dir.Sub("db");
        var acknowledgedLast = new long[Groups];
        var acknowledgedTerm = new ulong[Groups];
        var previousTerm = new ulong[Groups];
        Array.Fill(acknowledgedLast, -1);
        long totalAcks = 0;

        for (int round = 0; round < kills; round++)
        {
            // A small-buffer child runs longer, long enough to flush and reuse WALs many times.
            bool smallBuffer = round % 2 == 1;
            int acksBeforeKill = smallBuffer ? 500 + random.Next(1500) : 1 + random.Next(400);
            ulong? writeBuffer = smallBuffer ? SmallWriteBuffer : null;
            var acks = await RunAndKill(path, random.Next(), acksBeforeKill, writeBuffer);
            foreach (var ack in acks)
            {
                if (ack.Vote)
                {
                    acknowledgedTerm[ack.Group] = Math.Max(acknowledgedTerm[ack.Group], ack.Value);
                }
                else
                {
                    acknowledgedLast[ack.Group] = Math.Max(acknowledgedLast[ack.Group], (long)ack.Value);
                }
            }

            totalAcks += acks.Count;
            await VerifySurvivors(path, round, acknowledgedLast, acknowledgedTerm, previousTerm);
        }

        output.WriteLine($"{totalAcks} acknowledged writes checked over {kills} kills");
        Assert.True(totalAcks >= kills, "the child acknowledged fewer writes than it was killed");
        if (kills >= 4)
        {
            // RocksDB's info log names every WAL file it reuses: the kills did land on recycled WALs.
            int reused = Directory.GetFiles(path, "LOG*").Sum(log => File.ReadLines(log).Count(line => line.Contains("from recycle list", StringComparison.Ordinal)));
            output.WriteLine($"{reused} WAL files reused");
            Assert.True(reused > 0, "no child wrote to a reused WAL file: the recycled-WAL crash path went untested");
        }
    }

    private readonly record struct Ack(bool Vote, int Group, ulong Value);

    private async Task<List<Ack>> RunAndKill(string path, int childSeed, int acksBeforeKill, ulong? writeBuffer)
    {
        string child = Path.Combine(AppContext.BaseDirectory, "RaftToolkit.Native.CrashChild.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])[child, path, childSeed.ToString(System.Globalization.CultureInfo.InvariantCulture), Groups.ToString(System.Globalization.CultureInfo.InvariantCulture), Writers.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            start.ArgumentList.Add(arg);
        }

        if (writeBuffer is { } bytes)
        {
            start.ArgumentList.Add(bytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the crash child");
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
        process.Kill(entireProcessTree: false);
        await process.WaitForExitAsync().WaitAsync(StepTimeout);
        await pump.WaitAsync(StepTimeout);
        Assert.True(process.ExitCode != 0 || lines > acksBeforeKill, $"the child exited on its own: {await stderr}");

        // Only complete lines count: a line cut by the kill was never fully acknowledged.
        string text = Encoding.UTF8.GetString(stdout.GetBuffer(), 0, (int)stdout.Length);
        int lastNewline = text.LastIndexOf('\n');
        var acks = new List<Ack>();
        foreach (var line in text[..(lastNewline + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ');
            if (parts[0] is "A" or "V")
            {
                acks.Add(new Ack(parts[0] == "V", int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), ulong.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture)));
            }
            else
            {
                Assert.Equal("READY", line);
            }
        }

        return acks;
    }

    private static async Task VerifySurvivors(string path, int round, long[] acknowledgedLast, ulong[] acknowledgedTerm, ulong[] previousTerm)
    {
        await using var store = RocksDbLogStore.Open(path);
        for (int g = 0; g < Groups; g++)
        {
            var log = store.ForGroup((ulong)g);
            var entries = await log.TryGetLogEntriesAsync(0, ulong.MaxValue - 2);
            for (int i = 0; i < entries.Count; i++)
            {
                Assert.True(entries[i].Index == (ulong)i, $"round {round}: group {g} log is not contiguous from 0 at position {i} (index {entries[i].Index})");
                Assert.True(entries[i].Data.Span.SequenceEqual(CrashPayload.For((ulong)g, (ulong)i)), $"round {round}: group {g} entry {i} has the wrong payload");
            }

            Assert.True(entries.Count - 1 >= acknowledgedLast[g], $"round {round}: group {g} lost acknowledged entries: has {entries.Count}, acknowledged up to index {acknowledgedLast[g]}");
            ulong term = (await log.ReadVoteAsync())?.Term ?? 0;
            Assert.True(term >= acknowledgedTerm[g], $"round {round}: group {g} lost an acknowledged vote: has term {term}, acknowledged {acknowledgedTerm[g]}");
            Assert.True(term >= previousTerm[g], $"round {round}: group {g} vote went backwards from term {previousTerm[g]} to {term}");
            previousTerm[g] = term;
        }
    }
}
