using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using NrpHost.Telemetry;

namespace NrpHost.Simulation;

/// <summary>Instruments of the simulation concept.</summary>
internal static class SimulationMetrics
{
    public static readonly Counter<long> StateChanges =
        NrpHostTelemetry.Meter.CreateCounter<long>("nrphost.simulation.state_changes", unit: "{change}", description: "Simulation state changes, by new state");

    public static readonly Counter<long> RuntimeErrors =
        NrpHostTelemetry.Meter.CreateCounter<long>("nrphost.simulation.runtime_errors", unit: "{error}", description: "Faults reported by simulation scripts, by error type");

    public static readonly Histogram<double> StopDuration =
        NrpHostTelemetry.Meter.CreateHistogram<double>("nrphost.simulation.stop.duration", unit: "s", description: "Time from a stop request to the final state");

    private static readonly ConcurrentDictionary<SimulationManager, byte> Managers = new();

    /// <summary>Iterations done by every simulation of this process (read when metrics are collected).</summary>
    public static readonly ObservableCounter<long> Steps = NrpHostTelemetry.Meter.CreateObservableCounter(
        "nrphost.simulation.steps",
        () => Managers.Keys.Sum(m => m.List().Sum(s => s.Clock.Iterations)),
        unit: "{step}",
        description: "nrp.run_loop iterations done by the simulations of this process");

    /// <summary>Simulations that are not final (created, paused, started, completed).</summary>
    public static readonly ObservableGauge<int> Active = NrpHostTelemetry.Meter.CreateObservableGauge(
        "nrphost.simulation.active",
        () => Managers.Keys.Sum(m => m.List().Count(s => !s.State.IsFinal())),
        unit: "{simulation}",
        description: "Simulations that are not stopped or failed");

    public static void Track(SimulationManager manager) => Managers.TryAdd(manager, 0);

    public static void Untrack(SimulationManager manager) => Managers.TryRemove(manager, out _);
}
