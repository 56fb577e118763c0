using System.Text.Json.Serialization;

namespace NrpHost.Api.Contracts;

/// <summary>
/// Body of <c>GET /version</c>: both NRP backend package names carry the NrpHost version, and <c>hostId</c> says which
/// host answered (<c>NrpHost:HostId</c>).
/// </summary>
public sealed record VersionResponse(
    [property: JsonPropertyName("hbp_nrp_backend")] string HbpNrpBackend,
    [property: JsonPropertyName("hbp_nrp_simserver")] string HbpNrpSimserver,
    [property: JsonPropertyName("hostId")] string HostId);
