using System.Text.Json.Serialization;
using NrpHost.Profiling;

namespace NrpHost.Api.Contracts;

/// <summary>
/// Body of <c>GET /simulation/{id}/profile</c>: the step-latency profile of a simulation created with
/// <c>"profile": true</c>. Times are in microseconds.
/// </summary>
/// <param name="SimulationId">The simulation.</param>
/// <param name="Steps">Steps measured: FTI cycles with the embedded runtime (lines of <c>step_duration.log</c>), otherwise <c>nrp.run_loop</c> calls.</param>
/// <param name="RunLoopCalls"><c>nrp.run_loop</c> calls measured.</param>
/// <param name="LostSteps">Steps overwritten before the host read them.</param>
/// <param name="TimeLogs">The folder of nrp-core-compatible time logs (in the simulation directory and its log archive).</param>
/// <param name="Unit">Always <c>us</c>.</param>
/// <param name="Phases">Per phase: <c>step</c>, <c>wait_for_engines</c>, <c>get_datapacks</c>, <c>run_functions</c>, <c>send_datapacks</c>, <c>restart_engines</c>, <c>run_loop</c>, <c>host</c>.</param>
/// <param name="Engines">Per engine: its step (<c>runLoop</c>).</param>
/// <param name="Functions">Per preprocessing, transceiver or status function.</param>
public sealed record ProfileResponse(
    [property: JsonPropertyName("simulationID")] int SimulationId,
    [property: JsonPropertyName("steps")] long Steps,
    [property: JsonPropertyName("runLoopCalls")] long RunLoopCalls,
    [property: JsonPropertyName("lostSteps")] long LostSteps,
    [property: JsonPropertyName("timeLogs")] string? TimeLogs,
    [property: JsonPropertyName("unit")] string Unit,
    [property: JsonPropertyName("phases")] IReadOnlyDictionary<string, PhaseStatistics> Phases,
    [property: JsonPropertyName("engines")] IReadOnlyDictionary<string, PhaseStatistics> Engines,
    [property: JsonPropertyName("functions")] IReadOnlyDictionary<string, PhaseStatistics> Functions)
{
    internal static ProfileResponse From(StepProfile profile) => new(
        profile.SimulationId,
        profile.Steps,
        profile.RunLoopCalls,
        profile.LostSteps,
        profile.TimeLogs,
        "us",
        Convert(profile.Phases),
        Convert(profile.Engines),
        Convert(profile.Functions));

    private static Dictionary<string, PhaseStatistics> Convert(IReadOnlyDictionary<string, StepStatistics> statistics) =>
        statistics.ToDictionary(s => s.Key, s => PhaseStatistics.From(s.Value), StringComparer.Ordinal);
}

/// <summary>How long one phase took, in microseconds.</summary>
/// <param name="Count">How many times it was measured.</param>
/// <param name="Mean">The mean.</param>
/// <param name="P50">The median (percentiles are within about 2%).</param>
/// <param name="P90">The 90th percentile.</param>
/// <param name="P99">The 99th percentile.</param>
/// <param name="Max">The largest.</param>
public sealed record PhaseStatistics(
    [property: JsonPropertyName("count")] long Count,
    [property: JsonPropertyName("mean")] double Mean,
    [property: JsonPropertyName("p50")] double P50,
    [property: JsonPropertyName("p90")] double P90,
    [property: JsonPropertyName("p99")] double P99,
    [property: JsonPropertyName("max")] double Max)
{
    internal static PhaseStatistics From(StepStatistics s) => new(s.Count, Round(s.Mean), Round(s.P50), Round(s.P90), Round(s.P99), Round(s.Max));

    private static double Round(double microseconds) => Math.Round(microseconds, 3);
}
