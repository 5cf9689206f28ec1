using RaftToolkit.BenchGate;

// bench-gate --results DIR[,DIR...] --baseline FILE --gate FILE [--update-baseline] [--machine TEXT]
// Several result directories are runs of the same benchmarks; the gate judges the best of them.
// Exit codes: 0 pass (or baseline written), 1 regression or missing benchmark, 2 bad usage.
var options = new Dictionary<string, string>(StringComparer.Ordinal);
bool update = false;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--update-baseline":
            update = true;
            break;
        case "--results" or "--baseline" or "--gate" or "--machine" when i + 1 < args.Length:
            options[args[i]] = args[++i];
            break;
        default:
            Console.Error.WriteLine($"bench-gate: unknown or incomplete argument '{args[i]}'.");
            Console.Error.WriteLine("usage: bench-gate --results DIR[,DIR...] --baseline FILE --gate FILE [--update-baseline] [--machine TEXT]");
            return 2;
    }
}

foreach (var required in new[] { "--results", "--baseline", "--gate" })
{
    if (!options.ContainsKey(required))
    {
        Console.Error.WriteLine($"bench-gate: {required} is required.");
        return 2;
    }
}

try
{
    var spec = GateFiles.ReadSpec(options["--gate"]);
    var runs = options["--results"].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(ResultReader.ReadDirectory).ToList();
    if (runs.Any(r => r.Count == 0))
    {
        Console.Error.WriteLine($"bench-gate: no benchmark results under {options["--results"]}.");
        return 1;
    }

    if (update)
    {
        string machine = options.GetValueOrDefault("--machine") ?? $"{Environment.MachineName}, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}";
        GateFiles.WriteBaseline(options["--baseline"], GateComparer.CreateBaseline(spec, runs, machine));
        Console.WriteLine($"bench-gate: baseline written to {options["--baseline"]} ({runs[0].Count} benchmarks, {spec.Ratios.Count} ratios).");
        return 0;
    }

    var report = GateComparer.Compare(spec, GateFiles.ReadBaseline(options["--baseline"]), runs);
    ReportPrinter.Print(report, Console.Out);
    return report.Passed ? 0 : 1;
}
catch (Exception e) when (e is ArgumentException or InvalidDataException or System.Text.Json.JsonException or IOException)
{
    Console.Error.WriteLine($"bench-gate: {e.Message}");
    return 2;
}
