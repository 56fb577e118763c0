using System.ComponentModel.DataAnnotations;

namespace NrpHost.Storage;

/// <summary>
/// The NRP Storage Proxy as experiment storage and user directory (section <c>NrpHost:Storage</c>, shared with
/// <see cref="LocalStorageOptions"/>). When <see cref="ProxyUrl"/> is set, the proxy replaces the local folder.
/// </summary>
public sealed class ProxyStorageOptions : IValidatableObject
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "NrpHost:Storage";

    /// <summary>
    /// The base under which the proxy serves <c>/storage/…</c> and <c>/identity/me</c>: the proxy root when talking
    /// to the nrp-proxy directly (<c>http://nrp-proxy:8443</c>), or <c>http://&lt;haproxy&gt;:9000/storage</c> through
    /// the stock HAProxy, which strips the leading <c>/storage</c> (the reference backend's composition of
    /// <c>STORAGE_ADDRESS</c>/<c>STORAGE_PORT</c>). A path part is kept: requests go to
    /// <c>&lt;ProxyUrl&gt;/storage/…</c> and <c>&lt;ProxyUrl&gt;/identity/me</c>. Unset: local storage.
    /// </summary>
    public string? ProxyUrl { get; set; }

    /// <summary>
    /// The longest one proxy call may take, retries included, in seconds (default 10). A hung proxy fails the call
    /// with <see cref="ExperimentStorageError.Unavailable"/> after this long.
    /// </summary>
    [Range(0.1, 600)]
    public double TimeoutSeconds { get; set; } = 10;

    /// <summary>The longest one attempt may take, in seconds (default 4); a timed-out read is retried.</summary>
    [Range(0.05, 600)]
    public double AttemptTimeoutSeconds { get; set; } = 4;

    /// <summary>
    /// How often an idempotent call (a <c>GET</c>) is retried after a transient failure (connection error, 5xx,
    /// 408, 429, attempt timeout). Default 2. Uploads (<c>POST</c>) are never retried.
    /// </summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 2;

    /// <summary>The first retry's delay in milliseconds (exponential with jitter after that). Default 200.</summary>
    [Range(0, 60_000)]
    public int RetryDelayMilliseconds { get; set; } = 200;

    /// <summary>How many files are downloaded at once while staging. Default 4.</summary>
    [Range(1, 32)]
    public int MaxParallelDownloads { get; set; } = 4;

    /// <summary>How long a token's user id is remembered, in seconds. Default 60; 0 disables the cache.</summary>
    [Range(0, 86_400)]
    public double IdentityCacheSeconds { get; set; } = 60;

    /// <summary>How long a granted view check is remembered, in seconds. Default 30; 0 disables the cache.</summary>
    [Range(0, 86_400)]
    public double AccessCacheSeconds { get; set; } = 30;

    /// <summary>
    /// How long an unknown token or a refused view check is remembered, in seconds (default 5), so a failing or
    /// hung proxy is not asked again on every request.
    /// </summary>
    [Range(0, 86_400)]
    public double NegativeCacheSeconds { get; set; } = 5;

    /// <summary>
    /// Where a log archive that could not be uploaded at stop is kept (with any storage). Default:
    /// <c>unsent-logs</c> under the simulation work directory.
    /// </summary>
    public string? UnsentLogsDirectory { get; set; }

    /// <summary>Whether a proxy is configured.</summary>
    public bool IsProxyConfigured => !string.IsNullOrWhiteSpace(ProxyUrl);

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (IsProxyConfigured && TryGetBaseUri(ProxyUrl) is null)
        {
            yield return new ValidationResult(
                $"NrpHost:Storage:ProxyUrl '{ProxyUrl}' is not an absolute http(s) URL (e.g. http://localhost:9000/storage).",
                [nameof(ProxyUrl)]);
        }

        if (AttemptTimeoutSeconds > TimeoutSeconds)
        {
            yield return new ValidationResult(
                $"NrpHost:Storage:AttemptTimeoutSeconds ({AttemptTimeoutSeconds}) must not exceed TimeoutSeconds ({TimeoutSeconds}).",
                [nameof(AttemptTimeoutSeconds), nameof(TimeoutSeconds)]);
        }
    }

    /// <summary>The proxy base without a trailing slash, or null when it is not an absolute http(s) URL.</summary>
    internal static Uri? TryGetBaseUri(string? proxyUrl)
    {
        if (string.IsNullOrWhiteSpace(proxyUrl) ||
            !Uri.TryCreate(proxyUrl.Trim().TrimEnd('/'), UriKind.Absolute, out var uri) ||
            (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) ||
            !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
        {
            return null;
        }

        return uri;
    }
}
