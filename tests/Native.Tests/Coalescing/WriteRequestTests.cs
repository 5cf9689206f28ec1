using System.Threading.Tasks.Sources;
using Microsoft.Extensions.Logging.Abstractions;
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

    /// <summary>
    /// Completing a request marks it done before the completion has finished with it
    /// (<see cref="System.Threading.Tasks.Sources.ManualResetValueTaskSourceCore{TResult}"/> sets
    /// its completed flag, then installs a sentinel for a continuation registered late). A
    /// caller that saw it done in between and recycled it would hand the next write a request
    /// whose completion then took the sentinel: that write's await would resume at once, before
    /// the write was durable, and fail. So a request goes back to the pool only once both have
    /// let go: its caller has read the result, and its completion has returned.
    /// </summary>
    [Fact]
    public async Task ARequestGoesBackToThePoolOnlyOnceItsCallerHasReadItAndItsCompletionHasReturned()
    {
        var pool = new CountingPool();
        var request = pool.Get();
        IValueTaskSource source = request;
        short version = request.Version;
        int returnedWhenTheCallerReadIt = -1;
        // Registered with no scheduling context, so the continuation runs inline, inside the
        // completion, as an awaiting writer's does on the store's writing thread.
        source.OnCompleted(
            _ =>
            {
                source.GetResult(version);
                returnedWhenTheCallerReadIt = pool.Returned;
            },
            null,
            version,
            ValueTaskSourceOnCompletedFlags.None);

        request.Complete(null, NullLogger.Instance);
        Assert.Equal(0, returnedWhenTheCallerReadIt);
        Assert.Equal(1, pool.Returned);

        // And the other way round: completed first, read after.
        var next = pool.Get();
        var nextTask = new ValueTask(next, next.Version);
        next.Complete(null, NullLogger.Instance);
        Assert.Equal(1, pool.Returned);
        await nextTask;
        Assert.Equal(2, pool.Returned);
    }

    /// <summary>A request pool that counts what comes back.</summary>
    private sealed class CountingPool : Microsoft.Extensions.ObjectPool.ObjectPool<WriteRequest>
    {
        public int Returned { get; private set; }

        public override WriteRequest Get() => new(this);

        public override void Return(WriteRequest obj) => Returned++;
    }

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

        // Blank entries are staged whole: 24 bytes each with their keys.
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
        const int Cutoff = WriteRequest.CallerDataMinBytes;
        int[] lengths = [0, 1, 13, 14, Cutoff - 1, Cutoff, Cutoff + 1, 4096];
        var entries = new List<Entry>(Range(1, 0, 1000, payloadBytes: 1024));
        foreach (int length in lengths)
        {
            entries.Add(Entry.Normal(new LogId(300, 70_000, (ulong)entries.Count), new byte[length]));
        }

        entries.Add(Entry.Blank(new LogId(300, 70_000, (ulong)entries.Count)));
        entries.Add(Entry.ForMembership(new LogId(ulong.MaxValue, ulong.MaxValue, (ulong)entries.Count), Membership.FromVoters([1UL, 2, 3], [4UL])));

        var size = WriteRequest.AppendSize(space, entries.ToArray());
        request.Reserve(size, nameof(entries));
        int reserved = request.Data.Capacity;
        request.StageAppend(space, group, entries.ToArray());

        Assert.Equal(size.Staged, request.Data.WrittenCount);
        Assert.Equal(size.Total, request.ByteCount);
        Assert.Equal((1000 * 1024) + Cutoff + Cutoff + 1 + 4096, size.Total - size.Staged);
        Assert.Equal(1000 + 3, request.Ops.ToArray().Count(op => !op.Data.IsEmpty));
        Assert.Equal(reserved, request.Data.Capacity);
    }

    /// <summary>
    /// Staging asks for room for a longest record header before writing a shorter one, so a
    /// write whose staged bytes fill its reservation exactly would double the buffer for its
    /// last record unless the reservation leaves that room: 2,048 entries of 8 bytes stage
    /// 32 bytes each with their keys, 64 KiB in all.
    /// </summary>
    [Fact]
    public async Task AWriteWhoseStagedBytesFillAPowerOfTwoIsStagedWithoutGrowingTheBuffer()
    {
        await using var store = RocksDbLogStore.Open(_dir.Sub("db"));
        var group = (GroupLogState)store.ForGroup(1);
        var request = NewRequest();
        var entries = Range(1, 0, 2048, payloadBytes: 8);

        var size = WriteRequest.AppendSize(LogKeySpace.GroupPrefixed, entries);
        Assert.Equal(64 * 1024, size.Staged);
        request.Reserve(size, nameof(entries));
        int reserved = request.Data.Capacity;
        request.StageAppend(LogKeySpace.GroupPrefixed, group, entries);

        Assert.Equal(size.Staged, request.Data.WrittenCount);
        Assert.Equal(reserved, request.Data.Capacity);
    }
}
