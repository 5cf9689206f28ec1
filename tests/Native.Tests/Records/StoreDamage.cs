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
    public static void FlushLog(RocksDbLogStore store)
    {
        var database = store.Database;
        var flush = new FlushOptions().SetWaitForFlush(true);
        RocksDbSharp.Native.Instance.rocksdb_flush_cf(database.Handle, flush.Handle, LogFamily(store).Handle, out nint error);
        GC.KeepAlive(flush);
        Assert.Equal(0, error);
    }

    /// <summary>Flips one bit of the only table file holding <paramref name="content"/> (stored uncompressed), where it holds it.</summary>
    public static async Task FlipByteOf(string path, byte[] content)
    {
        var holding = new List<(string File, int Offset)>();
        foreach (var table in Directory.GetFiles(path, "*.sst"))
        {
            int offset = (await File.ReadAllBytesAsync(table)).AsSpan().IndexOf(content);
            if (offset >= 0)
            {
                holding.Add((table, offset));
            }
        }

        var (file, at) = Assert.Single(holding);
        var bytes = await File.ReadAllBytesAsync(file);
        bytes[at + (content.Length / 2)] ^= 0x40;
        await File.WriteAllBytesAsync(file, bytes);
    }

    private static ColumnFamilyHandle LogFamily(RocksDbLogStore store) => store.Database.GetColumnFamily(RocksDbLogStoreOptions.DefaultLogColumnFamily);

    private static ColumnFamilyHandle MetaFamily(RocksDbLogStore store) => store.Database.GetColumnFamily(RocksDbLogStoreOptions.DefaultMetaColumnFamily);
}
