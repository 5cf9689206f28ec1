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
    private WriteRequest[] _requests = new WriteRequest[64];

    /// <summary>Scratch for <see cref="Fill"/>'s group order; kept with the pooled batch.</summary>
    private OpOrder[] _order = new OpOrder[64];

    public NativeWriteBatch()
    {
        Handle = RocksDbNative.WriteBatchCreate();
    }

    /// <summary>The native <c>rocksdb_writebatch_t*</c>.</summary>
    public nint Handle { get; private set; }

    /// <summary>The requests whose operations the batch holds, in submission order.</summary>
    public ReadOnlySpan<WriteRequest> Requests => _requests.AsSpan(0, RequestCount);

    /// <summary>How many requests the batch holds.</summary>
    public int RequestCount { get; private set; }

    /// <summary>Native operations in the batch.</summary>
    public int OperationCount { get; private set; }

    /// <summary>Key and value bytes in the batch.</summary>
    public long ByteCount { get; private set; }

    /// <summary>Log entries appended by the batch.</summary>
    public int EntryCount { get; private set; }

    /// <summary>Takes <paramref name="request"/> into the batch; its operations reach the native batch in <see cref="Fill"/>.</summary>
    public void Add(WriteRequest request)
    {
        if (RequestCount == _requests.Length)
        {
            Array.Resize(ref _requests, _requests.Length * 2);
        }

        _requests[RequestCount++] = request;
        OperationCount += request.OpCount;
        ByteCount += request.Data.WrittenCount;
        EntryCount += request.EntryCount;
    }

    /// <summary>
    /// Copies every staged operation into the native batch: in submission order, or, when
    /// <paramref name="orderByGroup"/>, ordered by group and in submission order within a group.
    /// </summary>
    /// <remarks>
    /// <para>Why order by group: RocksDB inserts a batch into the memtable's skip list one key at a
    /// time, and an insert next to the previous one (or, with insert hints, next to its group's
    /// previous one) is far cheaper than one at a random place. Concurrent appenders submit their
    /// groups in whatever order their threads ran; sorted, a write visits the skip list once,
    /// from left to right.</para>
    /// <para>Why that changes nothing a reader can see: the batch applies atomically, and only
    /// operations on the same key or a range holding it depend on their order. Group-prefixed
    /// keys start with the group id, and every range the store writes stays inside one group's
    /// prefix, so operations of different groups commute; those of one group keep their order.
    /// Flat keys carry no group, so a flat store passes false.</para>
    /// </remarks>
    public void Fill(nint logFamily, nint metaFamily, bool orderByGroup)
    {
        var order = ListOperations(orderByGroup, out bool inOrder);
        if (!inOrder)
        {
            order.Sort();
        }

        foreach (var op in order)
        {
            var request = _requests[op.Request];
            Put(request, request.Ops[op.Op], logFamily, metaFamily);
        }
    }

    /// <summary>
    /// Lists every operation in submission order in <see cref="_order"/>, with its group when
    /// <paramref name="byGroup"/>; <paramref name="inOrder"/> tells whether that is already group
    /// order (always, without groups), so a batch that arrives sorted is not sorted again.
    /// </summary>
    private Span<OpOrder> ListOperations(bool byGroup, out bool inOrder)
    {
        if (_order.Length < OperationCount)
        {
            _order = new OpOrder[Math.Max(OperationCount, _order.Length * 2)];
        }

        inOrder = true;
        ulong previous = 0;
        int next = 0;
        for (int r = 0; r < RequestCount; r++)
        {
            var request = _requests[r];
            var data = request.Data.WrittenSpan;
            var ops = request.Ops;
            for (int o = 0; o < ops.Length; o++)
            {
                ulong group = byGroup ? LogKeys.ReadGroupId(data[ops[o].KeyOffset..]) : 0;
                inOrder &= group >= previous;
                previous = group;
                _order[next++] = new OpOrder(group, r, o);
            }
        }

        return _order.AsSpan(0, next);
    }

    private unsafe void Put(WriteRequest request, in StagedOp op, nint logFamily, nint metaFamily)
    {
        nint family = op.Family == StagedFamily.Log ? logFamily : metaFamily;

        // SAFETY: the request's buffer is pinned for the duration of the call, and RocksDB copies
        // keys and values into the batch before it returns; offsets were produced by staging
        // into this very buffer, so every slice lies inside it.
        fixed (byte* bytes = request.Data.WrittenSpan)
        {
            byte* key = bytes + op.KeyOffset;
            switch (op.Kind)
            {
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

    /// <summary>Completes every request, in submission order.</summary>
    public void CompleteAll(Exception? error)
    {
        foreach (var request in Requests)
        {
            request.Complete(error);
        }
    }

    /// <summary>Empties the batch for reuse, keeping its native buffer.</summary>
    public void Reset()
    {
        RocksDbNative.WriteBatchClear(Handle);
        _requests.AsSpan(0, RequestCount).Clear();
        RequestCount = 0;
        OperationCount = 0;
        ByteCount = 0;
        EntryCount = 0;
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

/// <summary>Where an operation goes in a group-ordered batch: by group, then by submission order.</summary>
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
