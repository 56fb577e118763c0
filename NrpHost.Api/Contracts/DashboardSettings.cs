using System.Text.Json.Serialization;

namespace NrpHost.Api.Contracts;

/// <summary>What the dashboard needs to know before its first call (<c>GET /dashboard/settings.json</c>).</summary>
/// <param name="TokenRequired">Whether callers need a token (the page then asks for one).</param>
/// <param name="Auth">Which token: <c>proxy</c> (the NRP Storage Proxy's), <c>token</c> (the API token), <c>oidc</c> (the identity provider's), or <c>none</c>.</param>
public sealed record DashboardSettings(
    [property: JsonPropertyName("tokenRequired")] bool TokenRequired,
    [property: JsonPropertyName("auth")] string Auth);
