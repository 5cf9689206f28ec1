using System.Reflection;
using System.Runtime.InteropServices;

namespace RaftToolkit.Native.Interop;

/// <summary>
/// Direct bindings to the hot functions of the RocksDB C API, over the very <c>librocksdb</c>
/// the RocksDbSharp binding loaded, so handles from the binding (database, column family) are
/// valid here.
/// </summary>
/// <remarks>
/// The binding calls every native function through a delegate field; a <c>LibraryImport</c> stub
/// is a direct call (the benchmark <c>StoreNativeInteropBenchmarks</c> measures the difference).
/// Only the calls made per entry or per write live here; options, open and column families stay
/// on the binding, except the option-string parser (see <see cref="InitializeOptions"/>) and
/// the read and write options the store frees when it is disposed (the binding's leave that to
/// finalizers).
/// SAFETY: every pointer argument must point to memory that stays valid (pinned, stack or
/// native) for the duration of the call; RocksDB copies keys and values into the write batch.
/// The only exception is an iterator upper bound (see <see cref="ReadOptionsSetIterateUpperBound"/>).
/// </remarks>
internal static unsafe partial class RocksDbNative
{
    private const string Library = "raftkit-rocksdb";

    static RocksDbNative()
    {
        NativeLibrary.SetDllImportResolver(typeof(RocksDbNative).Assembly, ResolveLibrary);
    }

    /// <summary>The path of the native library both the binding and this class call into.</summary>
    internal static string LibraryPath { get; } = FindLoadedLibrary();

    private static string FindLoadedLibrary()
    {
        // Loading the binding's native instance makes it resolve the library for this platform
        // (plain, jemalloc or musl build); binding to the same file guarantees one RocksDB copy
        // in the process, so handles created by the binding are understood here.
        _ = RocksDbSharp.Native.Instance;
        string? path = NativeImport.Auto.LoadedPath;
        if (string.IsNullOrEmpty(path))
        {
            throw new DllNotFoundException("The RocksDB binding did not report which librocksdb it loaded.");
        }

        return path;
    }

