namespace NrpHost.Simulation;

/// <summary>How a create request ended.</summary>
public enum CreateSimulationStatus
{
    /// <summary>Staged and initialised: the simulation is paused and ready to start.</summary>
    Ready,

    /// <summary>Refused: another simulation is not final yet (the limit is <see cref="SimulationOptions.MaxActiveSimulations"/>).</summary>
    Conflict,

    /// <summary>The request itself is invalid (for example a file name outside the experiment); nothing was created.</summary>
    Invalid,

    /// <summary>Staging or initialisation failed; the simulation exists and is failed.</summary>
    Failed,

    /// <summary>A stop request ended the simulation while it was being created.</summary>
    Stopped,

    /// <summary>
    /// Python cannot run simulations on this host now (not found, or left in a state a simulation could not undo); nothing
    /// was created. The message says why.
    /// </summary>
    Unavailable,
}

/// <summary>The outcome of <see cref="ISimulationManager.CreateAsync"/>.</summary>
public sealed record CreateSimulationResult
{
    /// <summary>How the request ended.</summary>
    public required CreateSimulationStatus Status { get; init; }

    /// <summary>The simulation, when one was created (also when it failed).</summary>
    public SimulationSnapshot? Simulation { get; init; }

    /// <summary>Why it did not succeed, when it did not.</summary>
    public string? Message { get; init; }

    /// <summary>What kind of failure it was, when it failed.</summary>
    public SimulationFault Fault { get; init; }

    /// <summary>
    /// What the simulation will do that its author may not expect (for example a configuration without
    /// <c>SimulationTimeout</c>, which ends the run at its first step); empty when there is nothing to say.
    /// </summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Whether the simulation was created and is paused, ready to start (<see cref="CreateSimulationStatus.Ready"/>).</summary>
    public bool IsReady => Status == CreateSimulationStatus.Ready;
}

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

    /// <summary>
    /// The experiment has no configuration file of the requested name (<c>simulation_config.json</c> by default); the
    /// message names it.
    /// </summary>
    ConfigurationNotFound,

    /// <summary>A file that storage listed for the experiment could not be fetched; the message names it.</summary>
    ExperimentFileMissing,

    /// <summary>
    /// The experiment's configuration cannot be run here: nrp-core refused it (an engine type or simulation loop the
    /// runtime does not have, an invalid setting). The user's to fix, not a fault of the host; the message names the
    /// configuration file and line.
    /// </summary>
    ConfigurationRefused,
}
