using RaftToolkit.Core.Storage;

namespace RaftToolkit.Native;

/// <summary>The database lacks a column family the store was configured to use.</summary>
public sealed class ColumnFamilyNotFoundException : RaftStorageException
{
    /// <summary>Creates the error naming the column family.</summary>
    public ColumnFamilyNotFoundException(string columnFamily, string? path)
        : base($"The RocksDB database{DatabaseLocation.Suffix(path)} has no column family '{columnFamily}'.")
    {
        ColumnFamily = columnFamily;
    }

    /// <summary>The missing column family's name.</summary>
    public string ColumnFamily { get; }
}
