using System.Diagnostics;
using System.Runtime.Intrinsics.X86;
using Microsoft.Extensions.Logging;
using RaftToolkit.Native.Interop;
using RaftToolkit.Native.Keys;

namespace RaftToolkit.Native.Coalescing;

/// <summary>
/// A native RocksDB write batch plus the requests whose operations it holds. Pooled: clearing
/// keeps the native batch's buffer, so a steady write load allocates nothing here.
/// </summary>
/// <remarks>SAFETY: <see cref="Handle"/> is owned by this object and destroyed exactly once, by <see cref="Dispose"/>.</remarks>
internal sealed class NativeWriteBatch : IDisposable
{
    private readonly nint _logFamily;
    private readonly nint _metaFamily;

    /// <summary>Whether the store's keys start with their group (group-prefixed), so that order by group means something.</summary>
    private readonly bool _keysByGroup;

    private WriteRequest[] _requests = new WriteRequest[64];

    /// <summary>Scratch for putting one request's operations, or completing the requests, in group order; kept with the pooled batch.</summary>
    private OpOrder[] _order = new OpOrder[64];

    /// <summary>The group of the last operation put into the native batch (0 while empty, so a first request is always in order).</summary>
    private ulong _lastGroup;

    /// <summary>Every request so far continued the batch in group order.</summary>
    private bool _inGroupOrder = true;

    /// <summary>Every request so far wrote to one group only (a write of nothing counts as not).</summary>
    private bool _singleGroupRequests = true;

    public NativeWriteBatch(nint logFamily, nint metaFamily, bool keysByGroup)
    {
        _logFamily = logFamily;
        _metaFamily = metaFamily;
        _keysByGroup = keysByGroup;
        Handle = RocksDbNative.WriteBatchCreate();
    }

    /// <summary>The native <c>rocksdb_writebatch_t*</c>.</summary>
    public nint Handle { get; private set; }

    /// <summary>How many requests the batch holds.</summary>
    public int RequestCount { get; private set; }

    /// <summary>Native operations in the batch.</summary>
    public int OperationCount { get; private set; }

    /// <summary>Key and value bytes in the batch.</summary>
    public long ByteCount { get; private set; }

    /// <summary>Log entries appended by the batch.</summary>
    public int EntryCount { get; private set; }

    /// <summary>Requests in the batch that remove a group.</summary>
    public int RemovalCount { get; private set; }

    /// <summary>The batch's requests, in submission order.</summary>
    public ReadOnlySpan<WriteRequest> Requests => _requests.AsSpan(0, RequestCount);

    /// <summary>
    /// The most key and value bytes the batch has held: its native buffer keeps room for them
    /// after <see cref="Reset"/>, so this is what the batch costs to keep in a pool.
    /// </summary>
    public long PeakByteCount { get; private set; }

    /// <summary>
    /// Takes <paramref name="request"/> into the batch and copies its operations into the native
    /// batch at once, in group order within the request (see the remarks).
    /// </summary>
    /// <remarks>
    /// <para>Why at once: the request was staged a moment ago, by this thread, so its bytes are
    /// still in this core's cache. Copying a whole batch's requests just before the write reads
    /// them back from memory, a megabyte a round when a thousand appenders write 1 KiB entries,
    /// and stalls the writer on every fence that follows.</para>
    /// <para>Why group order: RocksDB inserts a batch into the memtable's skip list one key at a
    /// time, and an insert next to the previous one (or, with insert hints, next to its group's
    /// previous one) is far cheaper than one at a random place: a 64-entry batch of random groups
    /// took a quarter longer to write than a sorted one, a 1,024-entry batch of 1 KiB entries a
    /// tenth. A request's own operations are put in group order here. Requests arrive in the
    /// order their callers ran; <see cref="CompleteAll"/> answers an out-of-order batch's callers
    /// in group order, so concurrent appenders that append again as soon as they are answered
    /// submit their next batch in order.</para>
    /// <para>Why that changes nothing a reader can see: the batch applies atomically, and only
    /// operations on the same key or a range holding it depend on their order. Group-prefixed
    /// keys start with the group id, and every range the store writes stays inside one group's
    /// prefix, so operations of different groups commute; those of one group keep their order.
    /// Flat keys carry no group, and their operations are put in submission order.</para>
    /// </remarks>
    public void Add(WriteRequest request)
    {
        if (RequestCount == _requests.Length)
        {
            Array.Resize(ref _requests, _requests.Length * 2);
        }

        if (request.OpCount == 0)
        {
            // A write of nothing (an empty append) only waits its turn: answered in submission
            // order with everything else in the batch, after every write submitted before it.
            _singleGroupRequests = false;
            _requests[RequestCount++] = request;
            return;
        }

        var ops = ListInGroupOrder(request, out ulong firstGroup, out ulong lastGroup);
        foreach (var op in ops)
        {
            Put(request, request.Ops[op.Op]);
        }

        request.ForgetCallerData();
        PrefetchNext(request.ByteCount);

        _inGroupOrder &= firstGroup >= _lastGroup;
        _singleGroupRequests &= firstGroup == lastGroup;
        _lastGroup = lastGroup;
        _requests[RequestCount++] = request;
        RemovalCount += request.Replacement is null ? 0 : 1;
        OperationCount += request.OpCount;
        ByteCount += request.ByteCount;
        EntryCount += request.EntryCount;
    }

