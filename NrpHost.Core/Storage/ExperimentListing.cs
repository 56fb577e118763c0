using System.Text.Json;

namespace NrpHost.Storage;

/// <summary>
/// What both storages share when they list experiments: the default configuration's name, the <c>SimulationName</c>
/// and <c>SimulationDescription</c> of an nrp-core configuration, and how a listing is ordered.
/// </summary>
internal static class ExperimentListing
{
    /// <summary>The configuration the NRP Frontend launches (<c>experimentConfiguration</c>'s default).</summary>
    public const string DefaultConfiguration = "simulation_config.json";

    /// <summary>Longest name or description kept; storage content is not trusted to be small.</summary>
    public const int MaxTextLength = 2000;

    public static readonly JsonDocumentOptions ParseOptions = new()
    {
        AllowTrailingCommas = true,
        CommentHandling = JsonCommentHandling.Skip,
        MaxDepth = 64,
    };

    /// <summary>
    /// The summary of experiment <paramref name="id"/>: name and description from <paramref name="configuration"/> (an
    /// nrp-core configuration object, or default) when it has them as non-blank strings.
    /// </summary>
    public static ExperimentSummary Summarize(string id, JsonElement configuration, IReadOnlyList<string> configurations) => new()
    {
        Id = id,
        Name = Text(configuration, "SimulationName") ?? id,
        Description = Text(configuration, "SimulationDescription") ?? string.Empty,
        Configurations = configurations,
    };

    /// <summary>In id order (ordinal), as the API returns them.</summary>
    public static IReadOnlyList<ExperimentSummary> Ordered(IEnumerable<ExperimentSummary> experiments) =>
        experiments.OrderBy(e => e.Id, StringComparer.Ordinal).ToList();

    private static string? Text(JsonElement element, string property)
    {
        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(property, out var value) ||
            value.ValueKind != JsonValueKind.String || value.GetString() is not { } text || string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        text = text.Trim();
        return text.Length <= MaxTextLength ? text : text[..MaxTextLength];
    }
}
