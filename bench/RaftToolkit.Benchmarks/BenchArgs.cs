using System.Globalization;

namespace RaftToolkit.Benchmarks;

/// <summary>Positional arguments of the commands that run outside BenchmarkDotNet.</summary>
internal static class BenchArgs
{
    /// <summary>The integer at <paramref name="position"/>, or <paramref name="fallback"/> when there are fewer arguments.</summary>
    public static int IntOr(string[] args, int position, int fallback) =>
        args.Length > position ? int.Parse(args[position], CultureInfo.InvariantCulture) : fallback;
}
