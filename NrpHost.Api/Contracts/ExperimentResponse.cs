using System.Text.Json.Serialization;
using NrpHost.Storage;

namespace NrpHost.Api.Contracts;

/// <summary>One element of <c>GET /experiments</c>: an experiment the caller can launch.</summary>
/// <param name="Id">The <c>experimentID</c> to send to <c>POST /simulation</c> (the experiment's folder name).</param>
/// <param name="Name">The configuration's <c>SimulationName</c>, else the folder name.</param>
/// <param name="Description">The configuration's <c>SimulationDescription</c>, else empty.</param>
/// <param name="Configurations">The configuration files (<c>experimentConfiguration</c> values), <c>simulation_config.json</c> first.</param>
public sealed record ExperimentResponse(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("description")] string Description,
    [property: JsonPropertyName("configurations")] IReadOnlyList<string> Configurations)
{
    internal static ExperimentResponse From(ExperimentSummary experiment) =>
        new(experiment.Id, experiment.Name, experiment.Description, experiment.Configurations);
}
