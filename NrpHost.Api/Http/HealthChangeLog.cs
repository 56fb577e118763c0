using System.Collections.Concurrent;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace NrpHost.Api.Http;

/// <summary>
/// Logs a health check's status when it changes (one line: worse as a warning, better as information), so a probe
/// that polls <c>/health</c> while a part is down does not write a line, or a stack trace, per probe.
/// </summary>
internal sealed class HealthChangeLog(ILogger<HealthChangeLog> logger)
{
    private readonly ConcurrentDictionary<string, HealthStatus> _last = new(StringComparer.Ordinal);

    public void Record(HealthReport report)
    {
        foreach (var (name, entry) in report.Entries)
        {
            var previous = _last.TryGetValue(name, out var known) ? known : HealthStatus.Healthy;
            _last[name] = entry.Status;
            if (previous == entry.Status)
            {
                continue;
            }

            var description = entry.Description ?? entry.Exception?.Message;
            var status = entry.Status.ToString().ToLowerInvariant();
            if (entry.Status < previous)
            {
                ApiLog.HealthWorse(logger, name, status, description);
            }
            else
            {
                ApiLog.HealthBetter(logger, name, status, description);
            }
        }
    }
}
