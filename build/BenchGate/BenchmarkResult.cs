using System.Text.Json;

namespace RaftToolkit.BenchGate;

/// <summary>One benchmark case of a run: its key, its median time and its allocations per operation.</summary>
/// <param name="Key">Type.Method, with the parameters in brackets when there are any.</param>
/// <param name="MedianNs">Median time per operation, in nanoseconds.</param>
/// <param name="AllocatedBytes">Managed bytes allocated per operation, when MemoryDiagnoser measured them.</param>
public sealed record BenchmarkResult(string Key, double MedianNs, long? AllocatedBytes);

/// <summary>Reads BenchmarkDotNet's full JSON exports (<c>*-report-full.json</c>).</summary>
public static class ResultReader
{
    /// <summary>Every benchmark of every full JSON report in <paramref name="directory"/> (searched recursively).</summary>
    public static IReadOnlyDictionary<string, BenchmarkResult> ReadDirectory(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new ArgumentException($"No results directory at '{directory}'.", nameof(directory));
        }

        var results = new Dictionary<string, BenchmarkResult>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(directory, "*-report-full.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            foreach (var result in ReadFile(file))
            {
                // The key names a benchmark by class, not namespace: two classes of one name would
                // otherwise overwrite each other, and the gate judge one by the other's numbers.
                if (!results.TryAdd(result.Key, result))
                {
                    throw new InvalidDataException($"Two benchmarks in '{directory}' share the key {result.Key} (one class name in two namespaces?): rename one.");
                }
            }
        }

        return results;
    }

    /// <summary>The benchmarks of one report file.</summary>
    public static IEnumerable<BenchmarkResult> ReadFile(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        if (!document.RootElement.TryGetProperty("Benchmarks", out var benchmarks))
        {
            throw new InvalidDataException($"'{path}' is not a BenchmarkDotNet full JSON report: it has no Benchmarks array.");
        }

        var results = new List<BenchmarkResult>();
        foreach (var benchmark in benchmarks.EnumerateArray())
        {
            string type = benchmark.GetProperty("Type").GetString() ?? "";
            string method = benchmark.GetProperty("Method").GetString() ?? "";
            string parameters = benchmark.TryGetProperty("Parameters", out var p) ? p.GetString() ?? "" : "";
            string key = parameters.Length == 0 ? $"{type}.{method}" : $"{type}.{method}({parameters})";

            // A benchmark that failed to run has no statistics: it is reported as missing.
            if (!benchmark.TryGetProperty("Statistics", out var statistics) || statistics.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            double median = statistics.GetProperty("Median").GetDouble();
            // Null when allocations were not measured: judged as missing, not read as a number.
            long? allocated = benchmark.TryGetProperty("Memory", out var memory) && memory.ValueKind == JsonValueKind.Object
                && memory.TryGetProperty("BytesAllocatedPerOperation", out var bytes) && bytes.ValueKind == JsonValueKind.Number
                ? bytes.GetInt64()
                : null;
            results.Add(new BenchmarkResult(key, median, allocated));
        }

        return results;
    }
}
