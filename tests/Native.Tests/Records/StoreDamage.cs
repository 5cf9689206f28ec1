using RaftToolkit.Native.Keys;
using RocksDbSharp;

namespace RaftToolkit.Native.Tests.Records;

/// <summary>
/// Damages a store behind its back, through raw RocksDB calls on its database, the way a disk
/// fault or a bug would: the store's own writes never do any of this.
/// </summary>
internal static class StoreDamage
{
    public static byte[] LogKey(LogKeySpace space, ulong group, ulong index)
    {
        var key = new byte[LogKeys.MaxKeyLength];
        return key[..LogKeys.WriteLogKey(key, space, group, index)];
    }

    public static byte[] MetaKey(LogKeySpace space, ulong group, MetaLabel label)
    {
        var key = new byte[LogKeys.MaxKeyLength];
        return key[..LogKeys.WriteMetaKey(key, space, group, label)];
    }

    /// <summary>Rewrites the stored record of <paramref name="group"/> at <paramref name="index"/>.</summary>
    public static void Tamper(RocksDbLogStore store, LogKeySpace space, ulong group, ulong index, Action<byte[]> change)
    {
        var family = LogFamily(store);
        var key = LogKey(space, group, index);
        var record = store.Database.Get(key, family) ?? throw new InvalidOperationException("record missing");
        change(record);
        store.Database.Put(key, record, family);
    }

    /// <summary>Flips a bit of the group's stored <paramref name="label"/> record.</summary>
    public static void TamperMeta(RocksDbLogStore store, LogKeySpace space, ulong group, MetaLabel label)
    {
        var family = MetaFamily(store);
        var key = MetaKey(space, group, label);
        var record = store.Database.Get(key, family) ?? throw new InvalidOperationException("record missing");
        record[1] ^= 0x01;
        store.Database.Put(key, record, family);
    }

    /// <summary>Deletes the log key of <paramref name="group"/> at <paramref name="index"/>.</summary>
    public static void DeleteLogKey(RocksDbLogStore store, LogKeySpace space, ulong group, ulong index) =>
        store.Database.Remove(LogKey(space, group, index), LogFamily(store));

    /// <summary>Puts <paramref name="key"/> into the log column family.</summary>
    public static void PutLogKey(RocksDbLogStore store, byte[] key, byte[] value) => store.Database.Put(key, value, LogFamily(store));

    /// <summary>Puts <paramref name="key"/> into the meta column family.</summary>
    public static void PutMetaKey(RocksDbLogStore store, byte[] key, byte[] value) => store.Database.Put(key, value, MetaFamily(store));

    /// <summary>Writes the log family's memtable to a table file.</summary>
    public static void FlushLog(RocksDbLogStore store) => Flush(store, LogFamily(store));

    /// <summary>Writes the meta family's memtable to a table file.</summary>
    public static void FlushMeta(RocksDbLogStore store) => Flush(store, MetaFamily(store));

    private static void Flush(RocksDbLogStore store, ColumnFamilyHandle family)
    {
        var flush = new FlushOptions().SetWaitForFlush(true);
        RocksDbSharp.Native.Instance.rocksdb_flush_cf(store.Database.Handle, flush.Handle, family.Handle, out nint error);
        GC.KeepAlive(flush);
        Assert.Equal(0, error);
    }

    /// <summary>
    /// Flips one bit of the only table file holding <paramref name="content"/> (stored
    /// uncompressed), where it first holds it, or at the offset <paramref name="choose"/> picks
    /// of all the places it holds it.
    /// </summary>
    public static async Task FlipByteOf(string path, byte[] content, Func<IReadOnlyList<int>, int>? choose = null)
    {
        var holding = new List<(string File, byte[] Bytes, List<int> Offsets)>();
        foreach (var table in Directory.GetFiles(path, "*.sst"))
        {
            var bytes = await File.ReadAllBytesAsync(table);
            var offsets = new List<int>();
            for (int at = bytes.AsSpan().IndexOf(content); at >= 0; at = NextAfter(bytes, content, at))
            {
                offsets.Add(at);
            }

            if (offsets.Count > 0)
            {
                holding.Add((table, bytes, offsets));
            }
        }

        var (file, tableBytes, found) = Assert.Single(holding);
        int offset = choose?.Invoke(found) ?? found[0];
        tableBytes[offset + (content.Length / 2)] ^= 0x40;
        await File.WriteAllBytesAsync(file, tableBytes);
    }

    private static int NextAfter(byte[] bytes, byte[] content, int at)
    {
        int next = bytes.AsSpan(at + 1).IndexOf(content);
        return next < 0 ? -1 : at + 1 + next;
    }

    private static ColumnFamilyHandle LogFamily(RocksDbLogStore store) => store.Database.GetColumnFamily(RocksDbLogStoreOptions.DefaultLogColumnFamily);

    private static ColumnFamilyHandle MetaFamily(RocksDbLogStore store) => store.Database.GetColumnFamily(RocksDbLogStoreOptions.DefaultMetaColumnFamily);
}
