using RaftToolkit.Testing.KeyValue;
using RaftToolkit.Testing.Linearizability;
using Xunit;

namespace RaftToolkit.Testing.Tests.Linearizability;

/// <summary>The checker on histories whose verdict is known by hand.</summary>
public sealed class LinearizabilityCheckerTests
{
    private static Operation<KvCommand, KvResponse> Op(int client, KvCommand input, long call, string? output, long ret) =>
        Operation<KvCommand, KvResponse>.Completed(client, input, call, new KvResponse(output), ret);

    private static LinearizabilityResult<KvCommand, KvResponse> Check(params Operation<KvCommand, KvResponse>[] history) =>
        LinearizabilityChecker.Check(KeyValueModel.Instance, history);

    [Fact]
    public void SequentialHistoryOfASingleRegisterIsLinearizable()
    {
        var result = Check(
            Op(0, KvCommand.Set("x", "1"), 0, null, 1),
            Op(0, KvCommand.Get("x"), 2, "1", 3),
            Op(0, KvCommand.Set("x", "2"), 4, "1", 5),
            Op(0, KvCommand.Get("x"), 6, "2", 7));
        Assert.True(result.IsLinearizable, result.Describe());
    }

    [Fact]
    public void ReadConcurrentWithAWriteMaySeeEitherValue()
    {
        // Porcupine's classic: put(1) overlaps get()->1 and get()->0 (none here).
        var result = Check(
            Op(0, KvCommand.Set("x", "1"), 0, null, 10),
            Op(1, KvCommand.Get("x"), 1, "1", 5),
            Op(2, KvCommand.Get("x"), 2, null, 3));
        Assert.True(result.IsLinearizable, result.Describe());
    }

    [Fact]
    public void StaleReadAfterANewerReadIsNotLinearizable()
    {
        // get()->1 returned before get()->none started, but the write completed before both.
        var result = Check(
            Op(0, KvCommand.Set("x", "1"), 0, null, 2),
            Op(1, KvCommand.Get("x"), 3, "1", 4),
            Op(2, KvCommand.Get("x"), 5, null, 6));
        Assert.Equal(LinearizabilityVerdict.NotLinearizable, result.Verdict);
        Assert.Equal(3, result.FailedPartition.Count);
    }

    [Fact]
    public void ReadingAValueNeverWrittenIsNotLinearizable()
    {
        var result = Check(
            Op(0, KvCommand.Set("x", "1"), 0, null, 2),
            Op(1, KvCommand.Get("x"), 1, "7", 3));
        Assert.False(result.IsLinearizable);
    }

    [Fact]
    public void ReadsMayNotSeeWritesInTwoDifferentOrders()
    {
        // Two writers overlap; one reader sees 1 then 2, another 2 then 1, all after both writes.
        var result = Check(
            Op(0, KvCommand.Set("x", "1"), 0, null, 5),
            Op(1, KvCommand.Set("x", "2"), 0, null, 5),
            Op(2, KvCommand.Get("x"), 6, "1", 7),
            Op(3, KvCommand.Get("x"), 8, "2", 9));
        Assert.False(result.IsLinearizable, "after both writes returned, the register cannot change again");
    }

    [Fact]
    public void AnAmbiguousWriteMayHaveTakenEffect()
    {
        var result = Check(
            Operation<KvCommand, KvResponse>.Ambiguous(0, KvCommand.Set("x", "1"), 0),
            Op(1, KvCommand.Get("x"), 5, "1", 6));
        Assert.True(result.IsLinearizable, result.Describe());
    }

    [Fact]
    public void AnAmbiguousWriteMayNeverHaveTakenEffect()
    {
        var result = Check(
            Operation<KvCommand, KvResponse>.Ambiguous(0, KvCommand.Set("x", "1"), 0),
            Op(1, KvCommand.Get("x"), 5, null, 6),
            Op(1, KvCommand.Get("x"), 7, null, 8));
        Assert.True(result.IsLinearizable, result.Describe());
    }

    [Fact]
    public void AnAmbiguousWriteCannotTakeEffectBeforeItWasCalled()
    {
        var result = Check(
            Op(1, KvCommand.Get("x"), 0, "1", 1),
            Operation<KvCommand, KvResponse>.Ambiguous(0, KvCommand.Set("x", "1"), 2));
        Assert.False(result.IsLinearizable);
    }

    [Fact]
    public void KeysAreCheckedIndependentlyAndTheFailingKeyIsReported()
    {
        var result = Check(
            Op(0, KvCommand.Set("a", "1"), 0, null, 1),
            Op(0, KvCommand.Get("a"), 2, "1", 3),
            Op(1, KvCommand.Set("b", "1"), 0, null, 1),
            Op(1, KvCommand.Get("b"), 2, "2", 3));
        Assert.False(result.IsLinearizable);
        Assert.All(result.FailedPartition, op => Assert.Equal("b", op.Input.Key));
    }

    [Fact]
    public void ManyConcurrentClientsOfALinearizableRegisterPass()
    {
        // 40 clients each write a unique value then read back through a strictly serial
        // execution whose real-time windows overlap heavily: must be found linearizable fast.
        var history = new List<Operation<KvCommand, KvResponse>>();
        string? value = null;
        for (int i = 0; i < 40; i++)
        {
            history.Add(Op(i, KvCommand.Set("x", i.ToString()), i, value, 100 + i));
            value = i.ToString();
        }

        history.Add(Op(99, KvCommand.Get("x"), 200, value, 201));
        var result = LinearizabilityChecker.Check(KeyValueModel.Instance, history);
        Assert.True(result.IsLinearizable, result.Describe());
    }

    [Fact]
    public void ExhaustedSearchBudgetIsUnknownNotAVerdict()
    {
        var history = Enumerable.Range(0, 12)
            .Select(i => Op(i, KvCommand.Set("x", i.ToString()), 0, "never", 100))
            .ToArray();
        var result = LinearizabilityChecker.Check(KeyValueModel.Instance, history, maxStepsPerPartition: 10);
        Assert.Equal(LinearizabilityVerdict.Unknown, result.Verdict);
    }

    [Fact]
    public void RecorderProducesOrderedTimesAndTreatsPendingCallsAsAmbiguous()
    {
        var recorder = new HistoryRecorder<KvCommand, KvResponse>();
        int set = recorder.Call(0, KvCommand.Set("x", "1"));
        recorder.Return(set, new KvResponse(null));
        int get = recorder.Call(1, KvCommand.Get("x"));
        recorder.Return(get, new KvResponse("1"));
        recorder.Call(2, KvCommand.Set("x", "2"));

        var history = recorder.Snapshot();
        Assert.True(history[0].ReturnTime < history[1].CallTime);
        Assert.True(history[2].IsAmbiguous);
        Assert.True(LinearizabilityChecker.Check(KeyValueModel.Instance, history).IsLinearizable);
        Assert.Throws<InvalidOperationException>(() => recorder.Return(set, default));
    }
}
