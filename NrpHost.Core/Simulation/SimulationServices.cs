using Microsoft.Extensions.Logging;
using NrpHost.NrpCore;
using NrpHost.Python;
using NrpHost.Storage;

namespace NrpHost.Simulation;

/// <summary>What a <see cref="Simulation"/> and its parts need from their manager.</summary>
internal sealed class SimulationServices
{
    public required IExperimentStorage Storage { get; init; }

    public required IPythonRuntime Python { get; init; }

    /// <summary>The folder of the Python packages shipped with NrpHost.Core.</summary>
    public required string PythonPackages { get; init; }

    public required SimulationOptions Options { get; init; }

    public required NrpCoreOptions NrpCore { get; init; }

    public required TimeProvider Time { get; init; }

    public required ILogger Logger { get; init; }

    /// <summary>Where simulation directories are made (absolute).</summary>
    public required string WorkDirectory { get; init; }

    /// <summary>The nrp-core client factory and the folders it comes from (absolute), resolved once at start-up.</summary>
    public required (string Factory, IReadOnlyList<string> PythonPath) Client { get; init; }

    public required ISimulationEventSink Events { get; init; }

    /// <summary>Where log archives are written before they are handed to storage (absolute). Default: <c>archives</c> in the work directory.</summary>
    public required string ArchiveStagingDirectory { get; init; }

    /// <summary>Where a log archive that could not be uploaded is kept. Default: <c>unsent-logs</c> in the work directory.</summary>
    public required string UnsentLogsDirectory { get; init; }

    /// <summary>This host's id (<see cref="Hosting.HostIdentityOptions.HostId"/>), part of every log archive name.</summary>
    public required string HostId { get; init; }

    public LogArchiveLimits ArchiveLimits => new(Options.MaxLogFileBytes, Options.MaxArchiveBytes);

    /// <summary>Test seam: called at the start of each phase; whatever it throws is that phase's fault.</summary>
    public Action<SimulationPhase>? FaultHook { get; init; }
}

/// <summary>Where a simulation reports what happens to it (the manager raises the public events).</summary>
internal interface ISimulationEventSink
{
    void StateChanged(SimulationSnapshot simulation, SimulationState previous);

    void RuntimeError(SimulationError error);

    void Progress(int simulationId, string task, bool done);

    void ScriptAbandoned(int simulationId);

    /// <summary>The logs of a simulation could not be archived (a full disk); its directory stays for the next start.</summary>
    void LogsKept(int simulationId, string directory, string reason);
}

/// <summary>Test seam: registered by a test to make a phase throw.</summary>
internal sealed class SimulationFaultInjection(Action<SimulationPhase> hook)
{
    public Action<SimulationPhase> Hook { get; } = hook;
}
