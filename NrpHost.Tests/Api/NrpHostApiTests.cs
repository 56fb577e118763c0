using System.Text.Json;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Api;

/// <summary>The application around the routes: CORS, OPTIONS, OpenAPI, health, version.</summary>
public sealed class NrpHostApiTests
{
    [Theory]
    [InlineData(new string[0], "http://localhost:8090")]
    [InlineData(new[] { "--urls=http://127.0.0.1:5123" }, "http://127.0.0.1:5123")]
    [InlineData(new[] { "--Urls=http://127.0.0.1:5124" }, "http://127.0.0.1:5124")]
    public async Task Build_ListensOnTheNrpPortUnlessTold(string[] args, string expected)
    {
        await using var app = NrpHost.Api.NrpHostApi.Build([.. args, "--contentRoot", AppContext.BaseDirectory]);

        Assert.Equal(expected, app.Configuration["urls"]);
    }

    [Fact]
    public async Task Preflight_FromTheFrontend_Returns204WithCorsHeaders() // B03
    {
        await using var host = await ApiHost.StartAsync();

        var response = await host.SendAsync(HttpMethod.Options, "/simulation", configure: r =>
        {
            r.Headers.Add("Origin", "http://localhost:3000");
            r.Headers.Add("Access-Control-Request-Method", "POST");
            r.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
        });

        Assert.Equal(204, response.Code);
        Assert.Equal("http://localhost:3000", response.Headers["Access-Control-Allow-Origin"]);
        var methods = response.Headers["Access-Control-Allow-Methods"];
        Assert.All(new[] { "GET", "POST", "PUT", "OPTIONS" }, m => Assert.Contains(m, methods, StringComparison.Ordinal));
        var headers = response.Headers["Access-Control-Allow-Headers"].ToLowerInvariant();
        Assert.Contains("authorization", headers, StringComparison.Ordinal);
        Assert.Contains("content-type", headers, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Preflight_ForAnIdRoute_Returns204()
    {
        await using var host = await ApiHost.StartAsync();

        var response = await host.SendAsync(HttpMethod.Options, "/simulation/0/state", configure: r =>
        {
            r.Headers.Add("Origin", "http://localhost:3000");
            r.Headers.Add("Access-Control-Request-Method", "PUT");
        });

        Assert.Equal(204, response.Code);
        Assert.Equal("http://localhost:3000", response.Headers["Access-Control-Allow-Origin"]);
    }

    [Fact]
    public async Task Cors_WithConfiguredOrigins_EchoesListedOnesOnly() // reliability A10
    {
        await using var host = await ApiHost.StartAsync(s => s["NrpHost:Api:CorsOrigins:0"] = "http://frontend.example");

        var listed = await Preflight(host, "http://frontend.example");
        var unlisted = await Preflight(host, "http://evil.example");
        var simple = await host.SendAsync(HttpMethod.Get, "/simulation", configure: r => r.Headers.Add("Origin", "http://frontend.example"));

        Assert.Equal("http://frontend.example", listed.Headers["Access-Control-Allow-Origin"]);
        Assert.False(unlisted.Headers.ContainsKey("Access-Control-Allow-Origin"));
        Assert.False(listed.Headers.ContainsKey("Access-Control-Allow-Credentials"));
        Assert.Equal("http://frontend.example", simple.Headers["Access-Control-Allow-Origin"]);
    }

    [Fact]
    public async Task Cors_OnAnErrorResponse_StillCarriesTheOrigin()
    {
        await using var host = await ApiHost.StartAsync();

        var response = await host.SendAsync(HttpMethod.Get, "/simulation/42", configure: r => r.Headers.Add("Origin", "http://localhost:3000"));

        response.AssertNrpError(404);
        Assert.Equal("http://localhost:3000", response.Headers["Access-Control-Allow-Origin"]);
    }

    [Fact]
    public async Task Options_WithoutPreflightHeaders_Returns204()
    {
        await using var host = await ApiHost.StartAsync();

        var response = await host.SendAsync(HttpMethod.Options, "/simulation");

        Assert.Equal(204, response.Code);
    }

    [Fact]
    public async Task OpenApi_DescribesEveryRouteWithItsStatusCodes()
    {
        await using var host = await ApiHost.StartAsync();

        var response = await host.GetAsync("/openapi/v1.json");

        Assert.Equal(200, response.Code);
        var paths = response.Json.GetProperty("paths");
        AssertCodes(paths, "/simulation", "post", "201", "400", "401", "403", "404", "409", "413", "422", "500", "502", "503");
        AssertCodes(paths, "/simulation", "get", "200");
        AssertCodes(paths, "/simulation/{id}", "get", "200", "401", "403", "404");
        AssertCodes(paths, "/simulation/{id}/state", "get", "200", "401", "403", "404");
        AssertCodes(paths, "/simulation/{id}/state", "put", "200", "400", "401", "403", "404", "413", "500", "502");
        AssertCodes(paths, "/version", "get", "200");
        AssertCodes(paths, "/health", "get", "200", "503");
        Assert.True(paths.GetProperty("/simulation").GetProperty("post").TryGetProperty("requestBody", out _));
        Assert.True(paths.GetProperty("/simulation/{id}/state").GetProperty("put").TryGetProperty("requestBody", out _));
    }

    [Fact]
    public async Task Health_ReportsPythonAndStorage()
    {
        await using var host = await ApiHost.StartAsync();

        var response = await host.GetAsync("/health");

        Assert.True(200 == response.Code, response.Text);
        Assert.Equal("healthy", response.Json.GetProperty("status").GetString());
        // The server's simulations run in worker processes, so its own interpreter is found but not loaded; other tests in
        // this process may have loaded it.
        var python = response.Json.GetProperty("python");
        Assert.Contains(python.GetProperty("state").GetString(), new[] { "available", "ready" });
        Assert.StartsWith("libpython3", python.GetProperty("library").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, python.GetProperty("error").ValueKind);
        var storage = response.Json.GetProperty("checks").GetProperty("storage");
        Assert.Equal("healthy", storage.GetProperty("status").GetString());
        Assert.Contains(Path.GetFileName(host.StorageRoot), storage.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(host.StorageRoot, response.Text, StringComparison.Ordinal); // no host path in /health
    }

    [Fact]
    public async Task Health_WhenTheExperimentsFolderIsMissing_Returns503()
    {
        await using var host = await ApiHost.StartAsync(s => s["NrpHost:Storage:LocalRoot"] = Path.Combine(Path.GetTempPath(), "nrphost-missing-" + Guid.NewGuid().ToString("N")));

        var response = await host.GetAsync("/health");

        Assert.Equal(503, response.Code);
        Assert.Equal("unhealthy", response.Json.GetProperty("checks").GetProperty("storage").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Version_ReturnsBothPackageKeys_AndTheHostThatAnswered()
    {
        await using var host = await ApiHost.StartAsync(s => s["NrpHost:HostId"] = "lab host/2");

        var response = await host.GetAsync("/version");

        Assert.Equal(200, response.Code);
        Assert.Equal(["hbp_nrp_backend", "hbp_nrp_simserver", "hostId"], response.Json.EnumerateObject().Select(p => p.Name));
        Assert.Equal("lab-host-2", response.Json.GetProperty("hostId").GetString());
    }

    private static Task<ApiResponse> Preflight(ApiHost host, string origin) =>
        host.SendAsync(HttpMethod.Options, "/simulation", configure: r =>
        {
            r.Headers.Add("Origin", origin);
            r.Headers.Add("Access-Control-Request-Method", "POST");
        });

    private static void AssertCodes(JsonElement paths, string path, string method, params string[] codes)
    {
        Assert.True(paths.TryGetProperty(path, out var item), $"{path} missing");
        Assert.True(item.TryGetProperty(method, out var operation), $"{method.ToUpperInvariant()} {path} missing");
        var documented = operation.GetProperty("responses").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(codes.Order(StringComparer.Ordinal), documented);
    }
}
