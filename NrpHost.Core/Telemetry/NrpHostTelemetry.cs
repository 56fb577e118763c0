using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace NrpHost.Telemetry;

/// <summary>The names under which NrpHost publishes metrics and traces.</summary>
public static class NrpHostTelemetry
{
    /// <summary>The <see cref="Meter"/> name (for <c>AddMeter</c>).</summary>
    public const string MeterName = "NrpHost";

    /// <summary>The <see cref="ActivitySource"/> name (for <c>AddSource</c>).</summary>
    public const string ActivitySourceName = "NrpHost";

    internal static readonly Meter Meter = new(MeterName);

    internal static readonly ActivitySource ActivitySource = new(ActivitySourceName);
}
