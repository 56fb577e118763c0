using Microsoft.Extensions.Logging;
using NrpHost.NrpCore;
using NrpHost.Python;
using NrpHost.Storage;

namespace NrpHost.Simulation;

/// <summary>What a <see cref="Simulation"/> needs from its manager.</summary>
internal sealed record SimulationServices(
    IExperimentStorage Storage,
    PythonRuntime Python,
    SimulationOptions Options,
    NrpCoreOptions NrpCore,
    TimeProvider Time,
    ILogger Logger,
    string WorkDirectory,
    string HostDirectory,
    ISimulationEventSink Events)
{
    /// <summary>Where a log archive that could not be uploaded is kept. Default: <c>unsent-logs</c> in the work directory.</summary>
    public string UnsentLogsDirectory { get; init; } = Path.Combine(WorkDirectory, "unsent-logs");
}

/// <summary>Where a simulation reports what happens to it (the manager raises the public events).</summary>
internal interface ISimulationEventSink
{
    void StateChanged(SimulationSnapshot simulation, SimulationState previous);

    void RuntimeError(SimulationError error);

    void Progress(int simulationId, string task, bool done);

    void ScriptAbandoned(int simulationId);
}
