using RaftToolkit.Testing.KeyValue;
using RaftToolkit.Testing.Linearizability;
using Xunit;

namespace RaftToolkit.Testing.Tests.Linearizability;

/// <summary>
/// Histories the checker must reject and histories it must accept, each built by hand so that
/// a checker which orders concurrent operations, forgets ambiguous ones, stops searching at the
/// first dead end or mixes keys gives the wrong verdict on at least one of them.
/// </summary>
public sealed class LinearizabilityCheckerVerdictTests
{
    private static Operation<KvCommand, KvResponse> Op(int client, KvCommand input, long call, string? output, long ret) =>
        Operation<KvCommand, KvResponse>.Completed(client, input, call, new KvResponse(output), ret);

    private static Operation<KvCommand, KvResponse> Pending(int client, KvCommand input, long call) =>
        Operation<KvCommand, KvResponse>.Ambiguous(client, input, call);

    private static LinearizabilityResult<KvCommand, KvResponse> Check(params Operation<KvCommand, KvResponse>[] history) =>
        LinearizabilityChecker.Check(KeyValueModel.Instance, history);

    private static void AssertRejected(LinearizabilityResult<KvCommand, KvResponse> result, string why) =>
        Assert.True(result.Verdict == LinearizabilityVerdict.NotLinearizable, $"{why}; the checker said {result.Describe()}");

    [Fact]
    public void AReadAfterACompletedWriteMustSeeIt() =>
        AssertRejected(
            Check(
                Op(0, KvCommand.Set("x", "1"), 0, null, 1),
                Op(1, KvCommand.Get("x"), 2, null, 3)),
            "the write returned before the read was called, so the read cannot miss it");

    [Fact]
    public void AReadCannotSeeAWriteCalledAfterTheReadReturned() =>
        AssertRejected(
            Check(
                Op(1, KvCommand.Get("x"), 0, "1", 1),
                Op(0, KvCommand.Set("x", "1"), 2, null, 3)),
            "the read returned the value of a write that had not started");

    [Fact]
    public void SuccessiveReadsDuringOneWriteCannotGoBackToTheOldValue() =>
        AssertRejected(
            Check(
                Op(0, KvCommand.Set("x", "1"), 0, null, 10),
                Op(1, KvCommand.Get("x"), 1, "1", 2),
                Op(2, KvCommand.Get("x"), 3, null, 4)),
            "once a read saw the new value, a read called after it returned cannot see the old one");

    [Fact]
    public void AnAcknowledgedWriteCannotBeLost() =>
        AssertRejected(
            Check(
                Op(0, KvCommand.Set("x", "1"), 0, null, 1),
                Op(1, KvCommand.Set("x", "2"), 2, null, 3)),
            "the second write found the key empty although the first had returned");

    [Fact]
    public void AWriteOverwrittenOnlyInTheReadersImaginationIsLost() =>
        AssertRejected(
            Check(
                Op(0, KvCommand.Set("x", "1"), 0, null, 1),
                Op(1, KvCommand.Set("x", "2"), 2, "1", 3),
                Op(2, KvCommand.Get("x"), 4, "1", 5)),
            "the read missed the second write, which had returned before it was called");

    [Fact]
    public void ADeleteThatReturnedCannotBeUndone() =>
        AssertRejected(
            Check(
                Op(0, KvCommand.Set("x", "1"), 0, null, 1),
                Op(0, KvCommand.Delete("x"), 2, "1", 3),
                Op(1, KvCommand.Get("x"), 4, "1", 5)),
            "the key was deleted before the read was called");

    [Fact]
    public void ConcurrentOperationsThatFitOnlyInTheOrderOppositeToTheirCallsAreLinearizable()
    {
        // The write is called first, so a search that takes it first must back out of that
        // choice: the read's empty answer only fits before the write.
        var result = Check(
            Op(0, KvCommand.Set("x", "1"), 0, null, 10),
            Op(1, KvCommand.Get("x"), 1, null, 10),
            Op(2, KvCommand.Get("x"), 11, "1", 12));
        Assert.True(result.IsLinearizable, result.Describe());
    }

    [Fact]
    public void ADeadEndSeveralChoicesDeepIsBackedOutOf()
    {
        // Three overlapping writes; the later reads fix their order to 3, 1, 2, the reverse
        // of what a search trying calls in order reaches first.
        var result = Check(
            Op(0, KvCommand.Set("x", "1"), 0, "3", 10),
            Op(1, KvCommand.Set("x", "2"), 1, "1", 10),
            Op(2, KvCommand.Set("x", "3"), 2, null, 10),
            Op(3, KvCommand.Get("x"), 11, "2", 12));
        Assert.True(result.IsLinearizable, result.Describe());
    }

    [Fact]
    public void OperationsThatTouchAtOneInstantAreConcurrent()
    {
        // The read is called at the instant the write returns: neither precedes the other, so
        // the read may come first and miss the write.
        var result = Check(
            Op(0, KvCommand.Set("x", "1"), 0, null, 5),
            Op(1, KvCommand.Get("x"), 5, null, 6));
        Assert.True(result.IsLinearizable, result.Describe());
    }

