using System.Diagnostics.Metrics;
using NrpHost.Telemetry;

namespace NrpHost.Python;

/// <summary>Instruments of the Python concept.</summary>
internal static class PythonMetrics
{
    public static readonly Counter<long> DroppedLines =
        NrpHostTelemetry.Meter.CreateCounter<long>("nrphost.python.output.dropped", unit: "{line}", description: "Lines of Python output not forwarded to the log because of the rate limit, by category");
}
