using System.Globalization;
using Xunit;

namespace RaftToolkit.BenchGate.Tests;

/// <summary>
/// The comparer's decisions on synthetic BenchmarkDotNet result files: what fails the build
/// and what does not.
/// </summary>
public sealed class GateComparerTests : IDisposable
{
    private const string Store = "StoreBenchmarks.Store64";
    private const string Raw = "StoreBenchmarks.Raw64";
    private readonly string _directory = Directory.CreateTempSubdirectory("bench-gate-").FullName;
    private readonly GateSpec _spec = new() { Ratios = [new RatioSpec("store-vs-raw", Store, Raw)] };

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void ARatioTwentyPercentBelowItsBaselineFails()
    {
        var baseline = BaselineOf((Store, 1000, 0), (Raw, 1000, 0));
        var report = Run(baseline, (Store, 1250, 0), (Raw, 1000, 0)); // ratio 0.8 vs 1.0

        var row = Assert.Single(report.Rows, r => r.Metric == "ratio");
        Assert.Equal(Verdict.Regression, row.Verdict);
        Assert.False(report.Passed);
    }

    [Fact]
    public void ARatioFivePercentBelowItsBaselinePasses()
    {
        var baseline = BaselineOf((Store, 1000, 0), (Raw, 1000, 0));
        var report = Run(baseline, (Store, 1053, 0), (Raw, 1000, 0)); // ratio ~0.95

        Assert.Equal(Verdict.Pass, Assert.Single(report.Rows, r => r.Metric == "ratio").Verdict);
        Assert.True(report.Passed);
    }

    [Fact]
    public void ASlowerMachineThatSlowsBothSidesEquallyPasses()
    {
        var baseline = BaselineOf((Store, 1000, 0), (Raw, 1000, 0));
        var report = Run(baseline, (Store, 3000, 0), (Raw, 3000, 0));

        Assert.True(report.Passed);
        Assert.All(report.Rows.Where(r => r.Metric == "time"), r => Assert.Equal(Verdict.Info, r.Verdict));
    }

    [Fact]
    public void AllocationGrowthPastTheToleranceFails()
    {
        var baseline = BaselineOf((Store, 1000, 100), (Raw, 1000, 0));
        var report = Run(baseline, (Store, 1000, 111), (Raw, 1000, 0));

        Assert.Equal(Verdict.Regression, Assert.Single(report.Rows, r => r.Metric == "allocated" && r.Subject == Store).Verdict);
        Assert.False(report.Passed);
    }

    [Fact]
    public void AllocationGrowthWithinTheTolerancePasses()
    {
        var baseline = BaselineOf((Store, 1000, 100), (Raw, 1000, 0));
        Assert.True(Run(baseline, (Store, 1000, 110), (Raw, 1000, 0)).Passed);
    }

    [Fact]
    public void ZeroAllocationsStayZero()
    {
        var baseline = BaselineOf((Store, 1000, 0), (Raw, 1000, 0));
        var report = Run(baseline, (Store, 1000, 1), (Raw, 1000, 0));

        Assert.Equal(Verdict.Regression, Assert.Single(report.Rows, r => r.Metric == "allocated" && r.Subject == Store).Verdict);
    }

    [Fact]
    public void ABenchmarkMissingFromTheRunIsReportedAndFails()
    {
        var baseline = BaselineOf((Store, 1000, 0), (Raw, 1000, 0), ("CodecBenchmarks.EncodeVote", 10, 0));
        var report = Run(baseline, (Store, 1000, 0), (Raw, 1000, 0));

        var row = Assert.Single(report.Rows, r => r.Verdict == Verdict.Missing);
        Assert.Equal("CodecBenchmarks.EncodeVote", row.Subject);
        Assert.False(report.Passed);
        var printed = new StringWriter();
        ReportPrinter.Print(report, printed);
        Assert.Contains("MISSING", printed.ToString());
        Assert.Contains("CodecBenchmarks.EncodeVote", printed.ToString());
    }

    [Fact]
    public void ARatioWhoseReferenceIsMissingFails()
    {
        var baseline = BaselineOf((Store, 1000, 0));
        var report = Run(baseline, (Store, 1000, 0));

        Assert.Equal(Verdict.Missing, Assert.Single(report.Rows, r => r.Metric == "ratio").Verdict);
    }

    /// <summary>A gated benchmark the baseline lacks would have its allocations checked by nothing: the gate fails until the baseline is updated.</summary>
    [Fact]
    public void ANewBenchmarkFailsTheGateUntilTheBaselineHasIt()
    {
        var baseline = BaselineOf((Store, 1000, 0), (Raw, 1000, 0));
        var report = Run(baseline, (Store, 1000, 0), (Raw, 1000, 0), ("NewBenchmarks.Fresh", 5, 999));

        var row = Assert.Single(report.Rows, r => r.Subject == "NewBenchmarks.Fresh");
        Assert.Equal(Verdict.Missing, row.Verdict);
        Assert.Contains("update-baseline", row.Change, StringComparison.Ordinal);
        Assert.False(report.Passed);
    }

