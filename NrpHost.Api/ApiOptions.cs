using System.ComponentModel.DataAnnotations;

namespace NrpHost.Api;

/// <summary>The REST API's own settings.</summary>
public sealed class ApiOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "NrpHost:Api";

    /// <summary>
    /// Whether <c>X-User-Name</c> names the caller. Only for an API behind a trusted proxy that sets (and strips from
    /// clients) this header; otherwise anyone could claim to be a simulation's owner. Default false.
    /// </summary>
    public bool TrustUserNameHeader { get; set; }

    /// <summary>
    /// Browser origins allowed by CORS (e.g. <c>http://localhost:3000</c>). Empty (default): any origin, echoed
    /// back, as the NRP backend's nginx does. When set, writes and WebSocket upgrades from other origins get 403.
    /// </summary>
    public IList<string> CorsOrigins { get; } = [];

    /// <summary>
    /// Whether the API may listen on a non-loopback address while callers cannot be identified (local storage: every
    /// caller is every simulation's owner). When false (default) such a setup logs a warning at start-up and
    /// <c>/health</c> reports <c>security</c> as degraded; the API serves anyway.
    /// </summary>
    public bool AllowAnonymousRemote { get; set; }

    /// <summary>The largest accepted request body, in bytes (413 above). Default 64 KiB.</summary>
    [Range(1024, 16 * 1024 * 1024)]
    public int MaxRequestBodyBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// How many of a simulation's output lines one <c>GET /simulation/{id}/events</c> stream sends per second; lines
    /// above that are dropped and counted in a notice. Default 100.
    /// </summary>
    [Range(1, 10_000)]
    public int EventLogLinesPerSecond { get; set; } = 100;

    /// <summary>
    /// How many <c>GET /simulation/{id}/events</c> streams may be open at once, over all clients; one more is answered
    /// 503 with <c>Retry-After</c>. Default 100.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxEventStreams { get; set; } = 100;

    /// <summary>
    /// How many <c>GET /simulation/{id}/events</c> streams one caller may have open at once: the authenticated user where
    /// there is one (the NRP Storage Proxy's, or a trusted <c>X-User-Name</c>), else the remote address. One more is
    /// answered 429 with <c>Retry-After</c>. Default 10.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxEventStreamsPerCaller { get; set; } = 10;

    /// <summary>
    /// How long an events stream may wait for its client to take what was sent, in seconds, before it is closed (a client
    /// that stopped reading). Default 30.
    /// </summary>
    [Range(1, 3600)]
    public int EventStreamStuckSeconds { get; set; } = 30;

    /// <summary>
    /// How often an events stream sends a keep-alive comment, in seconds, so proxies do not close it. Default 15.
    /// </summary>
    [Range(1, 300)]
    public int EventKeepAliveSeconds { get; set; } = 15;
}
