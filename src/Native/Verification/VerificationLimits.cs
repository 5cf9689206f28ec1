namespace RaftToolkit.Native.Verification;

/// <summary>
/// How many problems <see cref="RocksDbLogStore.VerifyAsync(VerificationLimits, CancellationToken)"/>
/// lists. Problems past a cap are still counted (<see cref="StoreVerification.ProblemCount"/>), and
/// verification goes on to the end of the store either way: the caps bound the report of a
/// badly damaged store, not the work.
/// </summary>
public sealed record VerificationLimits
{
    /// <summary>The default caps: 10 problems a group, 1,000 in all.</summary>
    public static VerificationLimits Default { get; } = new();

    /// <summary>
    /// Most problems listed for one group (default 10; at least 1): one group's destroyed log
    /// must not crowd out the problems of every other group. How many more a group has is in
    /// <see cref="StoreVerification.Unlisted"/>.
    /// </summary>
    public int MaxProblemsPerGroup { get; init; } = 10;

    /// <summary>Most problems listed in all (default 1,000; at least 1).</summary>
    public int MaxProblems { get; init; } = 1000;

    /// <summary>Throws unless both caps are at least 1.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A cap is below 1.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxProblemsPerGroup, 1, nameof(MaxProblemsPerGroup));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxProblems, 1, nameof(MaxProblems));
    }
}
