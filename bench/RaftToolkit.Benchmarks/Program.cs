using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using RaftToolkit.Benchmarks;

if (args is ["steady", .. var steadyArgs])
{
    RaftToolkit.Benchmarks.Store.SteadyStateAppendComparison.Run(steadyArgs);
    return;
}

if (args is ["steady-control", .. var controlArgs])
{
    RaftToolkit.Benchmarks.Store.SteadyStateAppendComparison.Run(controlArgs, RaftToolkit.Benchmarks.Store.ComparedSide.RawControl);
    return;
}

if (args is ["steady-floor", .. var floorArgs])
{
    RaftToolkit.Benchmarks.Store.SteadyStateAppendComparison.Run(floorArgs, RaftToolkit.Benchmarks.Store.ComparedSide.MinimalCoalescer);
    return;
}

if (args is ["compaction", .. var compactionArgs])
{
    RaftToolkit.Benchmarks.Store.CompactionStyleComparison.Run(compactionArgs);
    return;
}

if (args is ["purge-reads", .. var purgeArgs])
{
    RaftToolkit.Benchmarks.Store.PurgeReadComparison.Run(purgeArgs);
    return;
}

// Every benchmark class carries [Config(typeof(BenchConfig))]; an empty config here keeps the
// defaults from adding a second set of loggers and exporters.
BenchmarkSwitcher.FromAssembly(typeof(BenchConfig).Assembly).Run(args, ManualConfig.CreateEmpty());
