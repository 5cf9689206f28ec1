using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;

namespace RaftToolkit.Benchmarks;

/// <summary>
/// The one configuration every suite runs under: MemoryDiagnoser for allocated bytes per
/// operation (gated exactly), full JSON export for the regression comparer, and workstation
/// non-concurrent GC so that allocation numbers are not blurred by background GC threads.
/// </summary>
public sealed class BenchConfig : ManualConfig
{
    public BenchConfig()
    {
        var job = Job.Default
            .WithGcServer(false)
            .WithGcConcurrent(false);
        if (Environment.GetEnvironmentVariable("RAFTKIT_BENCH_QUICK") == "1")
        {
            // The CI gate: enough iterations for stable ratios, few enough to finish in minutes.
            job = job.WithWarmupCount(2).WithIterationCount(5).WithLaunchCount(1);
        }

        AddJob(job);
        AddDiagnoser(MemoryDiagnoser.Default);
        AddLogger(ConsoleLogger.Default);
        AddColumnProvider(DefaultColumnProviders.Instance);
        AddExporter(JsonExporter.Full, MarkdownExporter.GitHub);
        WithOptions(ConfigOptions.JoinSummary | ConfigOptions.DisableLogFile);
    }
}