    private static IntPtr ResolveLibrary(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName == Library ? NativeLibrary.Load(LibraryPath) : IntPtr.Zero;

    [LibraryImport(Library, EntryPoint = "rocksdb_writebatch_create")]
    internal static partial nint WriteBatchCreate();

    [LibraryImport(Library, EntryPoint = "rocksdb_writebatch_destroy")]
    internal static partial void WriteBatchDestroy(nint batch);

    [LibraryImport(Library, EntryPoint = "rocksdb_writebatch_clear")]
    internal static partial void WriteBatchClear(nint batch);

    [LibraryImport(Library, EntryPoint = "rocksdb_writebatch_count")]
    internal static partial int WriteBatchCount(nint batch);

    [LibraryImport(Library, EntryPoint = "rocksdb_writebatch_put_cf")]
    internal static partial void WriteBatchPut(nint batch, nint columnFamily, byte* key, nuint keyLength, byte* value, nuint valueLength);

    /// <summary>Puts one key whose value is the concatenation of <paramref name="valueCount"/> slices (copied before it returns).</summary>
    [LibraryImport(Library, EntryPoint = "rocksdb_writebatch_putv_cf")]
    internal static partial void WriteBatchPutParts(nint batch, nint columnFamily, int keyCount, byte** keys, nuint* keyLengths, int valueCount, byte** values, nuint* valueLengths);

    /// <summary>The batch's serialized contents: where they start, and (in <paramref name="size"/>) how many bytes they take.</summary>
    [LibraryImport(Library, EntryPoint = "rocksdb_writebatch_data")]
    internal static partial byte* WriteBatchData(nint batch, out nuint size);

    [LibraryImport(Library, EntryPoint = "rocksdb_writebatch_delete_cf")]
    internal static partial void WriteBatchDelete(nint batch, nint columnFamily, byte* key, nuint keyLength);

    [LibraryImport(Library, EntryPoint = "rocksdb_writebatch_delete_range_cf")]
    internal static partial void WriteBatchDeleteRange(nint batch, nint columnFamily, byte* startKey, nuint startLength, byte* endKey, nuint endLength);

    [LibraryImport(Library, EntryPoint = "rocksdb_write")]
    internal static partial void Write(nint db, nint writeOptions, nint batch, out nint error);

    [LibraryImport(Library, EntryPoint = "rocksdb_writeoptions_create")]
    internal static partial nint WriteOptionsCreate();

    [LibraryImport(Library, EntryPoint = "rocksdb_writeoptions_destroy")]
    internal static partial void WriteOptionsDestroy(nint options);

    [LibraryImport(Library, EntryPoint = "rocksdb_writeoptions_set_sync")]
    internal static partial void WriteOptionsSetSync(nint options, byte value);

    [LibraryImport(Library, EntryPoint = "rocksdb_get_options_from_string", StringMarshalling = StringMarshalling.Utf8)]
    private static partial void GetOptionsFromString(nint baseOptions, string text, nint newOptions, out nint error);

    [LibraryImport(Library, EntryPoint = "rocksdb_options_create")]
    private static partial nint OptionsCreate();

    [LibraryImport(Library, EntryPoint = "rocksdb_options_destroy")]
    private static partial void OptionsDestroy(nint options);

    /// <summary>
    /// Sets <paramref name="freshOptions"/>, options nothing has been set on yet, to RocksDB's
    /// defaults plus the options named in <paramref name="text"/> (RocksDB's <c>name=value;...</c>
    /// syntax): for options the binding has no setter for. Not a hot call: it lives here because
    /// the binding exposes the parser only with the text as a raw pointer and the error left for
    /// the caller to free.
    /// </summary>
    /// <exception cref="RocksDbNativeException">RocksDB refused the string.</exception>
    internal static void InitializeOptions(nint freshOptions, string text)
    {
        // The parser writes its base plus the text into the target. A separate default base
        // keeps one object from being read and written by the same call.
        nint defaults = OptionsCreate();
        try
        {
            GetOptionsFromString(defaults, text, freshOptions, out nint error);
            if (TakeError(error) is { } failure)
            {
                throw failure;
            }
        }
        finally
        {
            OptionsDestroy(defaults);
        }
    }

    [LibraryImport(Library, EntryPoint = "rocksdb_readoptions_create")]
    internal static partial nint ReadOptionsCreate();

    [LibraryImport(Library, EntryPoint = "rocksdb_readoptions_destroy")]
    internal static partial void ReadOptionsDestroy(nint options);

    /// <summary>
    /// Sets the exclusive upper bound of iterators created with <paramref name="options"/>.
    /// SAFETY: RocksDB keeps the pointer, not a copy: the key must stay valid until every
    /// iterator created with these options is destroyed.
    /// </summary>
    [LibraryImport(Library, EntryPoint = "rocksdb_readoptions_set_iterate_upper_bound")]
    internal static partial void ReadOptionsSetIterateUpperBound(nint options, byte* key, nuint keyLength);

    [LibraryImport(Library, EntryPoint = "rocksdb_readoptions_set_total_order_seek")]
    internal static partial void ReadOptionsSetTotalOrderSeek(nint options, byte value);

    [LibraryImport(Library, EntryPoint = "rocksdb_create_iterator_cf")]
    internal static partial nint CreateIterator(nint db, nint readOptions, nint columnFamily);

    [LibraryImport(Library, EntryPoint = "rocksdb_iter_destroy")]
    internal static partial void IteratorDestroy(nint iterator);

    [LibraryImport(Library, EntryPoint = "rocksdb_iter_seek")]
    internal static partial void IteratorSeek(nint iterator, byte* key, nuint keyLength);

    [LibraryImport(Library, EntryPoint = "rocksdb_iter_seek_for_prev")]
    internal static partial void IteratorSeekForPrev(nint iterator, byte* key, nuint keyLength);

    [LibraryImport(Library, EntryPoint = "rocksdb_iter_valid")]
    internal static partial byte IteratorValid(nint iterator);

    [LibraryImport(Library, EntryPoint = "rocksdb_iter_next")]
    internal static partial void IteratorNext(nint iterator);

    [LibraryImport(Library, EntryPoint = "rocksdb_iter_key")]
    internal static partial byte* IteratorKey(nint iterator, out nuint keyLength);

    [LibraryImport(Library, EntryPoint = "rocksdb_iter_value")]
    internal static partial byte* IteratorValue(nint iterator, out nuint valueLength);

    [LibraryImport(Library, EntryPoint = "rocksdb_iter_get_error")]
    internal static partial void IteratorGetError(nint iterator, out nint error);

    [LibraryImport(Library, EntryPoint = "rocksdb_get_pinned_cf")]
    internal static partial nint GetPinned(nint db, nint readOptions, nint columnFamily, byte* key, nuint keyLength, out nint error);

    [LibraryImport(Library, EntryPoint = "rocksdb_pinnableslice_value")]
    internal static partial byte* PinnableSliceValue(nint slice, out nuint valueLength);

    [LibraryImport(Library, EntryPoint = "rocksdb_pinnableslice_destroy")]
    internal static partial void PinnableSliceDestroy(nint slice);

    [LibraryImport(Library, EntryPoint = "rocksdb_free")]
    internal static partial void Free(nint pointer);

    /// <summary>
    /// Turns a RocksDB error string (allocated by RocksDB) into an exception and frees it;
    /// returns null when there is no error.
    /// </summary>
    internal static RocksDbNativeException? TakeError(nint error)
    {
        if (error == 0)
        {
            return null;
        }

        string message = Marshal.PtrToStringUTF8(error) ?? "unknown RocksDB error";
        Free(error);
        return new RocksDbNativeException(message);
    }
}
