using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NrpHost.Api;
using NrpHost.Messaging;
using NrpHost.Tests.Infrastructure;
using NrpHost.Tests.Messaging;

namespace NrpHost.Tests.Api;

/// <summary>
/// The API host and its MQTT as a deployment sees them: a late browser over WebSocket, a foreign broker on the
/// embedded port, two hosts sharing one Mosquitto, and what the logs and <c>/health</c> say.
/// </summary>
public sealed class MqttHostTests
{
    [Fact]
    public async Task BrowserThatSubscribesAfterThe201_GetsPausedAtOnce_AsTheRetainedMessage()
    {
        await using var host = await ApiHost.StartAsync(s => s["NrpHost:Mqtt:Prefix"] = "late");
        host.Experiment().Build();
        var ws = host.BaseAddress.ToString().Replace("http://", "ws://", StringComparison.Ordinal);
        await using var early = await MqttRecorder.ConnectWebSocketAsync(ws);

        var created = await host.CreateAsync(); // 201, paused
        var status = $"late/nrp_simulation/{created.GetProperty("simulationID").GetInt32()}/status";
        await early.WaitForAsync(status, m => m.State == "paused"); // the broker has it now
        await using var late = await MqttRecorder.ConnectWebSocketAsync(ws);
        var first = await late.WaitForAsync(status, _ => true, timeout: TimeSpan.FromSeconds(5));

        Assert.True(first.Retained, "a browser that joins after the 201 gets the state the broker kept, not the next periodic one");
        Assert.Equal("paused", first.State);
    }

