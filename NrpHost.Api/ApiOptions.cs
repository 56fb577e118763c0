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
    /// The API token (at least 16 characters). When set, every route except <c>GET /health</c>, <c>GET /version</c> and
    /// the dashboard's own files needs <c>Authorization: Bearer &lt;token&gt;</c>; the events stream and WebSocket
    /// upgrades may carry it as <c>?access_token=</c> instead. Unset, a server without a Storage Proxy or an identity
    /// provider that listens on an address other machines reach generates one at start and prints it once. Cannot be
    /// combined with the Storage Proxy or OpenID Connect (there the bearer token is the caller's own). Empty is unset
    /// (as <c>NrpHost__Api__Token: ${TOKEN}</c> in a compose file leaves it when TOKEN is not set).
    /// </summary>
    public string? Token { get; set; }

    /// <summary>
    /// Whether anyone who reaches the API from another machine may use it without a token, when there is neither a
    /// Storage Proxy nor an identity provider (every caller is then every simulation's owner). Default false: such a
    /// server requires a token. Logged as a warning when it takes effect.
    /// </summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>The earlier name of <see cref="AllowAnonymous"/>, still honoured.</summary>
    public bool AllowAnonymousRemote { get; set; }

    /// <summary>Whether <see cref="AllowAnonymous"/> (or its earlier name) is set.</summary>
    internal bool AnonymousAllowed => AllowAnonymous || AllowAnonymousRemote;

    /// <summary>
    /// Whether <c>/metrics</c> serves the NrpHost meter in Prometheus text format. Default false. It is behind the same
    /// access rules as every route (the API token or OpenID Connect where those are in force); on an open server anyone
    /// who reaches the port can read how many simulations run and how their steps perform.
    /// </summary>
    public bool PrometheusMetrics { get; set; }

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
