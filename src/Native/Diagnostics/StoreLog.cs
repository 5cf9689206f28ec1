using Microsoft.Extensions.Logging;
using RaftToolkit.Native.Keys;

namespace RaftToolkit.Native.Diagnostics;

/// <summary>
/// Everything the store logs (<see cref="RocksDbLogStoreOptions.LoggerFactory"/>), in one place.
/// The store's logger is a <see cref="RaftToolkit.Core.Diagnostics.NeverThrowingLogger"/>: these
/// run where callers wait for answers (the writing thread, the constructor, disposal), and a
/// broken log sink must not cost them one.
/// </summary>
internal static class StoreLog
{
    public static void Opened(ILogger logger, string store, LogKeySpace space, string logFamily, string metaFamily, LogSyncMode syncMode) =>
        logger.LogInformation(
            "Log store {Store} open: {KeySpace} key space, column families {LogFamily} and {MetaFamily}, {SyncMode}.",
            store, space, logFamily, metaFamily, syncMode);

    public static void Closed(ILogger logger, string store) =>
        logger.LogInformation("Log store {Store} closed.", store);

    public static void Stopped(ILogger logger, Exception error, string store, int requests, int operations, int queuedBatches) =>
        logger.LogCritical(
            error,
            "Log store {Store} stopped: a write of {Writes} requests ({Operations} operations) failed, and {Queued} queued batches fail with it; every later call fails. Dispose the store and open it again to recover.",
            store, requests, operations, queuedBatches);

    public static void CallbackThrew(ILogger logger, Exception error, string callbackType) =>
        logger.LogError(error, "A flush callback ({Callback}) threw; the write's outcome stands and goes to its awaiting caller as well.", callbackType);

    public static void MetricsListenerThrew(ILogger logger, Exception error) =>
        logger.LogError(error, "A listener of the store's metrics threw; the write's outcome stands.");

    public static void ContinuationThrew(ILogger logger, Exception error) =>
        logger.LogError(error, "A caller's continuation threw when its write completed; the store answered the other callers and goes on.");
}
