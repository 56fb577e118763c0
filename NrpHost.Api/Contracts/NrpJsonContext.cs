using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace NrpHost.Api.Contracts;

/// <summary>Source-generated serialisation of the wire types (no reflection on the hot paths).</summary>
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(SimulationResponse))]
[JsonSerializable(typeof(SimulationResponse[]))]
[JsonSerializable(typeof(IReadOnlyList<SimulationResponse>))]
[JsonSerializable(typeof(StateResponse))]
[JsonSerializable(typeof(StateRequest))]
[JsonSerializable(typeof(CreateSimulationRequest))]
[JsonSerializable(typeof(VersionResponse))]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(ExperimentResponse[]))]
[JsonSerializable(typeof(DashboardSettings))]
[JsonSerializable(typeof(ProfileResponse))]
internal sealed partial class NrpJsonContext : JsonSerializerContext
{
    /// <summary>
    /// What every body is written with: text is escaped only where JSON requires it (quotes, backslashes, control
    /// characters), so <c>'</c>, <c>"</c> inside messages, <c>&lt;</c> and non-ASCII letters read as they are
    /// instead of <c>\u0027</c>. Bodies are <c>application/json</c>, never embedded in HTML.
    /// </summary>
    public static JavaScriptEncoder Encoder => JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    /// <summary>The context with <see cref="Encoder"/>, for bodies written outside the HTTP JSON options.</summary>
    public static NrpJsonContext Wire { get; } = new(new JsonSerializerOptions { Encoder = Encoder });
}
