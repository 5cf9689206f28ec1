using System.Globalization;

namespace RaftToolkit.BenchGate;

/// <summary>How one checked number fared.</summary>
public enum Verdict
{
    /// <summary>Within tolerance.</summary>
    Pass,

    /// <summary>Reported only (absolute times, new benchmarks).</summary>
    Info,

    /// <summary>Past the tolerance: the build fails.</summary>
    Regression,

    /// <summary>
    /// In the baseline (or named by a ratio) but not in every run, or in the run but not in the
    /// baseline (a benchmark or ratio added without updating it): the build fails.
    /// </summary>
    Missing,
}

/// <summary>One line of the report.</summary>
/// <param name="Subject">A benchmark key or a ratio name.</param>
/// <param name="Metric">What was compared: time, allocated, ratio, presence.</param>
/// <param name="Baseline">The baseline value, formatted.</param>
/// <param name="Current">The run's value, formatted.</param>
/// <param name="Change">Relative change, formatted (empty when meaningless).</param>
/// <param name="Verdict">The decision for this line.</param>
public sealed record GateRow(string Subject, string Metric, string Baseline, string Current, string Change, Verdict Verdict);

/// <summary>The gate's decision over a whole run.</summary>
/// <param name="Rows">Every comparison made, in report order.</param>
public sealed record GateReport(IReadOnlyList<GateRow> Rows)
{
    /// <summary>True when no line is a regression or missing.</summary>
    public bool Passed => Rows.All(r => r.Verdict is Verdict.Pass or Verdict.Info);
}

/// <summary>
/// Decides whether a run regressed against the baseline. Allocated bytes are a hard gate
/// (baseline + tolerance; zero stays zero). Throughput is gated only as ratios to references
/// measured in the same run, so a slow or noisy machine does not fail the build but a slower
/// subject does. Absolute times are reported, never gated.
/// </summary>
public static class GateComparer
{
    /// <summary>Compares <paramref name="run"/> with <paramref name="baseline"/> under <paramref name="spec"/>.</summary>
    public static GateReport Compare(GateSpec spec, Baseline baseline, IReadOnlyDictionary<string, BenchmarkResult> run) =>
        Compare(spec, baseline, [run]);

    /// <summary>
    /// Compares the best of several runs of the same benchmarks with <paramref name="baseline"/>:
    /// each ratio is taken from the run where it is highest, each benchmark from the run where it
    /// was fastest and allocated least. A noisy neighbour can spoil one run; a real regression
    /// shows in every run, so re-running a failed gate tells the two apart.
    /// </summary>
    public static GateReport Compare(GateSpec spec, Baseline baseline, IReadOnlyList<IReadOnlyDictionary<string, BenchmarkResult>> runs)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(baseline);
        if (runs.Count == 0)
        {
            throw new ArgumentException("At least one run is needed.", nameof(runs));
        }

        var run = Combine(runs, WorstAllocation);
        var rows = new List<GateRow>();
        foreach (var (key, expected) in baseline.Benchmarks)
        {
            // A benchmark that failed in one run is a failure, not noise a re-run may excuse.
            var lacking = Enumerable.Range(0, runs.Count).Where(i => !runs[i].ContainsKey(key)).ToList();
            if (lacking.Count > 0 || !run.TryGetValue(key, out var actual))
            {
                string where = runs.Count == 1 ? "missing" : $"missing in run {string.Join(", ", lacking.Select(i => i + 1))} of {runs.Count}";
                rows.Add(new GateRow(key, "presence", "present", where, "", Verdict.Missing));
                continue;
            }

            rows.Add(new GateRow(key, "time", Ns(expected.MedianNs), Ns(actual.MedianNs), Percent(actual.MedianNs / expected.MedianNs - 1), Verdict.Info));
            if (expected.AllocatedBytes is { } allowedBase)
            {
                rows.Add(CompareAllocation(key, allowedBase, actual.AllocatedBytes, spec.AllocationTolerance));
            }
        }

        // A gated benchmark the baseline lacks would be gated by nothing: its allocations unchecked.
        foreach (var key in run.Keys.Where(k => !baseline.Benchmarks.ContainsKey(k)).Order(StringComparer.Ordinal))
        {
            rows.Add(new GateRow(key, "presence", "absent", "new", UpdateTheBaseline, Verdict.Missing));
        }

        foreach (var ratio in spec.Ratios)
        {
            rows.Add(CompareRatio(ratio, baseline, runs, spec.RatioTolerance));
        }

