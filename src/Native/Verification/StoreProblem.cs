namespace RaftToolkit.Native.Verification;

/// <summary>One thing <see cref="RocksDbLogStore.VerifyAsync(CancellationToken)"/> found wrong.</summary>
/// <param name="Kind">What kind of problem it is.</param>
/// <param name="GroupId">
/// The group whose keys hold it; null for a key that belongs to no group (in the group-prefixed
/// key space, a key shorter than a group id). In the flat key space, the store's
/// <see cref="RocksDbLogStoreOptions.FlatGroupId"/>.
/// </param>
/// <param name="Index">The log index it concerns, where one applies: the damaged, misplaced or out-of-order entry, or the first missing one of a hole.</param>
/// <param name="Description">A sentence for an operator, naming the group and index where they apply, and what is wrong.</param>
public sealed record StoreProblem(StoreProblemKind Kind, ulong? GroupId, ulong? Index, string Description)
{
    /// <summary>The <see cref="Description"/>.</summary>
    public override string ToString() => Description;
}

/// <summary>How many problems of one group <see cref="StoreVerification.Problems"/> leaves out, past its caps.</summary>
/// <param name="GroupId">The group; null for keys that belong to no group.</param>
/// <param name="Count">How many of its problems are not listed.</param>
public readonly record struct UnlistedProblems(ulong? GroupId, long Count);
