using System.Text.Json.Serialization;

namespace NrpHost.Api.Contracts;

/// <summary>Body of <c>GET /health</c>.</summary>
/// <param name="Status"><c>healthy</c> when every part is usable, otherwise <c>unhealthy</c>.</param>
/// <param name="Python">The embedded interpreter.</param>
public sealed record HealthResponse(
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("python")] PythonHealth Python);

/// <summary>The embedded interpreter's part of the health report.</summary>
public sealed record PythonHealth(
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("version")] string? Version,
    [property: JsonPropertyName("library")] string? Library,
    [property: JsonPropertyName("executable")] string? Executable,
    [property: JsonPropertyName("error")] string? Error);
