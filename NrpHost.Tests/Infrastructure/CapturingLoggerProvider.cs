using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace NrpHost.Tests.Infrastructure;

/// <summary>Keeps every log entry so tests can wait for the ones they expect (woken by each new entry, no polling).</summary>
public sealed partial class CapturingLoggerProvider : ILoggerProvider
{
    private readonly Lock _lock = new();
    private readonly List<LogEntry> _entries = [];
    private TaskCompletionSource _added = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<LogEntry> Entries
    {
        get
        {
            lock (_lock)
            {
                return [.. _entries];
            }
        }
    }

    /// <summary>The number of entries so far: pass it as <c>since</c> to look only at what comes after.</summary>
    public int Mark
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, this);

    /// <summary>Entries from <paramref name="since"/> on.</summary>
    public IReadOnlyList<LogEntry> Since(int since)
    {
        lock (_lock)
        {
            return _entries.Skip(since).ToList();
        }
    }

    public async Task<LogEntry> WaitForAsync(Func<LogEntry, bool> predicate, TimeSpan? timeout = null, int since = 0)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        var seen = since;
        while (true)
        {
            Task added;
            List<LogEntry> fresh;
            lock (_lock)
            {
                added = _added.Task;
                fresh = _entries.Skip(seen).ToList();
                seen = _entries.Count;
            }

            if (fresh.FirstOrDefault(predicate) is { } found)
            {
                return found;
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !await Completes(added, left))
            {
                throw new TimeoutException("No matching log entry. Seen:\n" + string.Join('\n', Since(since).TakeLast(30)));
            }
        }
    }

    private static async Task<bool> Completes(Task task, TimeSpan timeout)
    {
        try
        {
            await task.WaitAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private void Add(LogEntry entry)
    {
        TaskCompletionSource added;
        lock (_lock)
        {
            _entries.Add(entry);
            added = _added;
            _added = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        added.TrySetResult();
    }

    public void Dispose()
    {
    }

    public sealed partial record LogEntry(string Category, LogLevel Level, string Message)
    {
        /// <summary>Whether the entry is about simulation <paramref name="id"/>: its Python output, or a host line naming it.</summary>
        public bool Concerns(int id) =>
            Category == $"NrpHost.Simulation.{id}" || SimulationPrefix().Match(Message) is { Success: true } m && m.Groups[1].Value == id.ToString(System.Globalization.CultureInfo.InvariantCulture);

        public override string ToString() => $"[{Level}] {Category}: {Message}";

        [GeneratedRegex(@"^Simulation (\d+)\b")]
        private static partial Regex SimulationPrefix();
    }

    private sealed class Logger(string category, CapturingLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Add(new LogEntry(category, logLevel, formatter(state, exception)));
    }
}
