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
}
