namespace RaftToolkit.Core.Tests.Raft;

/// <summary>Which seeds a randomized simulation runs, read the same way by every simulation test.</summary>
internal static class SimulationSeeds
{
    /// <summary>
    /// One seed when RAFTKIT_SEED is set (a replay); else <c>{prefix}_SEEDS</c> seeds from
    /// <c>{prefix}_FIRST_SEED</c> (the long mode); else <paramref name="ciSeeds"/> seeds from 1.
    /// </summary>
    /// <param name="prefix">The test's environment prefix, e.g. RAFTKIT_SIM.</param>
    /// <param name="ciSeeds">How many seeds a CI run covers.</param>
    public static (int First, int Count) Range(string prefix, int ciSeeds)
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("RAFTKIT_SEED"), out int one))
        {
            return (one, 1);
        }

        int first = int.TryParse(Environment.GetEnvironmentVariable($"{prefix}_FIRST_SEED"), out int from) ? from : 1;
        return int.TryParse(Environment.GetEnvironmentVariable($"{prefix}_SEEDS"), out int many) && many > 0
            ? (first, many)
            : (first, ciSeeds);
    }
}
