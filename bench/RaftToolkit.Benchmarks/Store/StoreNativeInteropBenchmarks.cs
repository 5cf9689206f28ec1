using BenchmarkDotNet.Attributes;
using RaftToolkit.Native;
using RaftToolkit.Native.Interop;
using RocksDbSharp;

namespace RaftToolkit.Benchmarks.Store;

/// <summary>
/// The cost of one WriteBatch put (16-byte key, 128-byte value) through the RocksDbSharp binding
/// (a delegate call per operation) and through the store's own LibraryImport interop. Per put.
/// </summary>
/// <remarks>SAFETY: the key and value arrays are pinned by <c>fixed</c> for every put; both batches copy them.</remarks>
[Config(typeof(BenchConfig))]
[BenchmarkCategory("gate")]
public unsafe class StoreNativeInteropBenchmarks
{
    private const int Puts = 1024;

    private StoreBenchEnvironment _env = null!;
    private RocksDb _db = null!;
    private ColumnFamilyHandle _family = null!;
    private WriteBatch _bindingBatch = null!;
    private nint _ownBatch;
    private readonly byte[] _key = new byte[16];
    private readonly byte[] _value = new byte[128];

    [GlobalSetup]
    public void Setup()
    {
        _env = new StoreBenchEnvironment();
        _db = RocksDbLogStore.OpenDatabase(_env.Path("db"), new RocksDbLogStoreOptions());
        _family = _db.GetColumnFamily(RocksDbLogStoreOptions.DefaultLogColumnFamily);
        _bindingBatch = new WriteBatch();
        _ownBatch = RocksDbNative.WriteBatchCreate();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _bindingBatch.Dispose();
        RocksDbNative.WriteBatchDestroy(_ownBatch);
        _db.Dispose();
        _env.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Puts)]
    public void BindingWriteBatchPut()
    {
        _bindingBatch.Clear();
        fixed (byte* key = _key)
        fixed (byte* value = _value)
        {
            for (int i = 0; i < Puts; i++)
            {
                key[15] = (byte)i;
                _bindingBatch.Put(key, (ulong)_key.Length, value, (ulong)_value.Length, _family);
            }
        }
    }

    [Benchmark(OperationsPerInvoke = Puts)]
    public void OwnInteropWriteBatchPut()
    {
        RocksDbNative.WriteBatchClear(_ownBatch);
        nint family = _family.Handle;
        fixed (byte* key = _key)
        fixed (byte* value = _value)
        {
            for (int i = 0; i < Puts; i++)
            {
                key[15] = (byte)i;
                RocksDbNative.WriteBatchPut(_ownBatch, family, key, (nuint)_key.Length, value, (nuint)_value.Length);
            }
        }
    }
}
