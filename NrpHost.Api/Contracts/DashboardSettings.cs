using System.Text.Json.Serialization;

namespace NrpHost.Api.Contracts;

/// <summary>What the dashboard needs to know before its first call (<c>GET /dashboard/settings.json</c>).</summary>
/// <param name="TokenRequired">Whether callers need a Storage Proxy token (the page then asks for one).</param>
public sealed record DashboardSettings([property: JsonPropertyName("tokenRequired")] bool TokenRequired);
