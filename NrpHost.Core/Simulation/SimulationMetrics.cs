using System.Diagnostics.Metrics;
using NrpHost.Telemetry;

namespace NrpHost.Simulation;

/// <summary>Instruments of the simulation concept.</summary>
internal static class SimulationMetrics
{
    public static readonly Counter<long> StateChanges =
        NrpHostTelemetry.Meter.CreateCounter<long>("nrphost.simulation.state_changes", description: "Simulation state changes, by new state");

    public static readonly Counter<long> RuntimeErrors =
        NrpHostTelemetry.Meter.CreateCounter<long>("nrphost.simulation.runtime_errors", description: "Faults reported by simulation scripts, by error type");

    public static readonly Histogram<double> StopDuration =
        NrpHostTelemetry.Meter.CreateHistogram<double>("nrphost.simulation.stop.duration", unit: "ms", description: "Time from a stop request to the final state");
}
