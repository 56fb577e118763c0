using System.Text.Json.Serialization;

namespace NrpHost.Api.Contracts;

/// <summary>Body of <c>GET /health</c>.</summary>
/// <param name="Status"><c>healthy</c> when every part is usable, <c>degraded</c> when one works with limits, otherwise <c>unhealthy</c>.</param>
/// <param name="Python">The embedded interpreter.</param>
/// <param name="Checks">
/// The other parts by name: <c>storage</c> always, plus every health check registered in the host.
/// </param>
/// <param name="Mqtt">
/// The MQTT status publisher, when MQTT is used. It never makes the host unhealthy; its check (<c>checks.mqtt</c>) is
/// degraded while status cannot be published.
/// </param>
public sealed record HealthResponse(
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("python")] PythonHealth Python,
    [property: JsonPropertyName("checks")] IReadOnlyDictionary<string, ComponentHealth> Checks,
    [property: JsonPropertyName("mqtt")] MqttHealth? Mqtt = null);

/// <summary>The embedded interpreter's part of the health report (files by name only: the start-up log has their paths).</summary>
public sealed record PythonHealth(
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("version")] string? Version,
    [property: JsonPropertyName("library")] string? Library,
    [property: JsonPropertyName("executable")] string? Executable,
    [property: JsonPropertyName("error")] string? Error);

/// <summary>One part of the health report.</summary>
/// <param name="Status"><c>healthy</c>, <c>degraded</c> or <c>unhealthy</c>.</param>
/// <param name="Description">What was checked, or what is wrong.</param>
public sealed record ComponentHealth(
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("description")] string? Description);

/// <summary>The MQTT part of the health report.</summary>
/// <param name="Connected">Whether status messages currently reach the broker.</param>
/// <param name="Broker">The broker, <c>host:port</c>.</param>
/// <param name="Embedded">Whether it is the broker embedded in this process.</param>
/// <param name="EmbeddedRunning">Whether the embedded broker runs (null with an external broker).</param>
/// <param name="Problem">Why status does not reach the broker (e.g. <c>the embedded broker is not running: port 1883 is in use by another process</c>), or null.</param>
public sealed record MqttHealth(
    [property: JsonPropertyName("connected")] bool Connected,
    [property: JsonPropertyName("broker")] string Broker,
    [property: JsonPropertyName("embedded")] bool Embedded,
    [property: JsonPropertyName("embeddedRunning")] bool? EmbeddedRunning = null,
    [property: JsonPropertyName("problem")] string? Problem = null);
