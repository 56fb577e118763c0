using System.Diagnostics.Metrics;
using NrpHost.Telemetry;

namespace NrpHost.Profiling;

/// <summary>Instruments of the step-latency profile.</summary>
internal static class ProfileMetrics
{
    private static readonly double[] Buckets = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 1_000_000];

    /// <summary>Phases of the steps of profiled simulations, tagged <c>phase</c> (and <c>engine</c> or <c>function</c>).</summary>
    public static readonly Histogram<double> StepDuration = NrpHostTelemetry.Meter.CreateHistogram(
        "nrphost.step.duration",
        unit: "us",
        description: "Duration of each phase of a profiled simulation's steps, tagged by phase",
        tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Buckets });
}
