using System.Text.Json.Serialization;

namespace NrpHost.Api.Contracts;

/// <summary>Body of <c>GET /health</c>.</summary>
/// <param name="Status"><c>healthy</c> when every part is usable, otherwise <c>unhealthy</c>.</param>
/// <param name="Python">The embedded interpreter.</param>
/// <param name="Mqtt">The MQTT status publisher, when MQTT is used (informational: it never makes the host unhealthy).</param>
public sealed record HealthResponse(
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("python")] PythonHealth Python,
    [property: JsonPropertyName("mqtt")] MqttHealth? Mqtt = null);

/// <summary>The embedded interpreter's part of the health report.</summary>
public sealed record PythonHealth(
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("version")] string? Version,
    [property: JsonPropertyName("library")] string? Library,
    [property: JsonPropertyName("executable")] string? Executable,
    [property: JsonPropertyName("error")] string? Error);

/// <summary>The MQTT part of the health report.</summary>
/// <param name="Connected">Whether status messages currently reach the broker.</param>
/// <param name="Broker">The broker, <c>host:port</c>.</param>
/// <param name="Embedded">Whether it is the broker embedded in this process.</param>
public sealed record MqttHealth(
    [property: JsonPropertyName("connected")] bool Connected,
    [property: JsonPropertyName("broker")] string Broker,
    [property: JsonPropertyName("embedded")] bool Embedded);
