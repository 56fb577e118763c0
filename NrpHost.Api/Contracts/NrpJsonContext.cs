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
internal sealed partial class NrpJsonContext : JsonSerializerContext;
