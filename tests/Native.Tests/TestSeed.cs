namespace RaftToolkit.Native.Tests;

/// <summary>The seed of a randomized test: RAFTKIT_SEED when set, to replay a run, else a new one.</summary>
internal static class TestSeed
{
    public static int FromEnvironmentOrNew() =>
        int.TryParse(Environment.GetEnvironmentVariable("RAFTKIT_SEED"), out int seed) ? seed : Random.Shared.Next();
}
