using System.Text.Json;
using System.Text.Json.Serialization;
using NrpHost.Simulation;

namespace NrpHost.Api.Contracts;

/// <summary>
/// Body of <c>PUT /simulation/{id}/state</c>: <c>{"state": "started" | "paused" | "stopped" | "completed" | "failed"}</c>.
/// </summary>
/// <param name="State">The state to go to.</param>
public sealed record StateRequest([property: JsonPropertyName("state")] string State)
{
    /// <summary>
    /// Reads the requested state: missing or null → <c>state not given.</c>; anything that is not one of the six
    /// state names (including other JSON types) → <c>Invalid state requested: (&lt;value&gt;)</c>.
    /// </summary>
    internal static bool TryRead(JsonElement body, out SimulationState state, out ErrorResponse? error)
    {
        state = default;
        if (!body.TryGetProperty("state", out var element) || element.ValueKind == JsonValueKind.Null)
        {
            error = ErrorResponse.NotGiven("state");
            return false;
        }

        var text = element.ValueKind == JsonValueKind.String ? element.GetString()! : element.GetRawText();
        if (element.ValueKind != JsonValueKind.String || !SimulationStates.TryParse(text, out state))
        {
            error = ErrorResponse.InvalidState(text.Length > 100 ? text[..100] + "…" : text);
            return false;
        }

        error = null;
        return true;
    }
}
