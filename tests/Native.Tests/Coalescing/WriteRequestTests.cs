using RaftToolkit.Core.Model;
using RaftToolkit.Native.Coalescing;
using RaftToolkit.Native.Keys;
using static RaftToolkit.Native.Tests.TestEntries;

namespace RaftToolkit.Native.Tests.Coalescing;

public sealed class WriteRequestTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static WriteRequest NewRequest() => RequestPool.Create().Get();

    [Fact]
    public async Task AReusedRequestKeepsItsBufferForSmallWritesAndGivesBackOneGrownForALargeWrite()
    {
        await using var store = RocksDbLogStore.Open(_dir.Sub("db"));
        var group = (GroupLogState)store.ForGroup(1);
        var request = NewRequest();

        request.StageAppend(LogKeySpace.GroupPrefixed, group, Range(1, 0, 4, payloadBytes: 1024));
        var buffer = request.Data;
        request.ResetForReuse();
        Assert.Same(buffer, request.Data);
        Assert.Equal(0, request.Data.WrittenCount);

        // Blank entries are staged whole (a normal entry's data is not staged): 24 bytes each with their keys.
        var blanks = Enumerable.Range(0, 50_000).Select(i => Entry.Blank(new LogId(1, 0, (ulong)i))).ToArray();
        request.StageAppend(LogKeySpace.GroupPrefixed, group, blanks);
        Assert.True(request.Data.Capacity > 1 << 20);
        request.ResetForReuse();
        Assert.True(request.Data.Capacity <= 128 * 1024, $"a pooled request kept {request.Data.Capacity} bytes after a 1 MiB write");
        Assert.Equal(0, request.OpCount);
        Assert.Equal(0, request.CheckCount);
    }

    /// <summary>
    /// A large write is given its room before staging, so the buffer is rented once at its
    /// final size rather than doubled a dozen times, each time copying what was staged.
    /// </summary>
    [Theory]
    [InlineData(LogKeySpace.GroupPrefixed)]
    [InlineData(LogKeySpace.Flat)]
    public async Task AnAppendStagesExactlyTheBytesReservedForItWithoutGrowingTheBufferAgain(LogKeySpace space)
    {
        await using var store = RocksDbLogStore.Open(_dir.Sub("db"));
        var group = (GroupLogState)store.ForGroup(1);
        var request = NewRequest();
        Entry[] entries =
        [
            .. Range(1, 0, 1000, payloadBytes: 1024),
            Entry.Blank(new LogId(300, 70_000, 1000)),
            Entry.ForMembership(new LogId(300, 70_000, 1001), Membership.FromVoters([1UL, 2, 3], [4UL])),
        ];

        var size = WriteRequest.AppendSize(space, entries);
        request.Reserve(size, nameof(entries));
        int reserved = request.Data.Capacity;
        request.StageAppend(space, group, entries);

        Assert.Equal(size.Staged, request.Data.WrittenCount);
        Assert.Equal(size.Total, request.ByteCount);
        Assert.Equal(1000 * 1024, size.Total - size.Staged);

        // Data shorter than the cutoff is staged with its record.
        var small = Range(1, 1002, 10, payloadBytes: WriteRequest.CallerDataMinBytes - 1);
        var smallSize = WriteRequest.AppendSize(space, small);
        Assert.Equal(smallSize.Total, smallSize.Staged);
        Assert.Equal(reserved, request.Data.Capacity);
    }
}
