using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace NrpHost.Tests.Infrastructure;

/// <summary>Keeps every log entry so tests can wait for the ones they expect.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyCollection<LogEntry> Entries => _entries;

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _entries);

    public async Task<LogEntry> WaitForAsync(Func<LogEntry, bool> predicate, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (DateTime.UtcNow < deadline)
        {
            var found = _entries.FirstOrDefault(predicate);
            if (found is not null)
            {
                return found;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException("No matching log entry. Seen:\n" + string.Join('\n', _entries.TakeLast(30)));
    }

    public void Dispose()
    {
    }

    public sealed record LogEntry(string Category, LogLevel Level, string Message)
    {
        public override string ToString() => $"[{Level}] {Category}: {Message}";
    }

    private sealed class Logger(string category, ConcurrentQueue<LogEntry> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue(new LogEntry(category, logLevel, formatter(state, exception)));
    }
}
