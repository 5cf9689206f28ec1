namespace RaftToolkit.Core.Storage;

/// <summary>
/// Told when a write became durable, or that it never will. One object may serve many writes
/// (the host passes one per round), so completing a write allocates nothing.
/// </summary>
public interface IFlushCallback
{
    /// <summary>
    /// Called once per write: <paramref name="error"/> is null when the write is durable,
    /// otherwise the error that failed it (the store is then stopped; the RocksDB store passes a
    /// <see cref="StoreFailedException"/> carrying the I/O error).
    /// Called on a store thread: keep it short and never block in it.
    /// </summary>
    void OnFlushed(Exception? error);
}
