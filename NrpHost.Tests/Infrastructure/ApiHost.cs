using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NrpHost.Api;
using NrpHost.Simulation;

namespace NrpHost.Tests.Infrastructure;

/// <summary>
/// The real NrpHost API (<see cref="NrpHostApi.Build"/>) on Kestrel at <c>http://127.0.0.1:0</c>, over a temporary
/// storage root and work directory, with the fake nrp-core client (as <see cref="CoreHost"/> configures it), logging into
/// a log of its own.
/// </summary>
public sealed class ApiHost : IAsyncDisposable
{
    private readonly TempDirectory _temp = new("api");
    private WebApplication? _app;

    private ApiHost()
    {
        Directory.CreateDirectory(StorageRoot);
    }

    public string StorageRoot => _temp.Combine("experiments");

    public string WorkDirectory => _temp.Combine("work");

    public Uri BaseAddress { get; private set; } = null!;

    public HttpClient Client { get; private set; } = null!;

    public IServiceProvider Services => _app!.Services;

    public ISimulationManager Manager => Services.GetRequiredService<ISimulationManager>();

    /// <summary>Everything this host logged.</summary>
    public CapturingLoggerProvider Logs { get; } = new();

    /// <summary>Starts the API. <paramref name="settings"/> adds or overrides configuration; <paramref name="services"/> registers test doubles.</summary>
    public static async Task<ApiHost> StartAsync(
        Action<Dictionary<string, string?>>? settings = null,
        Action<IServiceCollection>? services = null)
    {
        var host = new ApiHost();
        var values = new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["NrpHost:Storage:LocalRoot"] = host.StorageRoot,
            ["NrpHost:Simulation:WorkDirectory"] = host.WorkDirectory,
            ["NrpHost:NrpCore:Mode"] = "External",
            ["NrpHost:NrpCore:Client"] = "fake_nrp_client:NrpCore",
            ["NrpHost:NrpCore:PythonPath:0"] = Path.Combine(AppContext.BaseDirectory, "Simulation", "python"),
            ["NrpHost:Mqtt:EmbeddedPort"] = Messaging.FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),

            // No worker started ahead for a host that may never run a simulation; the tests of the hand-out turn it on.
            ["NrpHost:Simulation:Worker:WarmSpare"] = "false",
        };
        settings?.Invoke(values);
        try
        {
            // The content root is named: the current directory is process-wide, and a test's in-process simulation may
            // be in (and then remove) a folder of its own at this moment.
            host._app = NrpHostApi.Build(["--contentRoot", AppContext.BaseDirectory], builder =>
            {
                builder.Configuration.AddInMemoryCollection(values);
                builder.WebHost.UseUrls(values["Urls"]!);
                builder.Logging.ClearProviders();
                builder.Logging.AddProvider(host.Logs);
                services?.Invoke(builder.Services);
            });
            await host._app.StartAsync();
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }

        var address = new UriBuilder(host._app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
        if (address.Host is "0.0.0.0" or "[::]")
        {
            address.Host = "127.0.0.1"; // listening on every interface: talk to it over loopback
        }

        host.BaseAddress = address.Uri;
        host.Client = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        return host;
    }

    public ExperimentBuilder Experiment(string name = "exp") => new(StorageRoot, name);

    /// <summary>A long-running experiment: the script steps until stopped.</summary>
    public ExperimentBuilder LongExperiment(string name = "exp") =>
        Experiment(name).WithConfig(timeout: 100_000).WithFakeClient("step_seconds", 0.001);

    public async Task<JsonElement> CreateAsync(string experiment = "exp", string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/simulation")
        {
            Content = JsonContent.Create(new { experimentID = experiment }),
        };
        if (token is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, $"create: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>Sends a request with a raw body (sent as <c>application/json</c> unless <paramref name="contentType"/> says otherwise).</summary>
    public async Task<ApiResponse> SendAsync(
        HttpMethod method, string path, string? body = null, string? token = null, string contentType = "application/json",
        Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body);
            request.Content.Headers.ContentType = contentType.Length == 0 ? null : System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        }

        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        }

        configure?.Invoke(request);
        using var response = await Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return new ApiResponse(response.StatusCode, response.Content.Headers.ContentType?.MediaType, text, response.Headers.Location?.OriginalString,
            response.Headers.Concat(response.Content.Headers).ToDictionary(h => h.Key, h => string.Join(", ", h.Value), StringComparer.OrdinalIgnoreCase));
    }

    public Task<ApiResponse> GetAsync(string path, string? token = null) => SendAsync(HttpMethod.Get, path, token: token);

    public Task<ApiResponse> PutStateAsync(int id, string state, string? token = null) =>
        SendAsync(HttpMethod.Put, $"/simulation/{id}/state", JsonSerializer.Serialize(new { state }), token);

    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        _temp.Dispose();
    }
}

/// <summary>A response, read.</summary>
public sealed record ApiResponse(
    System.Net.HttpStatusCode Status, string? MediaType, string Text, string? Location, IReadOnlyDictionary<string, string> Headers)
{
    public int Code => (int)Status;

    public JsonElement Json => JsonDocument.Parse(Text).RootElement.Clone();

    /// <summary>Asserts an NRP error body: JSON, exactly message/type/data, with this status (and message and type when given).</summary>
    public JsonElement AssertNrpError(int status, string? message = null, string? type = null)
    {
        Assert.True(Code == status, $"expected {status}, got {Code}: {Text}");
        Assert.Equal("application/json", MediaType);
        var json = Json;
        Assert.Equal(JsonValueKind.Object, json.ValueKind);
        Assert.Equal(["data", "message", "type"], json.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(JsonValueKind.String, json.GetProperty("message").ValueKind);
        if (message is not null)
        {
            Assert.Equal(message, json.GetProperty("message").GetString());
        }

        if (type is not null)
        {
            Assert.Equal(type, json.GetProperty("type").GetString());
        }

        return json;
    }
}
