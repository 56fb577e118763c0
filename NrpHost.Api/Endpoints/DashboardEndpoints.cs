using Microsoft.Extensions.FileProviders;
using NrpHost.Api.Contracts;
using NrpHost.Api.Security;

namespace NrpHost.Api.Endpoints;

/// <summary>
/// The dashboard: <c>GET /</c> is its page, <c>/dashboard/…</c> its styles and JavaScript modules, served as they are
/// from the <c>dashboard</c> folder next to the application (plain files, nothing is built), and
/// <c>/dashboard/settings.json</c> whether the page must ask for a token, and which. WebSocket upgrades at
/// <c>/</c> are taken by the MQTT endpoint before they get here. The page talks to this API only (its content
/// security policy allows nothing else).
/// </summary>
internal static class DashboardEndpoints
{
    /// <summary>Where the page's own files are served.</summary>
    public const string AssetsPath = "/dashboard";

    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /// <summary>The folder the files are served from (copied next to the application at build).</summary>
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "dashboard");

    public static WebApplication UseDashboard(this WebApplication app)
    {
        var folder = Folder;
        var page = Path.Combine(folder, "index.html");
        if (!File.Exists(page))
        {
            ApiLog.DashboardMissing(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("NrpHost.Api"), folder);
            return app;
        }

        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = new PhysicalFileProvider(folder),
            RequestPath = AssetsPath,
            OnPrepareResponse = context => SetHeaders(context.Context.Response),
        });
        app.MapGet("/", (HttpResponse response) =>
        {
            SetHeaders(response);
            return TypedResults.PhysicalFile(page, "text/html; charset=utf-8");
        }).ExcludeFromDescription();
        app.MapGet(AssetsPath + "/settings.json", (HttpResponse response, ApiAccess access) =>
        {
            SetHeaders(response);
            var auth = access.Mode switch
            {
                AccessMode.StorageProxy => "proxy",
                AccessMode.Token => "token",
                AccessMode.OpenIdConnect => "oidc",
                _ => "none",
            };
            return TypedResults.Json(new DashboardSettings(auth != "none", auth), NrpJsonContext.Wire.DashboardSettings);
        }).ExcludeFromDescription();
        return app;
    }

    private static void SetHeaders(HttpResponse response)
    {
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers.CacheControl = "no-cache";
    }
}
