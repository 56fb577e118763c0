using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using NrpHost.Messaging;
using NrpHost.Simulation;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Messaging;

/// <summary>
/// The embedded broker behaves like Mosquitto for subscribers and keeps the host's topics to the host: real clients
/// (mosquitto_sub, MQTTnet over MQTT 3.1.1 and 5) against the broker and the status publisher of a Core host.
/// </summary>
[Collection(PythonCollection.Name)]
public sealed class EmbeddedBrokerPolicyTests
{
    private const string Prefix = "policy";

    [Theory]
    [InlineData("mqttv311")]
    [InlineData("mqttv5")]
    public async Task MosquittoSub_WithoutClientId_ReceivesStatus(string protocol)
    {
        await using var rig = await MqttStatusRig.StartAsync(BrokerKind.Embedded, Prefix);
        rig.Host.Experiment().Build();
        var sim = await rig.Host.CreatePausedAsync();
        await rig.Recorder.WaitForAsync(rig.Topic(sim.Id, "status"), m => m.State == "paused");

        // The first command most people type: no -i, so mosquitto_sub sends an empty client id.
        var output = await RunAsync("/usr/bin/mosquitto_sub", "-h", "127.0.0.1", "-p", rig.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-V", protocol, "-t", $"{Prefix}/#", "-v", "-C", "1", "-W", "20");

        Assert.StartsWith(rig.Topic(sim.Id, "status") + " {", output, StringComparison.Ordinal);
        Assert.Contains("\"state\":\"paused\"", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mqtt5Client_WithoutClientId_IsAssignedOne()
    {
        await using var rig = await MqttStatusRig.StartAsync(BrokerKind.Embedded, Prefix);
        using var client = new MqttClientFactory().CreateMqttClient();

        var result = await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", rig.Port)
            .WithProtocolVersion(MqttProtocolVersion.V500).WithClientId(string.Empty).Build());

        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        Assert.StartsWith("auto-", result.AssignedClientIdentifier, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mqtt311Client_WithoutClientId_AndAPersistentSession_IsRefusedAndLogged()
    {
        await using var rig = await MqttStatusRig.StartAsync(BrokerKind.Embedded, Prefix);
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, rig.Port);
        var stream = tcp.GetStream();

        // CONNECT, MQTT 3.1.1, clean session off, keep-alive 60 s, zero-length client id (client libraries refuse to send it).
        await stream.WriteAsync(new byte[] { 0x10, 0x0C, 0x00, 0x04, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 0x04, 0x00, 0x00, 0x3C, 0x00, 0x00 });
        var connack = new byte[4];
        await stream.ReadExactlyAsync(connack).AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(new byte[] { 0x20, 0x02, 0x00, 0x02 }, connack); // CONNACK: identifier rejected
        await rig.Host.Logs.WaitForAsync(e => e.Message.Contains("refused a connection", StringComparison.Ordinal)
            && e.Message.Contains("CleanSession must be set", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task ForgedStatusAndRuntimeError_FromAnotherClient_AreNotDelivered(MqttProtocolVersion protocol)
    {
        await using var rig = await MqttStatusRig.StartAsync(BrokerKind.Embedded, Prefix);
        rig.Host.Experiment().Build();
        var sim = await rig.Host.CreatePausedAsync();
        await rig.Recorder.WaitForAsync(rig.Topic(sim.Id, "status"), m => m.State == "paused");
        await using var attacker = await ConnectAsync(rig.Port, protocol);

        foreach (var (topic, payload) in new[]
        {
            (rig.Topic(sim.Id, "status"), """{"realTime":0,"simulationTime":0,"state":"failed","simulationTimeLeft":0}"""),
            (rig.Topic(sim.Id, "runtime_error"), """{"sim_id":"0","msg":"forged","error_type":"Runtime","fileName":"x","line_number":1,"offset":0,"line_text":""}"""),
            ("nrp_simulation/0/status", """{"state":"failed"}"""),
            ("elsewhere/entirely", "x"),
        })
        {
            await attacker.Client.PublishStringAsync(topic, payload, MqttQualityOfServiceLevel.AtLeastOnce);
        }

        // Then what clients may publish (nrp-core's data transfer): it arrives, after the refused ones would have.
        await attacker.Client.PublishStringAsync(rig.Topic(sim.Id, "data/camera"), "frame", MqttQualityOfServiceLevel.AtLeastOnce);
        var marker = await rig.Recorder.WaitForAsync(rig.Topic(sim.Id, "data/camera"), _ => true);

        Assert.DoesNotContain(rig.Recorder.Messages, m => m.Payload.Contains("failed", StringComparison.Ordinal) || m.Payload.Contains("forged", StringComparison.Ordinal));
        Assert.DoesNotContain(rig.Recorder.Messages, m => m.Topic.StartsWith("elsewhere", StringComparison.Ordinal));
        Assert.True(marker.Sequence > 0);
        Assert.Equal(SimulationState.Paused, rig.Host.Manager.Find(sim.Id)!.State);
        await rig.Host.Logs.WaitForAsync(e => e.Message.Contains($"refused a publish by {attacker.ClientId}", StringComparison.Ordinal)
            && e.Message.Contains("only the host publishes status and runtime_error", StringComparison.Ordinal));
        Assert.Single(rig.Host.Logs.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning
            && e.Message.Contains($"refused a publish by {attacker.ClientId}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ForgedPublish_OverMqtt5_IsAnsweredNotAuthorized()
    {
        await using var rig = await MqttStatusRig.StartAsync(BrokerKind.Embedded, Prefix);
        await using var attacker = await ConnectAsync(rig.Port, MqttProtocolVersion.V500);

        var forged = await attacker.Client.PublishStringAsync(rig.Topic(0, "status"), "{}", MqttQualityOfServiceLevel.AtLeastOnce);
        var data = await attacker.Client.PublishStringAsync(rig.Topic(0, "data"), "[]", MqttQualityOfServiceLevel.AtLeastOnce);

        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, forged.ReasonCode);
        Assert.Contains("only the host", forged.ReasonString, StringComparison.Ordinal);
        Assert.NotEqual(MqttClientPublishReasonCode.NotAuthorized, data.ReasonCode);
    }

    [Fact]
    public async Task RetainedForgery_IsRefused_AndNeverReachesALateSubscriber()
    {
        await using var rig = await MqttStatusRig.StartAsync(BrokerKind.Embedded, Prefix);
        await using var attacker = await ConnectAsync(rig.Port, MqttProtocolVersion.V311);

        // Simulation 42 does not exist, so a retained status there can only be the forgery.
        await attacker.Client.PublishAsync(Retained(rig.Topic(42, "status"), """{"realTime":0,"simulationTime":0,"state":"failed","simulationTimeLeft":0}"""));
        await attacker.Client.PublishAsync(Retained(rig.Topic(42, "data/sensor"), "retained below data is refused"));
        await attacker.Client.PublishAsync(Retained(rig.Topic(42, "data"), """[{"topic":"x","type":"y"}]""")); // nrp-core's topic list: allowed

        // One SUBSCRIBE: the broker answers with the retained messages of each filter in order.
        await using var late = await MqttRecorder.ConnectTcpAsync(rig.Port, rig.Topic(42, "status"), rig.Topic(42, "data/#"), rig.Topic(42, "data"));
        var topicList = await late.WaitForAsync(rig.Topic(42, "data"), m => m.Retained);

        Assert.Equal("""[{"topic":"x","type":"y"}]""", topicList.Payload);
        Assert.DoesNotContain(late.Messages, m => m.Topic != rig.Topic(42, "data"));
    }

    [Fact]
    public async Task WillOnStatus_FromAClientThatDropsItsConnection_IsNotDelivered()
    {
        await using var rig = await MqttStatusRig.StartAsync(BrokerKind.Embedded, Prefix);
        var id = "will_" + Guid.NewGuid().ToString("N")[..16];
        var topic = rig.Topic(0, "status");
        using (var tcp = new System.Net.Sockets.TcpClient())
        {
            await tcp.ConnectAsync(System.Net.IPAddress.Loopback, rig.Port);
            var stream = tcp.GetStream();
            await stream.WriteAsync(ConnectWithRetainedWill(id, topic, """{"state":"failed"}"""));
            var connack = new byte[4];
            await stream.ReadExactlyAsync(connack).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(new byte[] { 0x20, 0x02, 0x00, 0x00 }, connack);
        } // closed without DISCONNECT: the broker publishes the will, if it may

        await rig.Host.Logs.WaitForAsync(e => e.Message.Contains($"refused a publish by {id} on {topic}", StringComparison.Ordinal));
        await using var late = await MqttRecorder.ConnectTcpAsync(rig.Port, topic, rig.Topic(0, "data"));
        await using var marker = await ConnectAsync(rig.Port, MqttProtocolVersion.V311);
        await marker.Client.PublishAsync(Retained(rig.Topic(0, "data"), "[]"));
        await late.WaitForAsync(rig.Topic(0, "data"), _ => true);

        Assert.DoesNotContain(rig.Recorder.Messages, m => m.Topic == topic);
        Assert.DoesNotContain(late.Messages, m => m.Topic == topic);
    }

    [Fact]
    public async Task PublisherClientId_PresentedByAnotherClient_IsRefused_AndThePublisherStaysConnected()
    {
        await using var rig = await MqttStatusRig.StartAsync(BrokerKind.Embedded, Prefix);
        using var impostor = new MqttClientFactory().CreateMqttClient();

        var refused = await ConnectResultAsync(impostor, new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", rig.Port).WithClientId(rig.Publisher.ClientId).WithCredentials("nrphost", "guess").Build());

        Assert.Contains("NotAuthorized", refused, StringComparison.Ordinal);
        Assert.True(rig.Publisher.IsConnected);
        rig.Host.Experiment().Build();
        var sim = await rig.Host.CreatePausedAsync();
        await rig.Recorder.WaitForAsync(rig.Topic(sim.Id, "status"), m => m.State == "paused");
        Assert.DoesNotContain(rig.Host.Logs.Entries, e => e.Message.Contains("lost its connection to " + rig.Publisher.Broker, StringComparison.Ordinal));
        Assert.Matches("^nrphost_" + System.Text.RegularExpressions.Regex.Escape(rig.Host.HostId) + "_[0-9a-f]{32}$", rig.Publisher.ClientId);
    }

    [Theory]
    [InlineData(BrokerKind.Embedded)]
    [InlineData(BrokerKind.Mosquitto)]
    public async Task LateSubscriber_GetsTheCurrentStateAtOnce_AsTheRetainedMessage(BrokerKind kind)
    {
        await using var rig = await MqttStatusRig.StartAsync(kind, Prefix);
        rig.Host.Experiment().Build();
        var sim = await rig.Host.CreatePausedAsync();
        var status = rig.Topic(sim.Id, "status");
        await rig.Recorder.WaitForAsync(status, m => m.State == "paused"); // published, so the broker holds it

        // Joins after the 201, between two periodic messages: what it gets first is what the broker kept.
        await using var late = await MqttRecorder.ConnectTcpAsync(rig.Port, status);
        var first = await late.WaitForAsync(status, _ => true, timeout: TimeSpan.FromSeconds(5));

        Assert.True(first.Retained, "the first status a late subscriber gets is the retained one");
        Assert.Equal("paused", first.State);
    }

    [Fact]
    public async Task FinalState_ClearsTheRetainedStatus_WithoutSendingAnEmptyMessage_OnTheEmbeddedBroker()
    {
        await using var rig = await MqttStatusRig.StartAsync(BrokerKind.Embedded, Prefix);
        rig.Host.Experiment().Build();
        var sim = await rig.Host.CreatePausedAsync();
        var status = rig.Topic(sim.Id, "status");

        await rig.Host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);
        var stopped = await rig.Recorder.WaitForAsync(status, m => m.State == "stopped");
        await rig.Recorder.WaitForAsync(status, m => m.Payload.Contains("\"done\":true", StringComparison.Ordinal), stopped.Sequence);
        await using var attacker = await ConnectAsync(rig.Port, MqttProtocolVersion.V311);
        await attacker.Client.PublishAsync(Retained(rig.Topic(sim.Id, "data"), """[{"topic":"marker","type":""}]"""));

        await using var late = await MqttRecorder.ConnectTcpAsync(rig.Port, status, rig.Topic(sim.Id, "data"));
        await late.WaitForAsync(rig.Topic(sim.Id, "data"), m => m.Retained);

        Assert.DoesNotContain(late.Messages, m => m.Topic == status);
        Assert.DoesNotContain(rig.Recorder.Messages, m => m.Payload.Length == 0); // the NRP Frontend JSON-parses every status
    }

    [Fact]
    public async Task FinalState_OnMosquitto_ExpiresInsteadOfSendingAnEmptyMessage()
    {
        await using var rig = await MqttStatusRig.StartAsync(BrokerKind.Mosquitto, Prefix);
        rig.Publisher.RetainedStatusExpiry = TimeSpan.FromSeconds(2);
        rig.Host.Experiment().Build();
        var sim = await rig.Host.CreatePausedAsync();
        var status = rig.Topic(sim.Id, "status");
        await rig.Host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);
        await rig.Recorder.WaitForAsync(status, m => m.State == "stopped");

        // Until the expiry a late subscriber still learns the final state; after it, nothing is kept.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        var kept = true;
        while (kept && DateTime.UtcNow < deadline)
        {
            await using var late = await MqttRecorder.ConnectTcpAsync(rig.Port, status);
            kept = await ReceivesWithinAsync(late, status, TimeSpan.FromSeconds(1));
            if (kept)
            {
                Assert.Equal("stopped", late.Messages.First(m => m.Topic == status).State);
            }
        }

        Assert.False(kept, "the final state expired from Mosquitto");
        Assert.DoesNotContain(rig.Recorder.Messages, m => m.Payload.Length == 0);
    }

    private static async Task<bool> ReceivesWithinAsync(MqttRecorder recorder, string topic, TimeSpan wait)
    {
        try
        {
            await recorder.WaitForAsync(topic, _ => true, timeout: wait);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>MQTT 3.1.1 CONNECT with a clean session and a retained QoS 0 will.</summary>
    private static byte[] ConnectWithRetainedWill(string clientId, string willTopic, string willMessage)
    {
        static byte[] Field(string text) => [.. new[] { (byte)(Encoding.UTF8.GetByteCount(text) >> 8), (byte)Encoding.UTF8.GetByteCount(text) }, .. Encoding.UTF8.GetBytes(text)];
        byte[] body = [0x00, 0x04, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 0x04, 0x26, 0x00, 0x3C, .. Field(clientId), .. Field(willTopic), .. Field(willMessage)];
        Assert.True(body.Length < 128);
        return [0x10, (byte)body.Length, .. body];
    }

    /// <summary>The CONNACK's result code (MQTTnet reports a refusal either as a result or as an exception naming it).</summary>
    private static async Task<string> ConnectResultAsync(IMqttClient client, MqttClientOptions options)
    {
        try
        {
            return (await client.ConnectAsync(options)).ResultCode.ToString();
        }
        catch (MqttConnectingFailedException ex)
        {
            return ex.Message;
        }
    }

    private static MqttApplicationMessage Retained(string topic, string payload) =>
        new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithRetainFlag().WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();

    private static async Task<Connected> ConnectAsync(int port, MqttProtocolVersion protocol)
    {
        var id = "attacker_" + Guid.NewGuid().ToString("N");
        var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithProtocolVersion(protocol).WithClientId(id).Build());
        return new Connected(client, id);
    }

    private static async Task<string> RunAsync(string file, params string[] arguments)
    {
        var info = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"{file} exited with {process.ExitCode}: {await stderr}");
        return (await stdout).Trim();
    }

    private sealed record Connected(IMqttClient Client, string ClientId) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Client.TryDisconnectAsync();
            Client.Dispose();
        }
    }
}
