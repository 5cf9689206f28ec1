using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace RaftToolkit.Testing.Diagnostics;

/// <summary>
/// A logger factory that keeps every formatted log line, as <c>"Level: message"</c>, followed by
/// <c>" [ExceptionType: message]"</c> when an exception came with it, so a test can read what a
/// host, a store or a lifecycle helper said it did.
/// </summary>
public sealed class CapturingLoggerFactory : ILoggerFactory
{
    /// <summary>Every line logged so far, oldest first.</summary>
    public ConcurrentQueue<string> Lines { get; } = new();

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new Logger(this);

    /// <summary>Ignored: every logger of this factory captures.</summary>
    public void AddProvider(ILoggerProvider provider)
    {
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerFactory owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Lines.Enqueue(exception is null
                ? $"{logLevel}: {formatter(state, exception)}"
                : $"{logLevel}: {formatter(state, exception)} [{exception.GetType().Name}: {exception.Message}]");
    }
}
