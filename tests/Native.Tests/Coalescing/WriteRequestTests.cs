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

        request.StageAppend(LogKeySpace.GroupPrefixed, group, Range(1, 0, 1100, payloadBytes: 1024));
        Assert.True(request.Data.Capacity > 1 << 20);
        request.ResetForReuse();
        Assert.True(request.Data.Capacity <= 128 * 1024, $"a pooled request kept {request.Data.Capacity} bytes after a 1 MiB write");
        Assert.Equal(0, request.OpCount);
        Assert.Equal(0, request.CheckCount);
    }
}
