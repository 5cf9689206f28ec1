using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using Xunit;

namespace RaftToolkit.Core.Tests.Storage;

public sealed class LogWriteBatchTests
{
    [Fact]
    public void TrimExcessKeepsTheBufferTheLastBatchesNeededAndGivesBackABurstsOnceItIsOver()
    {
        var batch = new LogWriteBatch();
        for (ulong group = 0; group < 1000; group++)
        {
            batch.SaveCommitted(group, new LogId(1, 1, group));
        }

        int grown = batch.Capacity;
        batch.Clear();

        batch.TrimExcess();
        Assert.Equal(grown, batch.Capacity);

        batch.SaveVote(7, new Vote(2, 1));
        batch.Clear();
        batch.TrimExcess();
        Assert.True(batch.Capacity < grown / 4, $"capacity {batch.Capacity} after a quiet period, {grown} after the burst");
    }

    [Fact]
    public void TrimExcessKeepsWhatTheBatchHolds()
    {
        var batch = new LogWriteBatch();
        for (ulong group = 0; group < 100; group++)
        {
            batch.SaveCommitted(group, new LogId(1, 1, group));
        }

        batch.Clear();
        batch.TrimExcess();
        batch.SaveVote(3, new Vote(4, 2));
        batch.Append(3, new[] { Entry.Blank(new LogId(4, 2, 0)) });

        batch.TrimExcess();

        Assert.Equal(2, batch.Count);
        Assert.Equal(LogWriteOpKind.SaveVote, batch.Operations[0].Kind);
        Assert.Equal(LogWriteOpKind.Append, batch.Operations[1].Kind);
        Assert.Equal(1, batch.EntryCount);
    }

    [Fact]
    public void RemoveGroupDropsThatGroupsOperationsAndKeepsTheOthersInOrder()
    {
        var batch = new LogWriteBatch();
        var entries = new[] { Entry.Normal(new LogId(1, 0, 0), new byte[1]), Entry.Normal(new LogId(1, 0, 1), new byte[1]) };
        batch.Append(1, entries);
        batch.SaveVote(2, new Vote(1, 0));
        batch.Append(2, entries.AsMemory(0, 1));
        batch.SaveCommitted(1, new LogId(1, 0, 0));
        batch.Purge(3, new LogId(1, 0, 0));

        Assert.Equal(2, batch.RemoveGroup(1));
        Assert.Equal([(LogWriteOpKind.SaveVote, 2UL), (LogWriteOpKind.Append, 2UL), (LogWriteOpKind.Purge, 3UL)], batch.Operations.ToArray().Select(op => (op.Kind, op.GroupId)));
        Assert.Equal(1, batch.EntryCount);
        Assert.Equal(0, batch.RemoveGroup(1));
    }
}