    [Fact]
    public void AnUpdatedBaselineRecordsEveryBenchmarkAndRatio()
    {
        WriteResults((Store, 500, 0), (Raw, 1000, 64));
        var created = GateComparer.CreateBaseline(_spec, ResultReader.ReadDirectory(_directory), "test machine");
        var path = Path.Combine(_directory, "baseline", "baseline.json");
        GateFiles.WriteBaseline(path, created);

        var read = GateFiles.ReadBaseline(path);
        Assert.Equal(2.0, read.Ratios["store-vs-raw"], 3);
        Assert.Equal(64, read.Benchmarks[Raw].AllocatedBytes);
        Assert.True(GateComparer.Compare(_spec, read, ResultReader.ReadDirectory(_directory)).Passed);
    }

    [Fact]
    public void ARatioSpoiledInOneRunButNotInTheRerunPasses()
    {
        var baseline = BaselineOf((Store, 1000, 0), (Raw, 1000, 0));
        var noisy = RunOf((Store, 2000, 0), (Raw, 1000, 0));
        var rerun = RunOf((Store, 1020, 0), (Raw, 1000, 0));

        Assert.True(GateComparer.Compare(_spec, baseline, [noisy, rerun]).Passed);
    }

    [Fact]
    public void ARegressionInEveryRunStillFails()
    {
        var baseline = BaselineOf((Store, 1000, 0), (Raw, 1000, 0));
        var first = RunOf((Store, 1300, 0), (Raw, 1000, 0));
        var second = RunOf((Store, 1250, 0), (Raw, 1000, 0));

        Assert.False(GateComparer.Compare(_spec, baseline, [first, second]).Passed);
    }

    /// <summary>Allocations are a hard gate: a re-run that happens not to allocate does not excuse a run that did.</summary>
    [Fact]
    public void AnAllocationInOneRunFailsEvenWhenTheRerunAllocatesNothing()
    {
        var baseline = BaselineOf((Store, 1000, 0), (Raw, 1000, 0));
        var allocating = RunOf((Store, 1000, 48), (Raw, 1000, 0));
        var clean = RunOf((Store, 1000, 0), (Raw, 1000, 0));

        var report = GateComparer.Compare(_spec, baseline, [allocating, clean]);
        Assert.Equal(Verdict.Regression, Assert.Single(report.Rows, r => r.Metric == "allocated" && r.Subject == Store).Verdict);
        Assert.False(report.Passed);
    }

    /// <summary>Keys name a benchmark by class: two classes of one name in two namespaces must not judge one by the other.</summary>
    [Fact]
    public void TwoBenchmarksSharingAKeyInOneRunAreRefused()
    {
        File.WriteAllText(Path.Combine(_directory, "a-report-full.json"), Report(("StoreBenchmarks", "Store64", "", 4800.0, 64L)));
        File.WriteAllText(Path.Combine(_directory, "b-report-full.json"), Report(("StoreBenchmarks", "Store64", "", 2000.0, 0L)));

        var error = Assert.Throws<InvalidDataException>(() => ResultReader.ReadDirectory(_directory));
        Assert.Contains(Store, error.Message, StringComparison.Ordinal);
    }

    /// <summary>A report without an allocation measurement (null) is judged as not measured, not as a crash of the gate.</summary>
    [Fact]
    public void AnAllocationNotMeasuredIsReportedAsMissing()
    {
        var baseline = BaselineOf((Store, 1000, 0), (Raw, 1000, 0));
        File.WriteAllText(Path.Combine(_directory, "n-report-full.json"), Report(("StoreBenchmarks", "Store64", "", 1000.0, 0L), ("StoreBenchmarks", "Raw64", "", 1000.0, 0L)).Replace("\"BytesAllocatedPerOperation\":0}}", "\"BytesAllocatedPerOperation\":null}}", StringComparison.Ordinal));

        var report = GateComparer.Compare(_spec, baseline, ResultReader.ReadDirectory(_directory));
        Assert.Equal(Verdict.Missing, Assert.Single(report.Rows, r => r.Metric == "allocated" && r.Subject == Store).Verdict);
        Assert.False(report.Passed);
    }

    [Fact]
    public void ARatioIsNeverMadeOfTwoDifferentRuns()
    {
        // Run 1 has a fast subject but a fast reference too; run 2 a slow reference but a slow
        // subject. Mixing run 1's subject with run 2's reference would invent a 2x speed-up.
        var baseline = BaselineOf((Store, 1000, 0), (Raw, 1000, 0));
        var first = RunOf((Store, 500, 0), (Raw, 500, 0));
        var second = RunOf((Store, 1000, 0), (Raw, 1000, 0));

        var row = Assert.Single(GateComparer.Compare(_spec, baseline, [first, second]).Rows, r => r.Metric == "ratio");
        Assert.Equal("1.000x", row.Current);
    }

    [Fact]
    public void ABaselineRecordsEachRatioFromTheRunWhereItIsLowest()
    {
        var lucky = RunOf((Store, 500, 0), (Raw, 1000, 0));
        var typical = RunOf((Store, 1000, 0), (Raw, 1000, 0));

        var baseline = GateComparer.CreateBaseline(_spec, [lucky, typical], "two runs");
        Assert.Equal(1.0, baseline.Ratios["store-vs-raw"], 3);
        Assert.Equal(500, baseline.Benchmarks[Store].MedianNs);
    }