    [Fact]
    public void AnOperationReturningOneTickBeforeAnotherIsCalledPrecedesIt() =>
        AssertRejected(
            Check(
                Op(0, KvCommand.Set("x", "1"), 0, null, 5),
                Op(1, KvCommand.Get("x"), 6, null, 7)),
            "the write returned at 5, the read was called at 6");

    [Fact]
    public void AnAmbiguousWriteMayTakeEffectLongAfterItsCall()
    {
        // Readers see the key empty, then the value: the write landed between them.
        var result = Check(
            Pending(0, KvCommand.Set("x", "1"), 0),
            Op(1, KvCommand.Get("x"), 5, null, 6),
            Op(1, KvCommand.Get("x"), 7, "1", 8));
        Assert.True(result.IsLinearizable, result.Describe());
    }

    [Fact]
    public void AnAmbiguousWriteTakesEffectAtMostOnce() =>
        AssertRejected(
            Check(
                Pending(0, KvCommand.Set("x", "1"), 0),
                Op(1, KvCommand.Get("x"), 1, "1", 2),
                Op(1, KvCommand.Set("x", "2"), 3, "1", 4),
                Op(1, KvCommand.Get("x"), 5, "1", 6)),
            "the ambiguous write was already overwritten and cannot take effect a second time");

    [Fact]
    public void AnAmbiguousWriteCannotExplainAValueItDidNotWrite() =>
        AssertRejected(
            Check(
                Pending(0, KvCommand.Set("x", "1"), 0),
                Op(1, KvCommand.Get("x"), 5, "2", 6)),
            "nothing ever wrote 2");

    [Fact]
    public void AWriteToOneKeyIsInvisibleToAnother()
    {
        // A register per key: the read of b follows the write of a and still finds b empty.
        var result = Check(
            Op(0, KvCommand.Set("a", "1"), 0, null, 1),
            Op(1, KvCommand.Get("b"), 2, null, 3));
        Assert.True(result.IsLinearizable, result.Describe());
    }

    [Fact]
    public void KeysDifferingOnlyInCaseAreDifferentRegisters()
    {
        var result = Check(
            Op(0, KvCommand.Set("a", "1"), 0, null, 1),
            Op(1, KvCommand.Get("A"), 2, null, 3));
        Assert.True(result.IsLinearizable, result.Describe());
    }

    [Fact]
    public void AStaleReadIsCaughtWhenOtherKeysInterleave() =>
        AssertRejected(
            Check(
                Op(0, KvCommand.Set("x", "1"), 0, null, 1),
                Op(2, KvCommand.Set("y", "1"), 0, null, 3),
                Op(2, KvCommand.Get("y"), 4, "1", 5),
                Op(1, KvCommand.Get("x"), 4, null, 5)),
            "the read of x missed a write of x that returned before it");

    [Fact]
    public void HistoriesLinearizableKeyByKeyAreLinearizable()
    {
        // Locality: a register per key with single-key operations composes, so the model
        // checks each key alone. Here b is still empty when a is already set, and each key's
        // reads fit its own write.
        var result = Check(
            Op(0, KvCommand.Set("a", "1"), 0, null, 10),
            Op(1, KvCommand.Set("b", "1"), 0, null, 10),
            Op(2, KvCommand.Get("a"), 1, "1", 3),
            Op(3, KvCommand.Get("b"), 2, null, 4),
            Op(2, KvCommand.Get("b"), 5, "1", 6),
            Op(3, KvCommand.Get("a"), 5, "1", 6));
        Assert.True(result.IsLinearizable, result.Describe());
    }

    [Fact]
    public void TheSameOperationsLinearizedInAnotherOrderAreAnotherSearchState()
    {
        // Both ambiguous writes land before the reads; only "2 then 1" explains the last read.
        // A search that first tries "1 then 2" must not prune "2 then 1" as already seen: the
        // same set of operations leaves a different value.
        var result = Check(
            Pending(0, KvCommand.Set("x", "1"), 0),
            Pending(1, KvCommand.Set("x", "2"), 0),
            Op(2, KvCommand.Get("x"), 1, "1", 2),
            Op(3, KvCommand.Get("x"), 1, "2", 2),
            Op(2, KvCommand.Get("x"), 3, "1", 4));
        Assert.True(result.IsLinearizable, result.Describe());
    }

    [Fact]
    public void AnAmbiguousOperationsMissingAnswerIsNotHeldAgainstIt()
    {
        // The write's answer (the previous value, 1) never arrived; it still may take effect.
        var result = Check(
            Op(0, KvCommand.Set("x", "1"), 0, null, 1),
            Pending(1, KvCommand.Set("x", "2"), 2),
            Op(2, KvCommand.Get("x"), 3, "2", 4));
        Assert.True(result.IsLinearizable, result.Describe());
    }
}
