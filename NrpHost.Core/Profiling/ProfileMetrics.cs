using System.Diagnostics.Metrics;
using NrpHost.Telemetry;

namespace NrpHost.Profiling;

/// <summary>Instruments of the step-latency profile.</summary>
internal static class ProfileMetrics
{
    /// <summary>1 µs to 1 s, in seconds.</summary>
    internal static readonly double[] Buckets = [1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 1];

    /// <summary>Phases of the steps of profiled simulations, tagged <c>phase</c> (and <c>engine</c> or <c>function</c>).</summary>
    public static readonly Histogram<double> StepDuration = NrpHostTelemetry.Meter.CreateHistogram(
        "nrphost.step.duration",
        unit: "s",
        description: "Duration of each phase of a profiled simulation's steps, tagged by phase",
        tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Buckets });

    /// <summary>
    /// Where a worker process keeps its measurements for the host, which records them (nothing exports metrics from a
    /// worker); null in the host.
    /// </summary>
    public static StepDurationRelay? Relay { get; set; }

    /// <summary>Whether measurements are wanted: someone listens, or a host will record them.</summary>
    public static bool Enabled => Relay is not null || StepDuration.Enabled;

    public static void Record(double seconds, KeyValuePair<string, object?>[] tags)
    {
        if (Relay is { } relay)
        {
            relay.Record(seconds, tags);
        }
        else
        {
            StepDuration.Record(seconds, tags);
        }
    }
}
