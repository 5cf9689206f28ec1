using System.Diagnostics;
using System.Globalization;
using System.Text;
using RaftToolkit.Native.CrashChild;

namespace RaftToolkit.Native.Tests;

/// <summary>One write the crash child printed as acknowledged: entries up to an index, or a vote's term.</summary>
internal readonly record struct Ack(bool Vote, int Group, ulong Value);

/// <summary>What the crash child printed: its acknowledged writes, and a line per writer that saw the store fail.</summary>
internal sealed record ChildOutput(List<Ack> Acks, List<string> Failures);

/// <summary>Starting the crash child (<c>RaftToolkit.Native.CrashChild</c>) and reading what it printed.</summary>
internal static class CrashChildRuns
{
    /// <summary>Groups the child writes to.</summary>
    public const int Groups = 1024;

    /// <summary>Concurrent writers in the child, each owning a slice of the groups.</summary>
    public const int Writers = 64;

    /// <summary>The child's exit code when its store stopped after an I/O error.</summary>
    public const int StoppedAfterIoError = 3;

    /// <summary>
    /// A child on the database at <paramref name="path"/>. With <paramref name="fileSizeLimitKiB"/>,
    /// it runs under that file size limit (RLIMIT_FSIZE) with SIGXFSZ ignored, so the write that
    /// would grow a file past it fails with EFBIG, a real I/O error, instead of killing the process.
    /// </summary>
    public static ProcessStartInfo StartInfo(string path, int seed, ulong? writeBuffer = null, int? fileSizeLimitKiB = null)
    {
        var start = new ProcessStartInfo(fileSizeLimitKiB is null ? "dotnet" : "bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (fileSizeLimitKiB is { } limit)
        {
            // An ignored signal stays ignored across exec; bash's ulimit -f counts 1,024-byte blocks.
            foreach (var arg in (string[])["-c", "trap '' XFSZ; ulimit -f \"$0\"; exec dotnet \"$@\"", limit.ToString(CultureInfo.InvariantCulture)])
            {
                start.ArgumentList.Add(arg);
            }

            // The runtime maps its code heap through a memory file that is sized far past any
            // small file size limit, and aborts at start when that fails; W^X off keeps it out.
            start.Environment["DOTNET_EnableWriteXorExecute"] = "0";
        }

        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "RaftToolkit.Native.CrashChild.dll"));
        foreach (var arg in (string[])[path, seed.ToString(CultureInfo.InvariantCulture), Groups.ToString(CultureInfo.InvariantCulture), Writers.ToString(CultureInfo.InvariantCulture)])
        {
            start.ArgumentList.Add(arg);
        }

        if (writeBuffer is { } bytes)
        {
            start.ArgumentList.Add(bytes.ToString(CultureInfo.InvariantCulture));
        }

        return start;
    }

    /// <summary>
    /// Parses the child's output. Only complete lines count: a line cut by a kill was never fully
    /// acknowledged.
    /// </summary>
    public static ChildOutput Parse(ReadOnlySpan<byte> stdout)
    {
        string text = Encoding.UTF8.GetString(stdout);
        var acks = new List<Ack>();
        var failures = new List<string>();
        foreach (var line in text[..(text.LastIndexOf('\n') + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ', 3);
            switch (parts[0])
            {
                case "A" or "V":
                    acks.Add(new Ack(parts[0] == "V", int.Parse(parts[1], CultureInfo.InvariantCulture), ulong.Parse(parts[2], CultureInfo.InvariantCulture)));
                    break;
                case "F":
                    failures.Add(line[2..]);
                    break;
                default:
                    Assert.Equal("READY", line);
                    break;
            }
        }

        return new ChildOutput(acks, failures);
    }
}

/// <summary>
/// Everything the crash child acknowledged, over all its runs, and the check that a reopened
/// store still holds it: every acknowledged entry present with its payload, each group's log
/// contiguous from index 0, and no vote lost or gone backwards.
/// </summary>
internal sealed class AcknowledgedWrites
{
    private readonly long[] _last = new long[CrashChildRuns.Groups];
    private readonly ulong[] _term = new ulong[CrashChildRuns.Groups];
    private readonly ulong[] _termSeen = new ulong[CrashChildRuns.Groups];

    public AcknowledgedWrites() => Array.Fill(_last, -1);

    /// <summary>Acknowledged writes recorded so far.</summary>
    public long Count { get; private set; }

    public void Record(IEnumerable<Ack> acks)
    {
        foreach (var ack in acks)
        {
            if (ack.Vote)
            {
                _term[ack.Group] = Math.Max(_term[ack.Group], ack.Value);
            }
            else
            {
                _last[ack.Group] = Math.Max(_last[ack.Group], (long)ack.Value);
            }

            Count++;
        }
    }

    /// <summary>Opens the store at <paramref name="path"/> and checks every group; <paramref name="when"/> names the moment in failures.</summary>
    public async Task VerifyAsync(string path, string when)
    {
        await using var store = RocksDbLogStore.Open(path);
        for (int g = 0; g < CrashChildRuns.Groups; g++)
        {
            var log = store.ForGroup((ulong)g);
            var entries = await log.TryGetLogEntriesAsync(0, ulong.MaxValue - 2);
            for (int i = 0; i < entries.Count; i++)
            {
                Assert.True(entries[i].Index == (ulong)i, $"{when}: group {g} log is not contiguous from 0 at position {i} (index {entries[i].Index})");
                Assert.True(entries[i].Data.Span.SequenceEqual(CrashPayload.For((ulong)g, (ulong)i)), $"{when}: group {g} entry {i} has the wrong payload");
            }

            Assert.True(entries.Count - 1 >= _last[g], $"{when}: group {g} lost acknowledged entries: has {entries.Count}, acknowledged up to index {_last[g]}");
            ulong term = (await log.ReadVoteAsync())?.Term ?? 0;
            Assert.True(term >= _term[g], $"{when}: group {g} lost an acknowledged vote: has term {term}, acknowledged {_term[g]}");
            Assert.True(term >= _termSeen[g], $"{when}: group {g} vote went backwards from term {_termSeen[g]} to {term}");
            _termSeen[g] = term;
        }
    }
}
