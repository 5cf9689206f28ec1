namespace RaftToolkit.BenchGate;

/// <summary>Prints a gate report as an aligned table, regressions first so they are seen.</summary>
public static class ReportPrinter
{
    /// <summary>Writes the table and a closing verdict line.</summary>
    public static void Print(GateReport report, TextWriter output)
    {
        var rows = report.Rows.OrderBy(r => r.Verdict switch
        {
            Verdict.Regression => 0,
            Verdict.Missing => 1,
            Verdict.Pass => 2,
            _ => 3,
        }).ToList();
        string[] header = ["verdict", "benchmark / ratio", "metric", "baseline", "current", "change"];
        var cells = rows.Select(r => new[] { r.Verdict.ToString().ToUpperInvariant(), r.Subject, r.Metric, r.Baseline, r.Current, r.Change }).ToList();
        var widths = header.Select((h, i) => Math.Max(h.Length, cells.Count == 0 ? 0 : cells.Max(c => c[i].Length))).ToArray();
        output.WriteLine(Line(header, widths));
        output.WriteLine(string.Join("-+-", widths.Select(w => new string('-', w))));
        foreach (var row in cells)
        {
            output.WriteLine(Line(row, widths));
        }

        int regressions = rows.Count(r => r.Verdict == Verdict.Regression);
        int missing = rows.Count(r => r.Verdict == Verdict.Missing);
        output.WriteLine(report.Passed
            ? "bench-gate: PASS (allocations within tolerance, ratios within tolerance)"
            : $"bench-gate: FAIL ({regressions} regression(s), {missing} missing)");
    }

    private static string Line(string[] cells, int[] widths) =>
        string.Join(" | ", cells.Select((c, i) => c.PadRight(widths[i])));
}
