using System.Text.Json.Serialization;
using Refit;

namespace NrpHost.Storage;

/// <summary>
/// The NRP Storage Proxy routes the backend calls. Paths are relative to the configured proxy base, whose own path
/// part is kept (see <see cref="ProxyStorageOptions.ProxyUrl"/>). Every call carries <c>Authorization: Bearer
/// &lt;token&gt;</c>. Path parameters are escaped as one segment, so a folder uuid <c>exp/assets</c> is sent as
/// <c>exp%2Fassets</c>, as the proxy expects.
/// </summary>
internal interface IStorageProxyApi
{
    /// <summary>The token's user (<c>{"id", "displayName"}</c>); 477 for an unknown token.</summary>
    [Get("/identity/me")]
    Task<ProxyIdentity> GetIdentityAsync([Authorize("Bearer")] string token, CancellationToken cancellationToken);

    /// <summary>The experiments the token's owner may see, filtered by name; any failure is a non-2xx status.</summary>
    [Get("/storage/experiments")]
    Task<HttpResponseMessage> FindExperimentsAsync(
        [Query] string filter,
        [Header("context-id")] string? contextId,
        [Authorize("Bearer")] string token,
        CancellationToken cancellationToken);

    /// <summary>Every experiment the token's owner may see (owned or shared), each with its configuration.</summary>
    [Get("/storage/experiments")]
    Task<HttpResponseMessage> ListExperimentsAsync([Authorize("Bearer")] string token, CancellationToken cancellationToken);

    /// <summary>The entries of an experiment (by name) or of a folder (by its uuid).</summary>
    [Get("/storage/{folder}")]
    Task<List<ProxyEntry>> ListAsync(string folder, [Authorize("Bearer")] string token, CancellationToken cancellationToken);

    /// <summary>A file's bytes; the proxy answers 204 with no body for a missing file.</summary>
    [Get("/storage/{folder}/{name}?byname=true")]
    Task<HttpResponseMessage> DownloadAsync(string folder, string name, [Authorize("Bearer")] string token, CancellationToken cancellationToken);

    /// <summary>Writes a file at the top level of an experiment (<c>application/octet-stream</c>).</summary>
    [Post("/storage/{experiment}/{name}")]
    Task<HttpResponseMessage> UploadAsync(
        string experiment,
        string name,
        [Body] HttpContent content,
        [Authorize("Bearer")] string token,
        CancellationToken cancellationToken);
}

/// <summary>The answer of <c>GET /identity/me</c>.</summary>
internal sealed record ProxyIdentity([property: JsonPropertyName("id")] string? Id);

/// <summary>One entry of a proxy folder listing.</summary>
internal sealed record ProxyEntry(
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("uuid")] string? Uuid,
    [property: JsonPropertyName("type")] string? Type)
{
    public bool IsFolder => string.Equals(Type, "folder", StringComparison.Ordinal);

    public bool IsFile => string.Equals(Type, "file", StringComparison.Ordinal);
}
