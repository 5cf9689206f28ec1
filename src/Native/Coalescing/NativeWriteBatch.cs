using RaftToolkit.Native.Interop;

namespace RaftToolkit.Native.Coalescing;

/// <summary>
/// A native RocksDB write batch plus the requests whose operations it holds. Pooled: clearing
/// keeps the native batch's buffer, so a steady write load allocates nothing here.
/// </summary>
/// <remarks>SAFETY: <see cref="Handle"/> is owned by this object and destroyed exactly once, by <see cref="Dispose"/>.</remarks>
internal sealed class NativeWriteBatch : IDisposable
{
    private WriteRequest[] _requests = new WriteRequest[64];

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

    /// <summary>Copies every staged operation of <paramref name="request"/> into the native batch.</summary>
    public unsafe void Add(WriteRequest request, nint logFamily, nint metaFamily)
    {
        var data = request.Data.WrittenSpan;

        // SAFETY: the request's buffer is pinned for the duration of the puts, and RocksDB copies
        // keys and values into the batch before each call returns; offsets were produced by
        // staging into this very buffer, so every slice lies inside it.
        fixed (byte* bytes = data)
        {
            foreach (ref readonly var op in request.Ops)
            {
                nint family = op.Family == StagedFamily.Log ? logFamily : metaFamily;
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

        if (RequestCount == _requests.Length)
        {
            Array.Resize(ref _requests, _requests.Length * 2);
        }

        _requests[RequestCount++] = request;
        OperationCount += request.OpCount;
        ByteCount += data.Length;
        EntryCount += request.EntryCount;
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
