using System.Text.Json;
using NrpHost.Tests.Infrastructure;
using NrpHost.Tests.Storage;

namespace NrpHost.Tests.Api;

public sealed class StorageHealthCheckTests
{
    [Fact]
    public async Task Health_WithAProxyThatAnswers_ReportsStorageHealthy()
    {
        await using var proxy = await FakeStorageProxy.StartAsync();
        await using var host = await ApiHost.StartAsync(settings: s => s["NrpHost:Storage:ProxyUrl"] = proxy.Url);

        var storage = await StorageCheckAsync(host);

        Assert.Equal("healthy", storage.GetProperty("status").GetString());
        Assert.Contains("answers", storage.GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_WithAHungProxy_ReportsStorageDegradedWithinTheProbeTimeout()
    {
        await using var proxy = await FakeStorageProxy.StartAsync();
        proxy.HangAll = true;
        await using var host = await ApiHost.StartAsync(settings: s => s["NrpHost:Storage:ProxyUrl"] = proxy.Url);

        var storage = await StorageCheckAsync(host);

        Assert.Equal("degraded", storage.GetProperty("status").GetString());
        Assert.Contains("did not answer within 2 s", storage.GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    private static async Task<JsonElement> StorageCheckAsync(ApiHost host)
    {
        var response = await host.GetAsync("/health");
        Assert.Equal(200, response.Code);
        using var body = JsonDocument.Parse(response.Text);
        return body.RootElement.GetProperty("checks").GetProperty("storage").Clone();
    }
}
