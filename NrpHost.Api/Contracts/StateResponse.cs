using System.Text.Json.Serialization;

namespace NrpHost.Api.Contracts;

/// <summary>Body of <c>GET</c> and <c>PUT /simulation/{id}/state</c>: <c>{"state": "&lt;state&gt;"}</c>.</summary>
/// <param name="State">The simulation's state (after the change, for a PUT).</param>
public sealed record StateResponse([property: JsonPropertyName("state")] string State);