    [Fact]
    public async Task ForeignBrokerOnTheEmbeddedPort_IsReported_AndNeverUsed()
    {
        await using var mosquitto = await MosquittoBroker.StartAsync();
        await using var host = await ApiHost.StartAsync(s => s["NrpHost:Mqtt:EmbeddedPort"] = mosquitto.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var publisher = host.Services.GetRequiredService<IMessagingHealth>();
        var inUse = $"port {mosquitto.Port} is in use by another process";

        var health = (await host.GetAsync("/health")).Json;
        var (upgrade, body) = await OriginPolicyTests.RawUpgradeAsync(host.BaseAddress, "/mqtt", origin: null);

        Assert.Equal("degraded", health.GetProperty("status").GetString());
        var check = health.GetProperty("checks").GetProperty("mqtt");
        Assert.Equal("degraded", check.GetProperty("status").GetString());
        Assert.Contains(inUse, check.GetProperty("description").GetString(), StringComparison.Ordinal);
        var mqtt = health.GetProperty("mqtt");
        Assert.True(mqtt.GetProperty("embedded").GetBoolean());
        Assert.False(mqtt.GetProperty("embeddedRunning").GetBoolean());
        Assert.False(mqtt.GetProperty("connected").GetBoolean());
        Assert.Contains(inUse, mqtt.GetProperty("problem").GetString(), StringComparison.Ordinal);
        Assert.Equal(503, upgrade);
        Assert.Contains(inUse, body, StringComparison.Ordinal);

        // The start-up log says how to fix it.
        var error = await host.Logs.WaitForAsync(e => e.Level == LogLevel.Error && e.Message.Contains(inUse, StringComparison.Ordinal));
        Assert.Contains("NrpHost:Mqtt:EmbeddedPort", error.Message, StringComparison.Ordinal);
        Assert.Contains($"NrpHost:Mqtt:Broker to 127.0.0.1:{mosquitto.Port}", error.Message, StringComparison.Ordinal);

        // The publisher tried, and never connected to the other broker.
        await host.Logs.WaitForAsync(e => e.Message.Contains($"cannot reach 127.0.0.1:{mosquitto.Port} (the embedded broker is not running", StringComparison.Ordinal));
        var clientId = host.Services.GetRequiredService<MqttStatusPublisher>().ClientId;
        Assert.DoesNotContain(clientId, mosquitto.Output, StringComparison.Ordinal);
        Assert.False(publisher.IsConnected);
    }

    [Fact]
    public async Task TwoHostsOnOneEmbeddedPort_TheSecondSaysThePortIsInUse_AndTheFirstKeepsIt()
    {
        var port = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using var first = await ApiHost.StartAsync(s => s["NrpHost:Mqtt:EmbeddedPort"] = port);
        await using var second = await ApiHost.StartAsync(s => s["NrpHost:Mqtt:EmbeddedPort"] = port);
        var inUse = $"port {port} is in use by another process";

        var secondHealth = (await second.GetAsync("/health")).Json;
        Assert.Equal("degraded", secondHealth.GetProperty("checks").GetProperty("mqtt").GetProperty("status").GetString());
        Assert.False(secondHealth.GetProperty("mqtt").GetProperty("embeddedRunning").GetBoolean());
        Assert.Contains(inUse, secondHealth.GetProperty("mqtt").GetProperty("problem").GetString(), StringComparison.Ordinal);

        // Only the first listens there, and its subscribers get all of its status.
        Assert.True(first.Services.GetRequiredService<global::NrpHost.Messaging.EmbeddedMqttBroker>().IsRunning);
        first.Experiment().Build();
        await using var subscriber = await MqttRecorder.ConnectTcpAsync(int.Parse(port, System.Globalization.CultureInfo.InvariantCulture));
        var created = await first.CreateAsync();
        await subscriber.WaitForAsync($"nrp_simulation/{created.GetProperty("simulationID").GetInt32()}/status", m => m.State == "paused");
    }

    [Fact]
    public async Task AConnectionThatNeverSendsConnect_IsClosedByTheEmbeddedBroker()
    {
        var port = FreePort.Next();
        await using var host = await ApiHost.StartAsync(s =>
        {
            s["NrpHost:Mqtt:EmbeddedPort"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            s["NrpHost:Mqtt:EmbeddedConnectTimeoutSeconds"] = "1";
        });
        using var idle = new System.Net.Sockets.TcpClient();
        await idle.ConnectAsync(System.Net.IPAddress.Loopback, port);

        // It sends nothing; the broker closes the connection (a read returns 0 bytes) instead of holding it forever.
        var buffer = new byte[16];
        var read = await idle.GetStream().ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, read);
    }

    [Fact]
    public async Task TwoHostsOnOneMosquitto_WithDistinctPrefixes_DoNotCrossTalk()
    {
        await using var mosquitto = await MosquittoBroker.StartAsync();
        await using var a = await ApiHost.StartAsync(s => Shared(s, "labA"));
        await using var b = await ApiHost.StartAsync(s => Shared(s, "labB"));
        await using var recorder = await MqttRecorder.ConnectTcpAsync(mosquitto.Port);
        a.LongExperiment().Build();
        b.Experiment().Build();

        var idA = (await a.CreateAsync()).GetProperty("simulationID").GetInt32();
        var idB = (await b.CreateAsync()).GetProperty("simulationID").GetInt32();
        Assert.Equal(idA, idB); // ids start at 0 in every host: only the prefix tells them apart
        await a.PutStateAsync(idA, "started");

        // Several periodic messages of each.
        var mark = 0L;
        for (var i = 0; i < 3; i++)
        {
            mark = (await recorder.WaitForAsync($"labA/nrp_simulation/{idA}/status", m => m.State == "started", mark)).Sequence;
        }

        await recorder.WaitForAsync($"labB/nrp_simulation/{idB}/status", m => m.State == "paused", mark);
        Assert.All(recorder.Messages, m => Assert.True(m.Topic.StartsWith("labA/", StringComparison.Ordinal) || m.Topic.StartsWith("labB/", StringComparison.Ordinal), m.Topic));
        Assert.DoesNotContain(recorder.Messages, m => m.Topic.StartsWith("labB/", StringComparison.Ordinal) && m.State is "started");

        var idOfA = a.Services.GetRequiredService<MqttStatusPublisher>().ClientId;
        var idOfB = b.Services.GetRequiredService<MqttStatusPublisher>().ClientId;
        Assert.NotEqual(idOfA, idOfB);
        Assert.StartsWith($"nrphost_{HostIdOf(a)}_", idOfA, StringComparison.Ordinal);
        Assert.StartsWith($"nrphost_{HostIdOf(b)}_", idOfB, StringComparison.Ordinal);
        Assert.DoesNotContain("already connected", mosquitto.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(a.Logs.Entries.Concat(b.Logs.Entries), e => e.Message.Contains("NrpHost:Mqtt:Prefix is set empty", StringComparison.Ordinal) && e.Message.Contains(mosquitto.Address, StringComparison.Ordinal));
        await a.PutStateAsync(idA, "stopped");

        void Shared(Dictionary<string, string?> settings, string prefix)
        {
            settings["NrpHost:Mqtt:Broker"] = mosquitto.Address;
            settings["NrpHost:Mqtt:Prefix"] = prefix;
        }

        static string HostIdOf(ApiHost host) =>
            host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<global::NrpHost.Hosting.HostIdentityOptions>>().Value.HostId!;
    }

    [Fact]
    public async Task FailingHealthCheck_LogsOneLinePerChangeOfState_NotOnePerProbe()
    {
        await using var host = await ApiHost.StartAsync(s => s["NrpHost:Storage:LocalRoot"] = Path.Combine(Path.GetTempPath(), "nrphost-later-" + Guid.NewGuid().ToString("N")));
        var root = host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<global::NrpHost.Storage.LocalStorageOptions>>().Value.LocalRoot!;
        bool AboutThisRoot(CapturingLoggerProvider.LogEntry e) => e.Category.EndsWith("HealthChangeLog", StringComparison.Ordinal) && e.Message.Contains(root, StringComparison.Ordinal);

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(503, (await host.GetAsync("/health")).Code);
        }

        Directory.CreateDirectory(root);
        try
        {
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal(200, (await host.GetAsync("/health")).Code);
            }
        }
        finally
        {
            Directory.Delete(root);
        }

        var lines = host.Logs.Entries.Where(AboutThisRoot).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Equal(LogLevel.Warning, lines[0].Level);
        Assert.Contains("storage is now unhealthy", lines[0].Message, StringComparison.Ordinal);
        Assert.Equal(LogLevel.Information, lines[1].Level);
        Assert.Contains("storage is healthy again", lines[1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ShippedSettings_KeepHttpClientAndHealthCheckChatterOutOfTheLog()
    {
        await using var app = NrpHostApi.Build(["--contentRoot", AppContext.BaseDirectory]);
        var loggers = app.Services.GetRequiredService<ILoggerFactory>();

        var http = loggers.CreateLogger("System.Net.Http.HttpClient.StorageProxy.LogicalHandler");
        var health = loggers.CreateLogger("Microsoft.Extensions.Diagnostics.HealthChecks.DefaultHealthCheckService");
        var retries = loggers.CreateLogger("Polly");
        var ours = loggers.CreateLogger("NrpHost.Api.Http.HealthChangeLog");

        Assert.False(http.IsEnabled(LogLevel.Information));
        Assert.True(http.IsEnabled(LogLevel.Warning));
        Assert.False(health.IsEnabled(LogLevel.Error));
        Assert.False(retries.IsEnabled(LogLevel.Error)); // a stack trace per retry while the proxy is down
        Assert.True(ours.IsEnabled(LogLevel.Information));
    }
}
