using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace RaftToolkit.Native.Tests.Crash;

/// <summary>What one line of the crash child says about a group's write.</summary>
internal enum ReportKind
{
    /// <summary>Entries First..Last, of Term, are durable.</summary>
    Append,

    /// <summary>A vote of Term is durable.</summary>
    Vote,

    /// <summary>A truncation after First was issued; it may or may not happen.</summary>
    TruncateIssued,

    /// <summary>The truncation after First is durable; later entries are of Term or more.</summary>
    Truncated,

    /// <summary>A purge up to First was issued; it may or may not happen.</summary>
    PurgeIssued,

    /// <summary>The purge up to First is durable.</summary>
    Purged,

    /// <summary>A removal of the group was issued; it may or may not happen.</summary>
    RemoveIssued,

    /// <summary>The removal is durable; later entries are of Term or more, later votes of Last or more.</summary>
    Removed,
}

/// <summary>One line the crash child printed about a group's write (see its usage for the format).</summary>
internal readonly record struct GroupReport(ReportKind Kind, int Group, ulong First, ulong Last = 0, ulong Term = 0);

/// <summary>
/// What the crash child printed: its writes issued and acknowledged, a line per writer that saw
/// the store fail, and a line per writer that failed otherwise (a bug).
/// </summary>
internal sealed record ChildOutput(List<GroupReport> Reports, List<string> Failures, List<string> Errors);

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
    /// A child on the database at <paramref name="path"/>, writing entries of
    /// <paramref name="firstTerm"/> and up. With <paramref name="fileSizeLimitKiB"/>,
    /// it runs under that file size limit (RLIMIT_FSIZE) with SIGXFSZ ignored, so the write that
    /// would grow a file past it fails with EFBIG, a real I/O error, instead of killing the process.
    /// </summary>
    public static ProcessStartInfo StartInfo(string path, int seed, ulong firstTerm, ulong? writeBuffer = null, int? fileSizeLimitKiB = null)
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
        foreach (var arg in (string[])[path, seed.ToString(CultureInfo.InvariantCulture), Groups.ToString(CultureInfo.InvariantCulture), Writers.ToString(CultureInfo.InvariantCulture), firstTerm.ToString(CultureInfo.InvariantCulture)])
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
        var reports = new List<GroupReport>();
        var failures = new List<string>();
        var errors = new List<string>();
        foreach (var line in text[..(text.LastIndexOf('\n') + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("F ", StringComparison.Ordinal))
            {
                failures.Add(line[2..]);
                continue;
            }

            if (line.StartsWith("E ", StringComparison.Ordinal))
            {
                errors.Add(line[2..]);
                continue;
            }

            if (line == "READY")
            {
                continue;
            }

            var parts = line.Split(' ');
            int group = int.Parse(parts[1], CultureInfo.InvariantCulture);
            ulong Number(int at) => ulong.Parse(parts[at], CultureInfo.InvariantCulture);
            reports.Add(parts[0] switch
            {
                "A" => new GroupReport(ReportKind.Append, group, Number(2), Number(3), Number(4)),
                "V" => new GroupReport(ReportKind.Vote, group, 0, Term: Number(2)),
                "t" => new GroupReport(ReportKind.TruncateIssued, group, Number(2)),
                "T" => new GroupReport(ReportKind.Truncated, group, Number(2), Term: Number(3)),
                "p" => new GroupReport(ReportKind.PurgeIssued, group, Number(2)),
                "P" => new GroupReport(ReportKind.Purged, group, Number(2)),
                "r" => new GroupReport(ReportKind.RemoveIssued, group, 0),
                "R" => new GroupReport(ReportKind.Removed, group, 0, Last: Number(3), Term: Number(2)),
                _ => throw new InvalidDataException($"the crash child printed an unknown line: {line}"),
            });
        }

        return new ChildOutput(reports, failures, errors);
    }
}
