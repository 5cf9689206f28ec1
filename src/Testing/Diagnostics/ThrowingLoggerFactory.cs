using Microsoft.Extensions.Logging;

namespace RaftToolkit.Testing.Diagnostics;

/// <summary>
/// A logger factory whose loggers throw on every line, as a broken log sink (a full disk, a
/// failing provider) does: for tests that a component goes on, and answers its callers, when
/// its logging fails.
/// </summary>
public sealed class ThrowingLoggerFactory : ILoggerFactory
{
    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new Logger();

    /// <summary>Ignored: every logger of this factory throws.</summary>
    public void AddProvider(ILoggerProvider provider)
    {
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private sealed class Logger : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            throw new IOException("the log sink is broken");
    }
}
