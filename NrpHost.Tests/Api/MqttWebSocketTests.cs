using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MQTTnet;
using NrpHost.Api;
using NrpHost.Tests.Infrastructure;
using NrpHost.Tests.Messaging;

namespace NrpHost.Tests.Api;

/// <summary>MQTT over WebSocket on the API's own port (Kestrel on loopback), served by the embedded broker.</summary>
public sealed class MqttWebSocketTests : IAsyncLifetime
{
    private readonly int _brokerPort = FreePort.Next();
    private WebApplication _app = null!;
    private string _baseAddress = null!;

    public async Task InitializeAsync()
    {
        _app = NrpHostApi.Build(["--contentRoot", AppContext.BaseDirectory], builder =>
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["NrpHost:Mqtt:EmbeddedPort"] = _brokerPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["NrpHost:Mqtt:Prefix"] = "ws_test",
            });
        });
        await _app.StartAsync();
        _baseAddress = _app.Urls.First();
    }

    public async Task DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    [Theory]
    [InlineData("/mqtt")]
    [InlineData("")]
    public async Task WebSocketSubscriber_ReceivesWhatIsPublishedOverTcp(string path)
    {
        var ws = _baseAddress.Replace("http://", "ws://", StringComparison.Ordinal) + path;
        await using var browser = await MqttRecorder.ConnectWebSocketAsync(ws);
        using var tcp = new MqttClientFactory().CreateMqttClient();
        await tcp.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", _brokerPort).Build());

        await tcp.PublishStringAsync("ws_test/nrp_simulation/7/data", """[{"topic":"ws_test/nrp_simulation/7/data/x","type":"y"}]""");

        var message = await browser.WaitForAsync("ws_test/nrp_simulation/7/data", _ => true);
        Assert.StartsWith("[{", message.Payload, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_ReportsTheConnectedPublisherAndTheEmbeddedBroker()
    {
        using var http = new HttpClient { BaseAddress = new Uri(_baseAddress) };
        var mqtt = default(JsonElement);
        await Eventually.TrueAsync(
            async () => (mqtt = (await http.GetFromJsonAsync<JsonElement>("/health")).GetProperty("mqtt")).GetProperty("connected").GetBoolean(),
            () => "the publisher did not connect: " + mqtt);

        Assert.True(mqtt.GetProperty("embedded").GetBoolean());
        Assert.Equal($"127.0.0.1:{_brokerPort}", mqtt.GetProperty("broker").GetString());
    }

    [Fact]
    public async Task OrdinaryRequests_AtTheRoot_AreNotTakenByTheBroker()
    {
        using var http = new HttpClient { BaseAddress = new Uri(_baseAddress) };

        var response = await http.GetAsync("/");

        // The dashboard's page, not the broker.
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
    }
}
