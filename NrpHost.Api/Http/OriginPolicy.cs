using Microsoft.Extensions.Options;
using NrpHost.Api.Contracts;

namespace NrpHost.Api.Http;

/// <summary>
/// What a browser on another site may do when <see cref="ApiOptions.CorsOrigins"/> lists the allowed origins. CORS
/// only hides answers from scripts; it does not stop a cross-site form <c>POST</c> (a "simple" request) or a WebSocket
/// upgrade. So a request that changes something (any method but <c>GET</c>, <c>HEAD</c>, <c>OPTIONS</c>) or opens a
/// WebSocket (MQTT for browsers) and carries an <c>Origin</c> that is neither listed nor the API's own is answered 403
/// with an NRP error body, whatever its content type. Requests without <c>Origin</c> (curl, the NRP Proxy, MQTT
/// clients outside a browser) and every request when no origins are listed pass through.
/// </summary>
internal sealed class OriginPolicy(RequestDelegate next, IOptions<ApiOptions> options, ILogger<OriginPolicy> logger)
{
    private readonly HashSet<string> _allowed = new(AllowedOrigins(options.Value), StringComparer.OrdinalIgnoreCase);

    /// <summary>The configured origins, trimmed and without a trailing slash.</summary>
    public static string[] AllowedOrigins(ApiOptions options) =>
        options.CorsOrigins.Where(o => !string.IsNullOrWhiteSpace(o)).Select(o => o.Trim().TrimEnd('/')).ToArray();

    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (_allowed.Count == 0 || request.Headers.Origin is not [{ Length: > 0 } origin])
        {
            return next(context);
        }

        var upgrade = IsWebSocketUpgrade(request);
        if ((!upgrade && IsSafe(request.Method)) || _allowed.Contains(origin.TrimEnd('/'))
            || string.Equals(origin, $"{request.Scheme}://{request.Host}", StringComparison.OrdinalIgnoreCase))
        {
            return next(context);
        }

        var what = upgrade ? "WebSocket connections" : $"{request.Method} requests";
        ApiLog.OriginRefused(logger, request.Method, request.Path.ToString(), origin);
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        return context.Response.WriteAsJsonAsync(
            ErrorResponse.Client($"{what} from origin '{origin}' are not allowed: it is not listed in NrpHost:Api:CorsOrigins"),
            NrpJsonContext.Wire.ErrorResponse,
            "application/json; charset=utf-8",
            context.RequestAborted);
    }

    private static bool IsSafe(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method);

    private static bool IsWebSocketUpgrade(HttpRequest request) =>
        request.HttpContext.WebSockets.IsWebSocketRequest
        || request.Headers.Upgrade.Any(u => u?.Contains("websocket", StringComparison.OrdinalIgnoreCase) == true);
}
