namespace RaftToolkit.Native.Interop;

/// <summary>An error RocksDB reported through its C API (an I/O error, corruption, a busy lock...).</summary>
public sealed class RocksDbNativeException : IOException
{
    /// <summary>Creates the error with RocksDB's message.</summary>
    public RocksDbNativeException(string message) : base(message) { }
}
