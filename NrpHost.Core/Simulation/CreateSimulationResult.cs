namespace NrpHost.Simulation;

/// <summary>How a create request ended.</summary>
public enum CreateSimulationStatus
{
    /// <summary>Staged and initialised; the simulation is paused and ready to start.</summary>
    Created,

    /// <summary>Refused: another simulation is not final yet (the limit is <see cref="SimulationOptions.MaxActiveSimulations"/>).</summary>
    Conflict,

    /// <summary>The request itself is invalid (for example a file name outside the experiment); nothing was created.</summary>
    Invalid,

    /// <summary>Staging or initialisation failed; the simulation exists and is failed.</summary>
    Failed,
}

/// <summary>The outcome of <see cref="ISimulationManager.CreateAsync"/>.</summary>
/// <param name="Status">How the request ended.</param>
/// <param name="Simulation">The simulation, when one was created (also when it failed).</param>
/// <param name="Message">Why it did not succeed, when it did not.</param>
/// <param name="Fault">What kind of failure it was, when it failed.</param>
public sealed record CreateSimulationResult(
    CreateSimulationStatus Status,
    SimulationSnapshot? Simulation,
    string? Message = null,
    SimulationFault Fault = SimulationFault.None);

/// <summary>What kind of failure ended a simulation's creation, so a caller can choose an answer.</summary>
public enum SimulationFault
{
    /// <summary>No failure.</summary>
    None,

    /// <summary>The experiment does not exist in storage.</summary>
    ExperimentNotFound,

    /// <summary>Storage refused the caller's credentials.</summary>
    Unauthorized,

    /// <summary>Storage refused access to the experiment.</summary>
    Forbidden,

    /// <summary>Storage could not be reached or answered with an error.</summary>
    StorageUnavailable,

    /// <summary>The experiment was staged but could not be initialised (script, configuration or client).</summary>
    Initialization,

    /// <summary>Python is not available on this host.</summary>
    PythonUnavailable,
}
