using System.Buffers.Binary;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.ObjectPool;
using RaftToolkit.Core.Codec;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native.Coalescing;
using RaftToolkit.Native.Keys;
using RocksDbSharp;
using static RaftToolkit.Native.Tests.TestEntries;

namespace RaftToolkit.Native.Tests.Coalescing;

/// <summary>
/// The order in which a native batch takes operations and answers callers: by group where that
/// is free to choose (it makes RocksDB's memtable inserts cheap), by submission within a group.
/// </summary>
public sealed class NativeWriteBatchTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly RocksDb _db;
    private readonly RocksDbLogStore _store;
    private readonly ObjectPool<WriteRequest> _requests;
    private readonly List<string> _answered = [];

    public NativeWriteBatchTests()
    {
        _db = RocksDbLogStore.OpenDatabase(_dir.Sub("db"), new RocksDbLogStoreOptions());
        _store = RocksDbLogStore.Attach(_db);
        _requests = RequestPool.Create();
    }

    public void Dispose()
    {
        _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _db.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void ABatchThatArrivedOutOfGroupOrderIsAnsweredInGroupOrderKeepingEachGroupsOrder()
    {
        using var batch = NewBatch();
        batch.Add(Append("a", (7, 1)));
        batch.Add(Append("b", (3, 1)));
        batch.Add(Append("c", (9, 1)));
        batch.Add(Append("d", (3, 2)));

        batch.CompleteAll(null, NullLogger.Instance);

        Assert.Equal(["b", "d", "a", "c"], _answered);
    }

    [Fact]
    public void ABatchOfRequestsThatEachWroteSeveralGroupsIsAnsweredInSubmissionOrder()
    {
        // "late" may precede "early" on group 9, so answering by first group could reorder group 9's answers.
        using var batch = NewBatch();
        batch.Add(Append("early", (9, 1)));
        batch.Add(Append("late", (3, 1), (9, 2)));

        batch.CompleteAll(null, NullLogger.Instance);

        Assert.Equal(["early", "late"], _answered);
    }

    [Fact]
    public void ARequestsOperationsGoIntoTheNativeBatchInGroupOrder()
    {
        using var batch = NewBatch();
        batch.Add(Append("host round", (9, 1), (3, 1), (9, 2), (5, 1)));

        Assert.Equal([(3UL, 1UL), (5, 1), (9, 1), (9, 2)], KeysOf(batch));
        batch.CompleteAll(null, NullLogger.Instance);
    }

    [Fact]
    public void AFlatStoresOperationsGoInInStagingOrder()
    {
        using var batch = new NativeWriteBatch(LogFamily, MetaFamily, keysByGroup: false);
        var request = _requests.Get();
        request.StageAppend(LogKeySpace.Flat, Group(1), Range(1, 5, 1));
        request.StageAppend(LogKeySpace.Flat, Group(1), Range(1, 2, 1));
        batch.Add(request);

        Assert.Equal([5UL, 2UL], KeysOf(batch).Select(key => key.Index));
        batch.CompleteAll(null, NullLogger.Instance);
    }

    private nint LogFamily => _db.GetColumnFamily(RocksDbLogStoreOptions.DefaultLogColumnFamily).Handle;

    private nint MetaFamily => _db.GetColumnFamily(RocksDbLogStoreOptions.DefaultMetaColumnFamily).Handle;

    private NativeWriteBatch NewBatch() => new(LogFamily, MetaFamily, keysByGroup: true);

    private GroupLogState Group(ulong id) => (GroupLogState)_store.ForGroup(id);

    /// <summary>A request appending one entry to each (group, index), answered under <paramref name="name"/>.</summary>
    private WriteRequest Append(string name, params (ulong Group, ulong Index)[] entries)
    {
        var request = _requests.Get();
        foreach (var (group, index) in entries)
        {
            request.StageAppend(LogKeySpace.GroupPrefixed, Group(group), Range(1, index, 1));
        }

        request.Callback = new Answer(_answered, name);
        return request;
    }

    /// <summary>
    /// The (first 8 bytes, last 8 bytes) of every key in the native batch, in batch order, read
    /// from its representation: a 12-byte header, then per put a tag (5: a put to a column family
    /// other than the default), the column family id, key and value, each length a varint32.
    /// </summary>
    private static List<(ulong Group, ulong Index)> KeysOf(NativeWriteBatch batch)
    {
        byte[] rep = RocksDbSharp.Native.Instance.rocksdb_writebatch_data(batch.Handle);
        var keys = new List<(ulong, ulong)>();

        // RocksDB's varints are LEB128, the wire codec's own.
        var reader = new WireReader(rep.AsSpan(12));
        while (reader.Remaining > 0)
        {
            Assert.Equal(5, reader.ReadByte());
            reader.ReadVarUInt64();
            var key = reader.ReadBytes((int)reader.ReadVarUInt64());
            keys.Add((BinaryPrimitives.ReadUInt64BigEndian(key), BinaryPrimitives.ReadUInt64BigEndian(key[^8..])));
            reader.ReadBytes((int)reader.ReadVarUInt64());
        }

        return keys;
    }

    private sealed class Answer(List<string> answered, string name) : IFlushCallback
    {
        public void OnFlushed(Exception? error) => answered.Add(name);
    }
}
