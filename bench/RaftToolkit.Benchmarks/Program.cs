using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using RaftToolkit.Benchmarks;

// Every benchmark class carries [Config(typeof(BenchConfig))]; an empty config here keeps the
// defaults from adding a second set of loggers and exporters.
BenchmarkSwitcher.FromAssembly(typeof(BenchConfig).Assembly).Run(args, ManualConfig.CreateEmpty());
