namespace RaftToolkit.Core.Model;

/// <summary>
/// The ends of a log: the last purged id and the last id. <see cref="LastLogId"/> falls back to
/// <see cref="LastPurgedLogId"/> when no entry is left.
/// </summary>
/// <param name="LastPurgedLogId">The greatest log id deleted by a purge, if any.</param>
/// <param name="LastLogId">The last entry's id, or the last purged id when the log is empty.</param>
public readonly record struct LogState(LogId? LastPurgedLogId, LogId? LastLogId);
