using BenchmarkDotNet.Running;
using RaftToolkit.Benchmarks;

BenchmarkSwitcher.FromAssembly(typeof(BenchConfig).Assembly).Run(args, new BenchConfig());
