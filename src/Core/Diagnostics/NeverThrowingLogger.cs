using Microsoft.Extensions.Logging;

namespace RaftToolkit.Core.Diagnostics;

/// <summary>
/// A logger that never throws into its caller: what the inner logger throws (a log sink that is
/// full, a provider that fails) is dropped. The host and the store log where others wait for
/// answers (a worker's round, a store's writing thread, a failing group being stopped, a timer
/// callback); a broken log sink must cost none of them their answer, nor the process.
/// </summary>
public sealed class NeverThrowingLogger(ILogger inner) : ILogger
{
    /// <inheritdoc />
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        try
        {
            inner.Log(logLevel, eventId, state, exception, formatter);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Dropped on purpose; see the class remarks.
        }
    }

    /// <inheritdoc />
    public bool IsEnabled(LogLevel logLevel)
    {
        try
        {
            return inner.IsEnabled(logLevel);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull
    {
        try
        {
            return inner.BeginScope(state);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null;
        }
    }
}
