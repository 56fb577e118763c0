using System.Net;
using System.Text.Json;
using NrpHost.Tests.Infrastructure;
using NrpHost.Tests.Storage;

namespace NrpHost.Tests.Api;

/// <summary><c>GET /experiments</c> over real HTTP, with local storage and with the NRP Storage Proxy (a stand-in).</summary>
public sealed class ExperimentEndpointsTests
{
    private static string[] Ids(ApiResponse response) =>
        response.Json.EnumerateArray().Select(e => e.GetProperty("id").GetString()!).ToArray();

    [Fact]
    public async Task List_WithLocalStorage_IsOpenToAnyone_AndEachExperimentCanBeLaunchedById()
    {
        await using var host = await ApiHost.StartAsync();
        host.Experiment("exp_b").WithConfig(raw: """{"SimulationName": "B", "SimulationDescription": "The second.", "EngineConfigs": []}""").Build();
        host.LongExperiment("exp_a").WithFile("fast_config.json", """{"SimulationTimeout": 1, "EngineConfigs": []}""").Build();

        var response = await host.GetAsync("/experiments");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("application/json", response.MediaType);
        Assert.Equal(["exp_a", "exp_b"], Ids(response));
        var b = response.Json[1];
        Assert.Equal(["configurations", "description", "id", "name"], b.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal("B", b.GetProperty("name").GetString());
        Assert.Equal("The second.", b.GetProperty("description").GetString());
        var a = response.Json[0];
        Assert.Equal(["simulation_config.json", "fast_config.json"], a.GetProperty("configurations").EnumerateArray().Select(c => c.GetString()));

        // What the list says is what POST /simulation takes.
        var created = await host.SendAsync(HttpMethod.Post, "/simulation", JsonSerializer.Serialize(new
        {
            experimentID = a.GetProperty("id").GetString(),
            experimentConfiguration = a.GetProperty("configurations")[1].GetString(),
        }));
        Assert.Equal(HttpStatusCode.Created, created.Status);
        Assert.Equal("fast_config.json", created.Json.GetProperty("experimentConfiguration").GetString());
    }

    [Fact]
    public async Task List_WithTheStorageProxy_IsWhatTheCallersTokenMaySee()
    {
        await using var proxy = await FakeStorageProxy.StartAsync();
        proxy.Experiment("mine").WithConfig(raw: """{"SimulationName": "Mine", "EngineConfigs": []}""").Build();
        proxy.Experiment("bobs").Build();
        proxy.Users["token-of-bob"] = "bob";
        proxy.SharedWith["mine"] = [FakeStorageProxy.User];
        proxy.SharedWith["bobs"] = ["bob"];
        await using var host = await ApiHost.StartAsync(s => s["NrpHost:Storage:ProxyUrl"] = proxy.Url);

        var mine = await host.GetAsync("/experiments", FakeStorageProxy.Token);
        var bobs = await host.GetAsync("/experiments", "token-of-bob");

        Assert.Equal(["mine"], Ids(mine));
        Assert.Equal("Mine", mine.Json[0].GetProperty("name").GetString());
        Assert.Equal(["bobs"], Ids(bobs));
        Assert.All(proxy.RequestsTo("GET", "/storage/experiments"), r => Assert.StartsWith("Bearer token-of-", r.Authorization, StringComparison.Ordinal));
    }

    [Fact]
    public async Task List_WithTheStorageProxy_NeedsAToken_ThatTheProxyAccepts()
    {
        await using var proxy = await FakeStorageProxy.StartAsync();
        proxy.Experiment("exp").Build();
        await using var host = await ApiHost.StartAsync(s => s["NrpHost:Storage:ProxyUrl"] = proxy.Url);

        var withoutToken = await host.GetAsync("/experiments");
        var askedWithoutToken = proxy.RequestsTo("GET", "/storage/experiments");
        var unknownToken = await host.GetAsync("/experiments", "not-a-token");

        withoutToken.AssertNrpError(401, type: "Client error");
        Assert.Empty(askedWithoutToken);
        var body = unknownToken.AssertNrpError(401, "The credentials were not accepted by the NRP Storage Proxy", "Client error");
        Assert.Contains("477", body.GetProperty("data").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_WhenAListedFileCannotBeDownloaded_Is502NamingTheFile_AndTheFailureIsReported()
    {
        await using var proxy = await FakeStorageProxy.StartAsync();
        proxy.Experiment("exp").Build();
        proxy.ExtraEntries["exp"] = [new { name = "ghost.sdf", uuid = "exp/ghost.sdf", size = 3, type = "file" }];
        await using var host = await ApiHost.StartAsync(s => s["NrpHost:Storage:ProxyUrl"] = proxy.Url);

        var response = await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID": "exp"}""", FakeStorageProxy.Token);

        var body = response.AssertNrpError(502, type: "Server Error");
        var message = body.GetProperty("message").GetString()!;
        Assert.Contains("'ghost.sdf'", message, StringComparison.Ordinal);
        Assert.Contains("listed by the storage proxy but could not be downloaded", message, StringComparison.Ordinal);
        Assert.DoesNotContain("not found", message, StringComparison.OrdinalIgnoreCase);

        // The experiment exists, so this is a failed simulation like any other: listed as failed, its log archived.
        var list = (await host.GetAsync("/simulation", FakeStorageProxy.Token)).Json;
        Assert.Equal("failed", Assert.Single(list.EnumerateArray()).GetProperty("state").GetString());
    }

    [Theory]
    [InlineData(500)]
    [InlineData(404)]
    public async Task List_WhenTheStorageProxyFails_Is502NamingIt(int status)
    {
        await using var proxy = await FakeStorageProxy.StartAsync();
        await using var host = await ApiHost.StartAsync(s =>
        {
            s["NrpHost:Storage:ProxyUrl"] = proxy.Url;
            s["NrpHost:Storage:RetryDelayMilliseconds"] = "10";
        });
        proxy.Inject(ProxyFault.WithStatus(status), r => r.RawPath == "/storage/experiments", times: 10);

        var response = await host.GetAsync("/experiments", FakeStorageProxy.Token);

        var body = response.AssertNrpError(502, type: "Server Error");
        Assert.Contains("NRP Storage Proxy", body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains(status.ToString(System.Globalization.CultureInfo.InvariantCulture), body.GetProperty("data").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenApi_DescribesTheExperimentsListAndTheEventsStream()
    {
        await using var host = await ApiHost.StartAsync();

        var document = (await host.GetAsync("/openapi/v1.json")).Json;

        var paths = document.GetProperty("paths");
        var list = paths.GetProperty("/experiments").GetProperty("get").GetProperty("responses");
        Assert.True(list.TryGetProperty("200", out _));
        Assert.True(list.TryGetProperty("401", out _));
        Assert.True(list.TryGetProperty("502", out _));
        var events = paths.GetProperty("/simulation/{id}/events").GetProperty("get").GetProperty("responses");
        Assert.True(events.GetProperty("200").GetProperty("content").TryGetProperty("text/event-stream", out _));
        Assert.True(events.TryGetProperty("404", out _));
        Assert.True(events.TryGetProperty("403", out _));
        Assert.False(paths.TryGetProperty("/", out _));
    }
}
