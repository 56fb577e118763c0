using System.Globalization;
using System.Text.Json.Serialization;
using NrpHost.Simulation;

namespace NrpHost.Api.Contracts;

/// <summary>
/// The NRP simulation object: always these nine keys (<c>ctxId</c> is null when not given). Returned by
/// <c>POST /simulation</c>, <c>GET /simulation</c> (as array elements) and <c>GET /simulation/{id}</c>.
/// </summary>
/// <param name="State">The current state: <c>created</c>, <c>paused</c>, <c>started</c>, <c>completed</c>, <c>stopped</c> or <c>failed</c>.</param>
/// <param name="SimulationId">The id (0, 1, 2… per process); also the MQTT topic id.</param>
/// <param name="ExperimentConfiguration">The configuration file, relative to the experiment root.</param>
/// <param name="MainScript">The script, relative to the experiment root.</param>
/// <param name="Owner">Who created it.</param>
/// <param name="CreationDate">ISO-8601 with microseconds and the host's UTC offset, e.g. <c>2021-01-27T15:51:12.893249+01:00</c>.</param>
/// <param name="ExperimentId">The storage experiment (folder name).</param>
/// <param name="CtxId">The collab context id, or null.</param>
/// <param name="MqttPrefix">The MQTT topic prefix (<c>""</c> when none).</param>
public sealed record SimulationResponse(
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("simulationID")] int SimulationId,
    [property: JsonPropertyName("experimentConfiguration")] string ExperimentConfiguration,
    [property: JsonPropertyName("mainScript")] string MainScript,
    [property: JsonPropertyName("owner")] string Owner,
    [property: JsonPropertyName("creationDate")] string CreationDate,
    [property: JsonPropertyName("experimentID")] string ExperimentId,
    [property: JsonPropertyName("ctxId")] string? CtxId,
    [property: JsonPropertyName("MQTTPrefix")] string MqttPrefix)
{
    internal static SimulationResponse From(SimulationSnapshot simulation, string? mqttPrefix) => new(
        simulation.State.ToWireName(),
        simulation.Id,
        simulation.ExperimentConfiguration,
        simulation.MainScript,
        simulation.Owner,
        simulation.CreationDate.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffffzzz", CultureInfo.InvariantCulture),
        simulation.ExperimentId,
        simulation.ContextId,
        mqttPrefix ?? string.Empty);
}