    /// <summary>
    /// Asks the CPU to load the native batch's memory just past its end, where the next
    /// request's operations will be copied, as much of it as <paramref name="bytes"/> (the
    /// request just added: concurrent appenders write alike), at most 4 KiB.
    /// </summary>
    /// <remarks>
    /// <para>Why: a thousand appenders fill a megabyte of batch a round, memory the write and the
    /// memtable insert in between have long evicted from the cache, and every copy into it is
    /// followed by the gate's release and the caller's await, both interlocked, which wait for
    /// the copy's stores to reach the cache. Fetched while the next caller's continuation runs,
    /// the lines are there when its copy comes. Workload (c), five alternating pairs: the pass
    /// after each synced write took 464 µs on average against 530 µs, and every pair's ratio
    /// rose (0.85–0.92× against 0.83–0.89×). Fetching two requests ahead did no better.</para>
    /// <para>SAFETY: a prefetch is a hint that never faults, so lines past the batch's allocated
    /// room, or freed by a batch that grows (and moves) on its next put, cost a useless load
    /// and nothing more.</para>
    /// </remarks>
    private unsafe void PrefetchNext(long bytes)
    {
        if (!Sse.IsSupported)
        {
            return;
        }

        const int CacheLine = 64;
        byte* end = RocksDbNative.WriteBatchData(Handle, out nuint size) + size;
        long ahead = Math.Min(bytes + CacheLine, 4096);
        for (long offset = 0; offset < ahead; offset += CacheLine)
        {
            Sse.Prefetch0(end + offset);
        }
    }

    /// <summary>
    /// Lists the request's operations in group order in <see cref="_order"/> (in staging order
    /// within a group, and throughout without groups), sorting only when staging order is not
    /// already group order.
    /// </summary>
    private Span<OpOrder> ListInGroupOrder(WriteRequest request, out ulong firstGroup, out ulong lastGroup)
    {
        var ops = request.Ops;
        Debug.Assert(!ops.IsEmpty, "every staged request holds at least one operation");
        var order = OrderScratch(ops.Length);
        bool inOrder = true;
        ulong previous = 0;
        for (int o = 0; o < ops.Length; o++)
        {
            ulong group = GroupOf(request, ops[o]);
            inOrder &= group >= previous;
            previous = group;
            order[o] = new OpOrder(group, 0, o);
        }

        if (!inOrder)
        {
            order.Sort();
        }

        firstGroup = order[0].Group;
        lastGroup = order[^1].Group;
        return order;
    }

    /// <summary>The first <paramref name="length"/> slots of <see cref="_order"/>, grown (and kept) when too short.</summary>
    private Span<OpOrder> OrderScratch(int length)
    {
        if (_order.Length < length)
        {
            _order = new OpOrder[Math.Max(length, _order.Length * 2)];
        }

        return _order.AsSpan(0, length);
    }

    /// <summary>The group <paramref name="op"/> writes to; 0 for every operation when keys carry no group.</summary>
    private ulong GroupOf(WriteRequest request, in StagedOp op) =>
        _keysByGroup ? LogKeys.ReadGroupId(request.Data.WrittenSpan[op.KeyOffset..]) : 0;

