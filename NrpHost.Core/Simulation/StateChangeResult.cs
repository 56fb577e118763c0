namespace NrpHost.Simulation;

/// <summary>How a state request ended.</summary>
public enum StateChangeStatus
{
    /// <summary>The simulation is now in the requested state.</summary>
    Changed,

    /// <summary>The simulation already was in the requested state; nothing happened.</summary>
    Unchanged,

    /// <summary>No simulation has that id.</summary>
    NotFound,

    /// <summary>The simulation is stopped or failed; no state can be requested any more.</summary>
    Finalized,

    /// <summary>The requested state cannot be reached from the current one (or cannot be requested at all).</summary>
    InvalidTransition,

    /// <summary>The transition was attempted and failed; the simulation is now failed.</summary>
    Failed,
}

/// <summary>The outcome of <see cref="ISimulationManager.RequestStateAsync"/>.</summary>
public sealed record StateChangeResult
{
    /// <summary>How the request ended.</summary>
    public required StateChangeStatus Status { get; init; }

    /// <summary>The simulation's state afterwards (the requested one on success).</summary>
    public SimulationState State { get; init; }

    /// <summary>Why it did not succeed, when it did not.</summary>
    public string? Message { get; init; }

    /// <summary>Whether the simulation is in the requested state.</summary>
    public bool Succeeded => Status is StateChangeStatus.Changed or StateChangeStatus.Unchanged;
}
