namespace NrpHost.Storage;

/// <summary>An experiment a caller can launch, as storage lists it.</summary>
public sealed record ExperimentSummary
{
    /// <summary>The experiment's id: its folder name, the <c>experimentID</c> to create a simulation with.</summary>
    public required string Id { get; init; }

    /// <summary>The configuration's <c>SimulationName</c>, else the folder name.</summary>
    public required string Name { get; init; }

    /// <summary>The configuration's <c>SimulationDescription</c>, else empty.</summary>
    public string Description { get; init; } = string.Empty;

    /// <summary>
    /// The configuration files in the experiment's folder (relative names, <c>simulation_config.json</c> first), one of
    /// which is the <c>experimentConfiguration</c> to create a simulation with.
    /// </summary>
    public IReadOnlyList<string> Configurations { get; init; } = [];
}
