using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using NrpHost.Api.Contracts;
using NrpHost.Api.Endpoints;
using NrpHost.Api.Identity;

namespace NrpHost.Api.Security;

/// <summary>
/// Lets a request in only with what <see cref="ApiAccess"/> requires: the API token, or a valid token of the OpenID
/// Connect issuer. Open to all: <c>GET /health</c>, <c>GET /version</c> and the dashboard's page and files (they hold no
/// data; the page asks for the token). The token is <c>Authorization: Bearer &lt;token&gt;</c>, or <c>?access_token=</c>
/// on the events stream and on WebSocket upgrades, which browsers cannot give a header. An MQTT WebSocket upgrade that
/// carries no token at all is let through to present it as its MQTT password (<see cref="WebSocketCredentials"/>). A
/// refusal is 401 with the NRP error body and <c>WWW-Authenticate: Bearer</c>; neither the token nor the query string is
/// logged.
/// </summary>
internal sealed class AccessGate(RequestDelegate next, ApiAccess access, ILogger<AccessGate> logger)
{
    /// <summary>The request item that marks an MQTT WebSocket upgrade whose client must give the token as its MQTT password.</summary>
    public const string CredentialsInConnectItem = "nrphost.mqtt.credentials-in-connect";

    public async Task InvokeAsync(HttpContext context)
    {
        var mode = access.Mode;
        if (mode is AccessMode.Open or AccessMode.StorageProxy || IsOpenToAll(context.Request))
        {
            await next(context);
            return;
        }

        if (IsMqttUpgrade(context.Request) && PresentedToken(context.Request) is null)
        {
            context.Items[CredentialsInConnectItem] = true;
            await next(context);
            return;
        }

        var refusal = mode == AccessMode.Token ? CheckToken(context) : await CheckJwtAsync(context);
        if (refusal is null)
        {
            await next(context);
            return;
        }

        ApiLog.AccessRefused(logger, context.Request.Method, context.Request.Path, context.Connection.RemoteIpAddress?.ToString() ?? "unknown", refusal.Value.Reason);
        context.Response.StatusCode = refusal.Value.Status;
        context.Response.Headers.WWWAuthenticate = refusal.Value.Challenge;
        await context.Response.WriteAsJsonAsync(refusal.Value.Body, NrpJsonContext.Wire.ErrorResponse, "application/json; charset=utf-8", context.RequestAborted);
    }

    /// <summary>The token a request presents: <c>Authorization</c>'s second word, or <c>?access_token=</c> where a browser cannot send a header.</summary>
    public static string? PresentedToken(HttpRequest request) =>
        CallerResolver.ReadToken(request)
        ?? (MayCarryTokenInQuery(request) && request.Query[ApiAccess.QueryParameter] is { Count: 1 } query && query[0] is { Length: > 0 } token ? token : null);

    /// <summary>Whether the request is the events stream or a WebSocket upgrade (the MQTT endpoint), which may carry the token in the query.</summary>
    public static bool MayCarryTokenInQuery(HttpRequest request) =>
        IsWebSocketUpgrade(request)
        || (HttpMethods.IsGet(request.Method) && request.Path.StartsWithSegments("/simulation", out var rest) && rest.Value is { } tail
            && tail.EndsWith("/events", StringComparison.Ordinal) && tail.Count(c => c == '/') == 2);

    private static bool IsOpenToAll(HttpRequest request)
    {
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            return false;
        }

        var path = request.Path;
        return path == "/health" || path == "/version"
            || path.StartsWithSegments(DashboardEndpoints.AssetsPath)
            || ((path == "/" || !path.HasValue) && !IsWebSocketUpgrade(request));
    }

    /// <summary>Whether the request is a WebSocket upgrade to the MQTT endpoint (at <c>/</c> or <c>/mqtt</c>).</summary>
    private static bool IsMqttUpgrade(HttpRequest request) =>
        IsWebSocketUpgrade(request) && request.Path.Value is null or "" or "/" or Messaging.MqttWebSocketExtensions.Path;

    /// <summary>
    /// Whether the request asks for a WebSocket (HTTP/1.1 <c>Upgrade: websocket</c>, or HTTP/2's extended CONNECT), read
    /// from the request itself: the WebSocket middleware, which would say so too, comes after this gate.
    /// </summary>
    private static bool IsWebSocketUpgrade(HttpRequest request) =>
        request.Headers.Upgrade.Any(value => value?.Contains("websocket", StringComparison.OrdinalIgnoreCase) == true)
        || request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpExtendedConnectFeature>()?.IsExtendedConnect == true;

    private Refusal? CheckToken(HttpContext context)
    {
        var presented = PresentedToken(context.Request);
        if (access.IsToken(presented))
        {
            return null;
        }

        return new Refusal(
            StatusCodes.Status401Unauthorized,
            presented is null ? "Bearer" : "Bearer error=\"invalid_token\"",
            presented is null ? "no token" : "wrong token",
            ErrorResponse.Client(
                presented is null
                    ? "This NrpHost needs its API token: send Authorization: Bearer <token> (or ?access_token=<token> on the events stream and WebSocket)."
                    : "The token is not this NrpHost's API token.",
                access.TokenWasGenerated ? "The token was generated at start and printed on the server's standard output; NrpHost:Api:Token sets one." : "NrpHost:Api:Token"));
    }

    private static async Task<Refusal?> CheckJwtAsync(HttpContext context)
    {
        var result = await context.AuthenticateAsync(JwtBearerDefaults.AuthenticationScheme);
        if (result.Succeeded)
        {
            context.User = result.Principal;
            return null;
        }

        if (!result.None && !await AuthSetup.IssuerReachableAsync(context.RequestServices))
        {
            // The issuer's metadata could not be had: not the caller's fault.
            return new Refusal(
                StatusCodes.Status503ServiceUnavailable, "Bearer", "identity provider unreachable",
                new ErrorResponse("The identity provider (NrpHost:Auth:Authority) cannot be reached to check the token; try again later.", ErrorResponse.ServerErrorType));
        }

        var presented = result.None ? "no token" : "invalid token (" + FirstLine(result.Failure?.Message) + ")";
        return new Refusal(
            StatusCodes.Status401Unauthorized,
            result.None ? "Bearer" : "Bearer error=\"invalid_token\"",
            presented,
            ErrorResponse.Client(
                result.None
                    ? "This NrpHost needs an access token of its identity provider: send Authorization: Bearer <token> (or ?access_token=<token> on the events stream and WebSocket)."
                    : "The access token was refused: it is expired, not for this audience, or not signed by the identity provider.",
                result.None ? null : FirstLine(result.Failure?.Message)));
    }

    private static string? FirstLine(string? text) => text?.Split('\n', 2)[0].Trim();

    private readonly record struct Refusal(int Status, string Challenge, string Reason, ErrorResponse Body);
}