    private unsafe void Put(WriteRequest request, in StagedOp op)
    {
        nint family = op.Family == StagedFamily.Log ? _logFamily : _metaFamily;

        // SAFETY: the request's buffer and the caller's data are pinned for the duration of the
        // call, and RocksDB copies keys and values into the batch before it returns; offsets were
        // produced by staging into this very buffer, so every slice lies inside it.
        fixed (byte* bytes = request.Data.WrittenSpan)
        {
            byte* key = bytes + op.KeyOffset;
            switch (op.Kind)
            {
                case StagedKind.Put when !op.Data.IsEmpty:
                    PutAround(family, key, (nuint)op.KeyLength, bytes + op.ValueOffset, op);
                    break;
                case StagedKind.Put:
                    RocksDbNative.WriteBatchPut(Handle, family, key, (nuint)op.KeyLength, bytes + op.ValueOffset, (nuint)op.ValueLength);
                    break;
                case StagedKind.Delete:
                    RocksDbNative.WriteBatchDelete(Handle, family, key, (nuint)op.KeyLength);
                    break;
                default:
                    RocksDbNative.WriteBatchDeleteRange(Handle, family, key, (nuint)op.KeyLength, bytes + op.ValueOffset, (nuint)op.ValueLength);
                    break;
            }
        }
    }

    /// <summary>Puts a value made of the staged bytes at <paramref name="staged"/> with the caller's data spliced in at <see cref="StagedOp.DataAt"/>.</summary>
    private unsafe void PutAround(nint family, byte* key, nuint keyLength, byte* staged, in StagedOp op)
    {
        // SAFETY: as in Put; the caller's data is pinned here, and every pointer handed over
        // lives on this frame or in pinned memory until RocksDB has copied the value.
        fixed (byte* data = op.Data.Span)
        {
            byte** parts = stackalloc byte*[3];
            nuint* lengths = stackalloc nuint[3];
            parts[0] = staged;
            lengths[0] = (nuint)op.DataAt;
            parts[1] = data;
            lengths[1] = (nuint)op.Data.Length;
            parts[2] = staged + op.DataAt;
            lengths[2] = (nuint)(op.ValueLength - op.DataAt);
            RocksDbNative.WriteBatchPutParts(Handle, family, 1, &key, &keyLength, 3, parts, lengths);
        }
    }

    /// <summary>
    /// Completes every request: in submission order, or, when the batch arrived out of group
    /// order and each request wrote one group, in group order (submission order within a group).
    /// </summary>
    /// <remarks>
    /// All of the batch's writes became durable together, so any order of answers is true; only
    /// one group's answers must keep their order. Answering in group order is what lets the next
    /// batch of appenders that append again as soon as they are answered arrive in group order
    /// (see <see cref="Add"/>). A request that wrote several groups (a host's round) keeps
    /// submission order, since it may precede another request on any of its groups.
    /// </remarks>
    public void CompleteAll(Exception? error, ILogger logger)
    {
        if (_inGroupOrder || !_singleGroupRequests)
        {
            foreach (var request in _requests.AsSpan(0, RequestCount))
            {
                request.Complete(error, logger);
            }

            return;
        }

        var order = OrderScratch(RequestCount);
        for (int r = 0; r < order.Length; r++)
        {
            // Each request wrote one group, so any of its operations names it.
            order[r] = new OpOrder(GroupOf(_requests[r], _requests[r].Ops[0]), r, 0);
        }

        order.Sort();
        foreach (var entry in order)
        {
            _requests[entry.Request].Complete(error, logger);
        }
    }

    /// <summary>Empties the batch for reuse, keeping its native buffer.</summary>
    public void Reset()
    {
        PeakByteCount = Math.Max(PeakByteCount, ByteCount);
        RocksDbNative.WriteBatchClear(Handle);
        _requests.AsSpan(0, RequestCount).Clear();
        RequestCount = 0;
        OperationCount = 0;
        ByteCount = 0;
        EntryCount = 0;
        RemovalCount = 0;
        _lastGroup = 0;
        _inGroupOrder = true;
        _singleGroupRequests = true;
    }

    public void Dispose()
    {
        if (Handle != 0)
        {
            RocksDbNative.WriteBatchDestroy(Handle);
            Handle = 0;
        }
    }
}

/// <summary>Where an operation, or a request, goes in group order: by group, then by submission order.</summary>
internal readonly record struct OpOrder(ulong Group, int Request, int Op) : IComparable<OpOrder>
{
    public int CompareTo(OpOrder other)
    {
        int byGroup = Group.CompareTo(other.Group);
        if (byGroup != 0)
        {
            return byGroup;
        }

        int byRequest = Request.CompareTo(other.Request);
        return byRequest != 0 ? byRequest : Op.CompareTo(other.Op);
    }
}
