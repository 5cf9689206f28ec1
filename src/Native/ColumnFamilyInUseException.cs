using RaftToolkit.Core.Storage;

namespace RaftToolkit.Native;

/// <summary>
/// Another open store of this process already uses the column family. Two stores over the same
/// column families would each check writes against their own view of the groups' logs, and
/// let through the appends, truncations and purges that interleave badly. Nothing was written.
/// </summary>
public sealed class ColumnFamilyInUseException : RaftStorageException
{
    /// <summary>Creates the error naming the column family.</summary>
    public ColumnFamilyInUseException(string columnFamily, string? path)
        : base($"The column family '{columnFamily}' of the RocksDB database{DatabaseLocation.Suffix(path)} is in use by another open log store; dispose that store first, or give this one other column families.")
    {
        ColumnFamily = columnFamily;
    }

    /// <summary>The column family's name.</summary>
    public string ColumnFamily { get; }
}
