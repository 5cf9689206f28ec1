using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Testing.Faults;
using RaftToolkit.Testing.Storage;
using Xunit;

namespace RaftToolkit.Testing.Tests.Faults;

/// <summary>The fault-injecting stores fail exactly the planned write, then stop like a real store.</summary>
public sealed class FaultInjectionTests
{
    private static Entry Blank(ulong index) => Entry.Blank(new LogId(1, 0, index));

    [Fact]
    public async Task ThePlannedWriteFailsAndWritesNothing()
    {
        var faults = new WriteFaults();
        var store = new FaultInjectingLogStore(new InMemoryLogStore(), faults);
        await store.AppendAndFlushAsync(new[] { Blank(0) });
        faults.FailWrite(1);

        var error = await Assert.ThrowsAsync<StoreFailedException>(async () => await store.AppendAndFlushAsync(new[] { Blank(1) }));
        Assert.IsType<IOException>(error.InnerException);
        Assert.Equal(new LogId(1, 0, 0), (await store.GetLogStateAsync()).LastLogId);
    }

    [Fact]
    public async Task EveryLaterWriteFailsWithTheOriginalError()
    {
        var faults = new WriteFaults();
        var store = new FaultInjectingMultiGroupLogStore(new InMemoryMultiGroupLogStore(), faults);
        faults.FailWrite(2);
        await store.ForGroup(1).SaveVoteAsync(new Vote(1, 1));
        var first = await Assert.ThrowsAsync<StoreFailedException>(async () => await store.ForGroup(2).SaveVoteAsync(new Vote(1, 2)));

        var batch = new LogWriteBatch();
        batch.SaveVote(3, new Vote(1, 3));
        var later = await Assert.ThrowsAsync<StoreFailedException>(async () => await store.WriteAsync(batch));
        Assert.Same(first.InnerException, later.InnerException);
        Assert.Null(await store.ForGroup(2).ReadVoteAsync());
        Assert.Null(await store.ForGroup(3).ReadVoteAsync());
        Assert.Equal(new Vote(1, 1), await store.ForGroup(1).ReadVoteAsync());
    }

    [Fact]
    public void FailingAWriteBeforeTheNextIsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new WriteFaults().FailWrite(0));
}
