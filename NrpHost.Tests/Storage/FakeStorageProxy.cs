using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Storage;

/// <summary>
/// A stand-in for the NRP Storage Proxy (FS storage) over real HTTP on loopback, following its contract
/// (reference nrp-peers §3): experiments are folders under <see cref="Root"/>, tokens map to users, 477 for an unknown
/// token, 403 for an experiment the user may not see, 204 for any failed download, <c>%2F</c>-encoded folder uuids.
/// Faults (status codes, dropped connections, hangs) can be injected per request. With <c>behindHaproxy</c> it also
/// strips a leading <c>/storage</c> or <c>/proxy</c> first, as the stock HAProxy in front of it does.
/// </summary>
public sealed class FakeStorageProxy : IAsyncDisposable
{
    public const string Token = "token-of-nrpuser";
    public const string User = "nrpuser";

    private readonly TempDirectory _temp = new("proxy");
    private readonly WebApplication _app;
    private readonly CancellationTokenSource _stopping = new();
    private readonly bool _behindHaproxy;
    private readonly List<(Func<ProxyRequest, bool> When, ProxyFault Fault, int Times)> _faults = [];
    private readonly Lock _faultLock = new();

    private FakeStorageProxy(bool behindHaproxy)
    {
        _behindHaproxy = behindHaproxy;
        Directory.CreateDirectory(Root);
        Users[Token] = User;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory }); // not the process-wide current directory
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        _app = builder.Build();
        _app.Run(HandleAsync);
    }

    /// <summary>The proxy's storage folder (one sub-folder per experiment).</summary>
    public string Root => _temp.Combine("nrpStorage");

    /// <summary>The proxy root (<c>http://127.0.0.1:port</c>).</summary>
    public string Url { get; private set; } = string.Empty;

    /// <summary>Known tokens and their users.</summary>
    public ConcurrentDictionary<string, string> Users { get; } = new(StringComparer.Ordinal);

    /// <summary>Experiments visible to these users only; experiments not listed are visible to every known user.</summary>
    public ConcurrentDictionary<string, string[]> SharedWith { get; } = new(StringComparer.Ordinal);

    /// <summary>Entries added to the listing of a folder (decoded folder key, e.g. <c>exp</c> or <c>exp/assets</c>).</summary>
    public ConcurrentDictionary<string, object[]> ExtraEntries { get; } = new(StringComparer.Ordinal);

    /// <summary>Every request, in arrival order.</summary>
    private readonly Changes _requested = new();

    public ConcurrentQueue<ProxyRequest> Requests { get; } = new();

    /// <summary>Answers every request by hanging until the client gives up.</summary>
    public bool HangAll { get; set; }

    /// <summary>When set, the raw JSON answered to <c>GET /storage/experiments</c> (without a filter), for hostile answers.</summary>
    public string? ExperimentsAnswer { get; set; }

    public static async Task<FakeStorageProxy> StartAsync(bool behindHaproxy = false)
    {
        var proxy = new FakeStorageProxy(behindHaproxy);
        await proxy._app.StartAsync();
        var address = proxy._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        proxy.Url = address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/');
        return proxy;
    }

    public ExperimentBuilder Experiment(string name = "exp") => new(Root, name);

    /// <summary>The next <paramref name="times"/> requests matching <paramref name="when"/> get <paramref name="fault"/>.</summary>
    public void Inject(ProxyFault fault, Func<ProxyRequest, bool>? when = null, int times = 1)
    {
        lock (_faultLock)
        {
            _faults.Add((when ?? (_ => true), fault, times));
        }
    }

    public ProxyRequest[] RequestsTo(string method, string pathPrefix) =>
        Requests.Where(r => r.Method == method && r.RawPath.StartsWith(pathPrefix, StringComparison.Ordinal)).ToArray();

    /// <summary>Waits until the proxy has seen at least <paramref name="count"/> requests.</summary>
    public Task WaitForRequestAsync(int count = 1) =>
        _requested.WaitAsync(() => Requests.Count >= count, TimeSpan.FromSeconds(30), () => $"the proxy saw {Requests.Count} requests, expected {count}");

    private async Task HandleAsync(HttpContext context)
    {
        var rawTarget = context.Features.Get<IHttpRequestFeature>()!.RawTarget;
        var queryAt = rawTarget.IndexOf('?', StringComparison.Ordinal);
        var rawPath = queryAt < 0 ? rawTarget : rawTarget[..queryAt];
        var request = new ProxyRequest(
            context.Request.Method,
            rawPath,
            context.Request.QueryString.Value ?? string.Empty,
            context.Request.Headers.Authorization.ToString(),
            context.Request.Headers.TryGetValue("context-id", out var ctx) ? ctx.ToString() : null,
            context.Request.ContentType);
        Requests.Enqueue(request);
        _requested.Notify();

        if (HangAll)
        {
            await HangAsync(context);
            return;
        }

        switch (TakeFault(request))
        {
            case { Kind: ProxyFaultKind.Status } fault:
                context.Response.StatusCode = fault.Status;
                await context.Response.WriteAsync("injected failure");
                return;
            case { Kind: ProxyFaultKind.Drop }:
                context.Abort();
                return;
            case { Kind: ProxyFaultKind.Hang }:
                await HangAsync(context);
                return;
            default:
                break;
        }

        var path = rawPath;
        if (_behindHaproxy)
        {
            foreach (var prefix in (string[])["/storage", "/proxy"])
            {
                if (path.StartsWith(prefix + "/", StringComparison.Ordinal))
                {
                    path = path[prefix.Length..];
                    break;
                }
            }
        }

        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToArray();
        var auth = request.Authorization ?? string.Empty;
        if (auth.Length < 7)
        {
            await Text(context, 500, "Authorization header missing");
            return;
        }

        if (!Users.TryGetValue(auth[7..], out var user))
        {
            await Text(context, 477, """{"mode":"local","url":"/authentication/loginpage?origin=FS","clientId":"nrp"}""", "text/html");
            return;
        }

        var get = HttpMethods.IsGet(context.Request.Method);
        var post = HttpMethods.IsPost(context.Request.Method);
        switch (segments)
        {
            case ["identity", "me"] when get:
                await Json(context, new { id = user, displayName = user });
                return;
            case ["storage", "experiments"] when get:
                await ListExperimentsAsync(context, user);
                return;
            case ["storage", var folder] when get:
                await ListFolderAsync(context, user, folder);
                return;
            case ["storage", var folder, var name] when get && context.Request.Query["byname"] == "true":
                await DownloadAsync(context, user, folder + "/" + name);
                return;
            case ["storage", var experiment, .. var rest] when post && rest.Length > 0:
                await UploadAsync(context, user, experiment + "/" + string.Join('/', rest));
                return;
            default:
                await Text(context, 404, "Cannot " + context.Request.Method + " " + path);
                return;
        }
    }

    private ProxyFault? TakeFault(ProxyRequest request)
    {
        lock (_faultLock)
        {
            for (var i = 0; i < _faults.Count; i++)
            {
                var (when, fault, times) = _faults[i];
                if (when(request))
                {
                    if (times <= 1)
                    {
                        _faults.RemoveAt(i);
                    }
                    else
                    {
                        _faults[i] = (when, fault, times - 1);
                    }

                    return fault;
                }
            }
        }

        return null;
    }

    private async Task HangAsync(HttpContext context)
    {
        using var both = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        try
        {
            await Task.Delay(Timeout.Infinite, both.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private bool CanAccess(string user, string relative, out string full)
    {
        full = Path.GetFullPath(Path.Combine(Root, relative));
        var experiment = relative.Split('/')[0];
        if (!full.StartsWith(Path.GetFullPath(Root) + Path.DirectorySeparatorChar, StringComparison.Ordinal) ||
            !Directory.Exists(Path.Combine(Root, experiment)))
        {
            return false;
        }

        return !SharedWith.TryGetValue(experiment, out var users) || users.Contains(user);
    }

    private async Task ListExperimentsAsync(HttpContext context, string user)
    {
        string? filter = context.Request.Query["filter"];
        if (filter is null && ExperimentsAnswer is { } answer)
        {
            await Text(context, 200, answer, "application/json; charset=utf-8");
            return;
        }

        var list = Directory.EnumerateDirectories(Root)
            .Select(Path.GetFileName)
            .Where(name => (filter is null || name == filter) && CanAccess(user, name!, out _))
            .Select(name => new
            {
                uuid = name,
                name,
                owned = true,
                joinableServers = Array.Empty<object>(),
                configuration = Configuration(name!),
                id = name,
                @private = true,
            })
            .ToArray();
        await Json(context, list);
    }

    /// <summary>As the proxy builds it: its own four keys plus every key of the experiment's simulation_config.json.</summary>
    private Dictionary<string, object?> Configuration(string name)
    {
        var configuration = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["maturity"] = "production",
            ["experimentId"] = name + "/simulation_config.json",
            ["path"] = name,
            ["configFile"] = "simulation_config.json",
        };
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, name, "simulation_config.json")));
            foreach (var property in document.RootElement.EnumerateObject())
            {
                configuration[property.Name] = property.Value.Clone();
            }
        }
        catch (Exception ex) when (ex is IOException or JsonException or InvalidOperationException)
        {
            configuration["SimulationName"] = "Experiment with corrupted simulation_config.json";
        }

        return configuration;
    }

    private async Task ListFolderAsync(HttpContext context, string user, string folder)
    {
        if (!CanAccess(user, folder, out var full))
        {
            await Text(context, 403, "Authentication error");
            return;
        }

        if (!Directory.Exists(full))
        {
            await Text(context, 500, "ENOENT: no such file or directory, scandir '" + full + "'");
            return;
        }

        var entries = new DirectoryInfo(full).EnumerateFileSystemInfos().Select(e => (object)new
        {
            name = e.Name,
            uuid = folder + "/" + e.Name,
            size = e is FileInfo f ? f.Length : 0,
            type = e is DirectoryInfo ? "folder" : "file",
            modifiedOn = e.LastWriteTimeUtc.ToString("O"),
        }).ToList();
        if (ExtraEntries.TryGetValue(folder, out var extra))
        {
            entries.AddRange(extra);
        }

        await Json(context, entries);
    }

    private async Task DownloadAsync(HttpContext context, string user, string relative)
    {
        if (!CanAccess(user, relative, out var full) || !File.Exists(full))
        {
            // The proxy's getFile turns every failure into 204 with no body.
            context.Response.StatusCode = 204;
            return;
        }

        context.Response.ContentType = "text/plain";
        context.Response.Headers.ContentDisposition = "attachment; filename=" + Path.GetFileName(full);
        context.Response.Headers["uuid"] = relative;
        await context.Response.SendFileAsync(full);
    }

    private async Task UploadAsync(HttpContext context, string user, string relative)
    {
        if (!CanAccess(user, relative, out var full))
        {
            await Text(context, 403, "Authentication error");
            return;
        }

        if (context.Request.Query["type"] == "folder")
        {
            Directory.CreateDirectory(full);
            await Json(context, new { uuid = relative, entity_type = "folder", name = Path.GetFileName(full) });
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var append = context.Request.Query["append"] == "true";
        await using (var file = new FileStream(full, append ? FileMode.Append : FileMode.Create))
        {
            await context.Request.Body.CopyToAsync(file);
        }

        context.Response.StatusCode = 200;
    }

    private static async Task Text(HttpContext context, int status, string body, string contentType = "text/html; charset=utf-8")
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        await context.Response.WriteAsync(body);
    }

    private static async Task Json(HttpContext context, object body)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.WriteAsync(JsonSerializer.Serialize(body));
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _stopping.Dispose();
        _temp.Dispose();
    }
}

/// <summary>A request as the proxy saw it (raw path, so <c>%2F</c> is visible).</summary>
public sealed record ProxyRequest(string Method, string RawPath, string Query, string? Authorization, string? ContextId, string? ContentType);

public enum ProxyFaultKind
{
    Status,
    Drop,
    Hang,
}

public sealed record ProxyFault(ProxyFaultKind Kind, int Status = 0)
{
    public static ProxyFault WithStatus(int status) => new(ProxyFaultKind.Status, status);

    public static ProxyFault DropConnection { get; } = new(ProxyFaultKind.Drop);

    public static ProxyFault HangForever { get; } = new(ProxyFaultKind.Hang);
}
