using RaftToolkit.Native.Keys;

namespace RaftToolkit.Native.Verification;

/// <summary>
/// What <see cref="RocksDbLogStore.VerifyAsync(CancellationToken)"/> found: how much it checked,
/// and every problem, up to the caps of <see cref="VerificationLimits"/>.
/// </summary>
public sealed class StoreVerification
{
    internal StoreVerification(
        LogKeySpace keySpace,
        long groupsChecked,
        long entriesChecked,
        long problemCount,
        long groupsWithProblems,
        IReadOnlyList<StoreProblem> problems,
        IReadOnlyList<UnlistedProblems> unlisted)
    {
        KeySpace = keySpace;
        GroupsChecked = groupsChecked;
        EntriesChecked = entriesChecked;
        ProblemCount = problemCount;
        GroupsWithProblems = groupsWithProblems;
        Problems = problems;
        Unlisted = unlisted;
    }

    /// <summary>The key space the store was verified in.</summary>
    public LogKeySpace KeySpace { get; }

    /// <summary>
    /// The groups checked: every group with a key in either column family, as
    /// <see cref="RocksDbLogStore.ListGroupsAsync"/> lists them (in the flat key space, its one
    /// group when the database holds any key of it).
    /// </summary>
    public long GroupsChecked { get; }

    /// <summary>The log records checked: every key of a log key's length in the log column family.</summary>
    public long EntriesChecked { get; }

    /// <summary>Every problem found, listed or not.</summary>
    public long ProblemCount { get; }

    /// <summary>The groups with at least one problem (keys that belong to no group are not counted here).</summary>
    public long GroupsWithProblems { get; }

    /// <summary>
    /// The problems listed, in key order: group by group, each group's meta records before its
    /// log. At most <see cref="VerificationLimits.MaxProblemsPerGroup"/> a group and
    /// <see cref="VerificationLimits.MaxProblems"/> in all.
    /// </summary>
    public IReadOnlyList<StoreProblem> Problems { get; }

    /// <summary>
    /// For each group with problems listed and more left out, how many were left out. Groups
    /// reached after <see cref="VerificationLimits.MaxProblems"/> were listed have none listed,
    /// and are not here: <see cref="UnlistedCount"/> counts their problems too.
    /// </summary>
    public IReadOnlyList<UnlistedProblems> Unlisted { get; }

    /// <summary>The problems found but not listed in <see cref="Problems"/>.</summary>
    public long UnlistedCount => ProblemCount - Problems.Count;

    /// <summary>True when nothing is wrong.</summary>
    public bool IsClean => ProblemCount == 0;
}