    /// <summary>A benchmark that failed in one run is a failure: a re-run that has it does not excuse it.</summary>
    [Fact]
    public void ABenchmarkMissingFromAnyRunFails()
    {
        var baseline = BaselineOf((Store, 1000, 0), (Raw, 1000, 0));
        var failedOnce = RunOf((Raw, 1000, 0));
        var rerun = RunOf((Store, 1000, 0), (Raw, 1000, 0));

        var report = GateComparer.Compare(_spec, baseline, [failedOnce, rerun]);

        var row = Assert.Single(report.Rows, r => r.Subject == Store && r.Metric == "presence");
        Assert.Equal((Verdict.Missing, "missing in run 1 of 2"), (row.Verdict, row.Current));
        Assert.False(report.Passed);
    }

    /// <summary>A gated ratio the baseline has no value for (a ratio added to gate.json, or a baseline gone wrong) fails until the baseline is updated.</summary>
    [Fact]
    public void ARatioTheBaselineLacksFails()
    {
        var baseline = BaselineOf((Store, 1000, 0), (Raw, 1000, 0));
        baseline.Ratios.Clear();

        var report = Run(baseline, (Store, 1000, 0), (Raw, 1000, 0));

        Assert.Equal(Verdict.Missing, Assert.Single(report.Rows, r => r.Metric == "ratio").Verdict);
        Assert.False(report.Passed);
    }

    /// <summary>The gate judges allocations by its worst run, so a baseline records the worst of its runs too: those runs pass it.</summary>
    [Fact]
    public void ABaselineRecordsTheMostAnyOfItsRunsAllocatedAndItsRunsPassIt()
    {
        var allocating = RunOf((Store, 1000, 48), (Raw, 1000, 0));
        var clean = RunOf((Store, 1000, 0), (Raw, 1000, 0));

        var baseline = GateComparer.CreateBaseline(_spec, [allocating, clean], "two runs");

        Assert.Equal(48, baseline.Benchmarks[Store].AllocatedBytes);
        Assert.True(GateComparer.Compare(_spec, baseline, [allocating, clean]).Passed);
    }

    /// <summary>A misspelled key in gate.json is an error, not a default used without a word.</summary>
    [Fact]
    public void AMisspelledKeyInTheSpecIsRefused()
    {
        string path = Path.Combine(_directory, "gate.json");
        File.WriteAllText(path, """{ "ratioTolerence": 0.5, "ratios": [] }""");

        Assert.ThrowsAny<System.Text.Json.JsonException>(() => GateFiles.ReadSpec(path));
    }

    [Fact]
    public void ParametersArePartOfTheBenchmarkKey()
    {
        File.WriteAllText(Path.Combine(_directory, "p-report-full.json"), Report(("StoreBenchmarks", "Append", "Groups=10000", 42.0, 0L)));
        var result = Assert.Single(ResultReader.ReadDirectory(_directory));
        Assert.Equal("StoreBenchmarks.Append(Groups=10000)", result.Key);
    }

    private GateReport Run(Baseline baseline, params (string Key, double Ns, long Bytes)[] results)
    {
        WriteResults(results);
        return GateComparer.Compare(_spec, baseline, ResultReader.ReadDirectory(_directory));
    }

    private static Dictionary<string, BenchmarkResult> RunOf(params (string Key, double Ns, long Bytes)[] results) =>
        results.ToDictionary(r => r.Key, r => new BenchmarkResult(r.Key, r.Ns, r.Bytes));

    private Baseline BaselineOf(params (string Key, double Ns, long Bytes)[] results)
    {
        var run = results.ToDictionary(r => r.Key, r => new BenchmarkResult(r.Key, r.Ns, r.Bytes));
        var ratios = _spec.Ratios.Where(r => run.ContainsKey(r.Subject) && run.ContainsKey(r.Reference)).ToList();
        return GateComparer.CreateBaseline(_spec with { Ratios = ratios }, run, "synthetic");
    }

    private void WriteResults(params (string Key, double Ns, long Bytes)[] results)
    {
        var items = results.Select(r =>
        {
            var parts = r.Key.Split('.');
            return (parts[0], parts[1], "", r.Ns, r.Bytes);
        }).ToArray();
        File.WriteAllText(Path.Combine(_directory, "synthetic-report-full.json"), Report(items));
    }

    private static string Report(params (string Type, string Method, string Parameters, double Ns, long Bytes)[] benchmarks)
    {
        var entries = benchmarks.Select(b => string.Format(
            CultureInfo.InvariantCulture,
            """{{"Type":"{0}","Method":"{1}","Parameters":"{2}","Statistics":{{"Median":{3},"Mean":{3}}},"Memory":{{"BytesAllocatedPerOperation":{4}}}}}""",
            b.Type, b.Method, b.Parameters, b.Ns, b.Bytes));
        return "{\"Title\":\"synthetic\",\"Benchmarks\":[" + string.Join(",", entries) + "]}";
    }
}
