namespace NrpHost.Storage;

/// <summary>An experiment a caller can launch, as storage lists it.</summary>
/// <param name="Id">The experiment's id: its folder name, the <c>experimentID</c> to create a simulation with.</param>
/// <param name="Name">The configuration's <c>SimulationName</c>, else the folder name.</param>
/// <param name="Description">The configuration's <c>SimulationDescription</c>, else empty.</param>
/// <param name="Configurations">
/// The configuration files in the experiment's folder (relative names, <c>simulation_config.json</c> first), one of which
/// is the <c>experimentConfiguration</c> to create a simulation with.
/// </param>
public sealed record ExperimentSummary(string Id, string Name, string Description, IReadOnlyList<string> Configurations);