        return new GateReport(rows);
    }

    /// <summary>
    /// One result per benchmark over <paramref name="runs"/>: the fastest median (times are
    /// only reported), and the allocation <paramref name="allocation"/> picks.
    /// </summary>
    private static Dictionary<string, BenchmarkResult> Combine(IReadOnlyList<IReadOnlyDictionary<string, BenchmarkResult>> runs, Func<long, long, long> allocation)
    {
        var combined = new Dictionary<string, BenchmarkResult>(StringComparer.Ordinal);
        foreach (var run in runs)
        {
            foreach (var (key, result) in run)
            {
                combined[key] = combined.TryGetValue(key, out var seen)
                    ? new BenchmarkResult(key, Math.Min(seen.MedianNs, result.MedianNs), Either(seen.AllocatedBytes, result.AllocatedBytes, allocation))
                    : result;
            }
        }

        return combined;
    }

    private static long? Either(long? a, long? b, Func<long, long, long> pick) => (a, b) switch
    {
        ({ } x, { } y) => pick(x, y),
        _ => a ?? b,
    };

    /// <summary>
    /// The gate judges allocations by the worst run: they are a hard gate, and re-runs are for
    /// noisy ratios, not for a hot path that allocates only some of the time.
    /// </summary>
    private static long WorstAllocation(long a, long b) => Math.Max(a, b);

    /// <summary>A new baseline from <paramref name="run"/>: every benchmark and every ratio the spec names.</summary>
    /// <exception cref="ArgumentException">A ratio names a benchmark the run lacks.</exception>
    public static Baseline CreateBaseline(GateSpec spec, IReadOnlyDictionary<string, BenchmarkResult> run, string machine) =>
        CreateBaseline(spec, [run], machine);

    /// <summary>
    /// A new baseline from <paramref name="runs"/>: times from the fastest run, allocations from
    /// the run that allocated most, and each ratio from the run where it is lowest. The gate
    /// later judges allocations by its worst run and ratios by its best, so the runs a baseline
    /// was taken from always pass it: a lucky moment cannot make an unchanged build fail.
    /// </summary>
    /// <exception cref="ArgumentException">A ratio names a benchmark no run has.</exception>
    public static Baseline CreateBaseline(GateSpec spec, IReadOnlyList<IReadOnlyDictionary<string, BenchmarkResult>> runs, string machine)
    {
        var baseline = new Baseline { Machine = machine };
        foreach (var (key, result) in Combine(runs, WorstAllocation))
        {
            baseline.Benchmarks[key] = new BaselineBenchmark(result.MedianNs, result.AllocatedBytes);
        }

        foreach (var ratio in spec.Ratios)
        {
            baseline.Ratios[ratio.Name] = runs.Select(run => RatioOf(ratio, run)).Min()
                ?? throw new ArgumentException($"Ratio '{ratio.Name}' needs '{ratio.Subject}' and '{ratio.Reference}', which the run lacks.");
        }

        return baseline;
    }

    private static GateRow CompareAllocation(string key, long baselineBytes, long? actualBytes, double tolerance)
    {
        if (actualBytes is not { } actual)
        {
            return new GateRow(key, "allocated", Bytes(baselineBytes), "not measured", "", Verdict.Missing);
        }

        // Zero stays zero: a hot path that starts allocating is a regression however small.
        long allowed = baselineBytes == 0 ? 0 : (long)Math.Floor(baselineBytes * (1 + tolerance));
        string change = baselineBytes == 0 ? (actual == 0 ? "0 %" : $"+{actual} B") : Percent((double)actual / baselineBytes - 1);
        return new GateRow(key, "allocated", Bytes(baselineBytes), Bytes(actual), change, actual <= allowed ? Verdict.Pass : Verdict.Regression);
    }

    private static GateRow CompareRatio(RatioSpec ratio, Baseline baseline, IReadOnlyList<IReadOnlyDictionary<string, BenchmarkResult>> runs, double tolerance)
    {
        string subject = $"{ratio.Name} ({ratio.Subject} vs {ratio.Reference})";

        // Both sides of a ratio come from the same run: that is what makes it machine-independent.
        double? current = null;
        foreach (var run in runs)
        {
            if (RatioOf(ratio, run) is { } value && (current is null || value > current))
            {
                current = value;
            }
        }

        if (current is not { } best)
        {
            string missing = runs.Any(r => r.ContainsKey(ratio.Subject)) ? ratio.Reference : ratio.Subject;
            return new GateRow(subject, "ratio", "", $"{missing} missing", "", Verdict.Missing);
        }

        return RatioRow(subject, ratio, baseline, best, tolerance);
    }

    private static GateRow RatioRow(string subject, RatioSpec ratio, Baseline baseline, double value, double tolerance)
    {
        if (!baseline.Ratios.TryGetValue(ratio.Name, out var expected))
        {
            return new GateRow(subject, "ratio", "none", Ratio(value), UpdateTheBaseline, Verdict.Missing);
        }

        var verdict = value >= expected * (1 - tolerance) ? Verdict.Pass : Verdict.Regression;
        return new GateRow(subject, "ratio", Ratio(expected), Ratio(value), Percent(value / expected - 1), verdict);
    }

    private const string UpdateTheBaseline = "not in the baseline: update it (build/bench.sh --quick --update-baseline)";

    private static double? RatioOf(RatioSpec ratio, IReadOnlyDictionary<string, BenchmarkResult> run) =>
        run.TryGetValue(ratio.Subject, out var subject) && run.TryGetValue(ratio.Reference, out var reference) && subject.MedianNs > 0
            ? reference.MedianNs / subject.MedianNs
            : null;

    private static string Ns(double ns) => ns switch
    {
        >= 1e9 => (ns / 1e9).ToString("0.000 s", CultureInfo.InvariantCulture),
        >= 1e6 => (ns / 1e6).ToString("0.000 ms", CultureInfo.InvariantCulture),
        >= 1e3 => (ns / 1e3).ToString("0.000 us", CultureInfo.InvariantCulture),
        _ => ns.ToString("0.0 ns", CultureInfo.InvariantCulture),
    };

    private static string Bytes(long bytes) => bytes.ToString("N0", CultureInfo.InvariantCulture) + " B";

    private static string Ratio(double value) => value.ToString("0.000x", CultureInfo.InvariantCulture);

    private static string Percent(double change) => (change >= 0 ? "+" : "") + (change * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %";
}
