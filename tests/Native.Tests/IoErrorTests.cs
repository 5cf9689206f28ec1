using System.Diagnostics;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native.CrashChild;
using Xunit.Abstractions;

namespace RaftToolkit.Native.Tests;

/// <summary>
/// A real I/O error, not an injected one: the crash child appends to many groups under a
/// 4 MiB file size limit, so the write that would grow the WAL past it fails in the kernel
/// (EFBIG). The store must stop, fail every writer with that one error, and have reported
/// durable only what a reopened store still holds.
/// </summary>
public sealed class IoErrorTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>Far below the WAL's size at a memtable flush, so the WAL is the file that hits it.</summary>
    private const int FileSizeLimitKiB = 4096;

    private static readonly TimeSpan ChildTimeout = TimeSpan.FromSeconds(120);
    private readonly TempDirectory _dir = new("raftkit-ioerror");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task AFilesystemErrorStopsTheStoreAndEveryAcknowledgedWriteSurvivesIt()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("RAFTKIT_SEED"), out int fixedSeed) ? fixedSeed : Random.Shared.Next();
        output.WriteLine($"seed {seed} (replay: RAFTKIT_SEED={seed})");
        string path = _dir.Sub("db");

        using var process = Process.Start(CrashChildRuns.StartInfo(path, seed, fileSizeLimitKiB: FileSizeLimitKiB))
            ?? throw new InvalidOperationException("could not start the crash child");
        var stdout = new MemoryStream();
        var pump = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(ChildTimeout);
        await pump.WaitAsync(ChildTimeout);
        Assert.True(process.ExitCode == CrashChildRuns.StoppedAfterIoError, $"the child exited with {process.ExitCode}, not after a failed write: {await stderr}");

        var printed = CrashChildRuns.Parse(stdout.GetBuffer().AsSpan(0, (int)stdout.Length));
        output.WriteLine($"{printed.Acks.Count} writes acknowledged before the error: {printed.Failures[0]}");
        Assert.NotEmpty(printed.Acks);

        // Every writer learned of the failure, each from the one original error: those in the
        // failed batch, and those that wrote after it and were refused at once.
        Assert.Equal(CrashChildRuns.Writers, printed.Failures.Count);
        Assert.Single(printed.Failures.Distinct());
        Assert.Contains("File too large", printed.Failures[0], StringComparison.Ordinal);

        var acknowledged = new AcknowledgedWrites();
        acknowledged.Record(printed.Acks);
        await acknowledged.VerifyAsync(path, "reopened after the I/O error");

        // Reopened without the limit, the store writes again: one more entry in every group.
        await using (var store = RocksDbLogStore.Open(path))
        {
            var appends = new Task<Ack>[CrashChildRuns.Groups];
            for (int g = 0; g < appends.Length; g++)
            {
                appends[g] = AppendNext(store.ForGroup((ulong)g), g);
            }

            acknowledged.Record(await Task.WhenAll(appends));
        }

        await acknowledged.VerifyAsync(path, "reopened after writing again");
    }

    private static async Task<Ack> AppendNext(IRaftLogStore log, int group)
    {
        ulong index = (await log.GetLogStateAsync()).LastLogId.NextIndex();
        await log.AppendAsync(new[] { Entry.Normal(new LogId(1, 0, index), CrashPayload.For((ulong)group, index)) }, IgnoringCallback.Instance);
        return new Ack(false, group, index);
    }
}
