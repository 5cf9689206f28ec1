using System.Text.Json;
using System.Text.Json.Serialization;

namespace RaftToolkit.BenchGate;

/// <summary>
/// A throughput ratio gated against its baseline: how many times faster <see cref="Subject"/> is
/// than <see cref="Reference"/> measured in the same run (reference time ÷ subject time).
/// Both run on the same machine at the same moment, so machine speed cancels out.
/// </summary>
/// <param name="Name">A short name for the report.</param>
/// <param name="Subject">The benchmark key of what is gated (the store, say).</param>
/// <param name="Reference">The benchmark key it is measured against (raw RocksDB doing the same work).</param>
public sealed record RatioSpec(string Name, string Subject, string Reference);

/// <summary>What the gate checks and how much slack it allows (bench/gate.json).</summary>
public sealed record GateSpec
{
    /// <summary>Allowed growth of allocated bytes per operation over the baseline (0.10 = 10 %). Zero always stays zero.</summary>
    public double AllocationTolerance { get; init; } = 0.10;

    /// <summary>Allowed drop of a ratio below its baseline value (0.15 = 15 %).</summary>
    public double RatioTolerance { get; init; } = 0.15;

    /// <summary>The gated ratios.</summary>
    public IReadOnlyList<RatioSpec> Ratios { get; init; } = [];
}

/// <summary>One benchmark's stored numbers.</summary>
/// <param name="MedianNs">Median time per operation when the baseline was taken (reported, never gated).</param>
/// <param name="AllocatedBytes">Allocated bytes per operation (gated).</param>
public sealed record BaselineBenchmark(double MedianNs, long? AllocatedBytes);

/// <summary>The committed baseline (bench/baseline/baseline.json).</summary>
public sealed record Baseline
{
    /// <summary>Where and when the baseline was measured.</summary>
    public string Machine { get; init; } = "";

    /// <summary>Every benchmark of the gated run, by key.</summary>
    public SortedDictionary<string, BaselineBenchmark> Benchmarks { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Each gated ratio's value, by ratio name.</summary>
    public SortedDictionary<string, double> Ratios { get; init; } = new(StringComparer.Ordinal);
}

/// <summary>Reads and writes the gate's JSON files.</summary>
public static class GateFiles
{
    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        ReadCommentHandling = JsonCommentHandling.Skip,

        // A misspelled key ("ratioTolerence", or PascalCase) is an error, not a default silently used.
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>Reads a gate specification.</summary>
    public static GateSpec ReadSpec(string path) => Read<GateSpec>(path);

    /// <summary>Reads a baseline.</summary>
    public static Baseline ReadBaseline(string path) => Read<Baseline>(path);

    /// <summary>Writes a baseline.</summary>
    public static void WriteBaseline(string path, Baseline baseline)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, JsonSerializer.Serialize(baseline, Options) + "\n");
    }

    private static T Read<T>(string path)
    {
        if (!File.Exists(path))
        {
            throw new ArgumentException($"No file at '{path}'.", nameof(path));
        }

        return JsonSerializer.Deserialize<T>(File.ReadAllText(path), Options)
            ?? throw new InvalidDataException($"'{path}' is empty.");
    }
}
