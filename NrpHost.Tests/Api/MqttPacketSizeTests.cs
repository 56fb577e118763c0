using System.Globalization;
using System.Net;
using System.Net.Sockets;
using MQTTnet;
using NrpHost.Tests.Infrastructure;
using NrpHost.Tests.Messaging;

namespace NrpHost.Tests.Api;

/// <summary>
/// The embedded broker's packet size limit (<c>NrpHost:Mqtt:EmbeddedMaxPacketBytes</c>) over its real transports: a
/// client that sends more is disconnected and logged, everybody else carries on.
/// </summary>
public sealed class MqttPacketSizeTests
{
    private const int Max = 64 * 1024;

    [Theory]
    [InlineData("tcp")]
    [InlineData("ws")]
    public async Task AClientThatPublishesMoreThanTheLimit_IsDisconnected_AndOthersCarryOn(string transport)
    {
        var port = FreePort.Next();
        await using var host = await StartAsync(port);
        await using var bystander = await MqttRecorder.ConnectTcpAsync(port, "pk/#");
        var since = host.Logs.Mark;
        using var offender = new MqttClientFactory().CreateMqttClient();
        var disconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        offender.DisconnectedAsync += _ =>
        {
            disconnected.TrySetResult();
            return Task.CompletedTask;
        };
        var options = new MqttClientOptionsBuilder().WithClientId("offender-" + transport);
        options = transport == "tcp"
            ? options.WithTcpServer("127.0.0.1", port)
            : options.WithWebSocketServer(o => o.WithUri(host.BaseAddress.ToString().Replace("http://", "ws://", StringComparison.Ordinal) + "mqtt"));
        await offender.ConnectAsync(options.Build());

        try
        {
            await offender.PublishBinaryAsync("pk/nrp_simulation/7/data", new byte[Max * 4]);
        }
        catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException)
        {
            // The broker may close the connection while the client is still sending (the client then cancels the send).
        }

        await disconnected.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var logged = await host.Logs.WaitForAsync(e => e.Message.Contains("sent a packet of", StringComparison.Ordinal), since: since);
        Assert.Contains("NrpHost:Mqtt:EmbeddedMaxPacketBytes", logged.Message, StringComparison.Ordinal);
        Assert.Contains(Max.ToString(CultureInfo.InvariantCulture), logged.Message, StringComparison.Ordinal);

        // The broker still serves: a message within the limit reaches the client that stayed.
        using var polite = new MqttClientFactory().CreateMqttClient();
        await polite.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId("polite").Build());
        await polite.PublishBinaryAsync("pk/nrp_simulation/7/data", new byte[Max / 2]);
        var received = await bystander.WaitForAsync("pk/nrp_simulation/7/data", _ => true);
        Assert.Equal(Max / 2, received.Payload.Length);
    }

    [Fact]
    public async Task AHeaderAnnouncingAHugePacket_ClosesTheConnection_WithoutWaitingForItsBody()
    {
        var port = FreePort.Next();
        await using var host = await StartAsync(port);
        var since = host.Logs.Mark;
        using var raw = new TcpClient();
        await raw.ConnectAsync(IPAddress.Loopback, port);
        var stream = raw.GetStream();

        // MQTT 3.1.1 CONNECT (client id "raw", clean session), then a PUBLISH header announcing 256 MiB and no body.
        byte[] connect = [0x10, 15, 0, 4, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 4, 0x02, 0, 60, 0, 3, (byte)'r', (byte)'a', (byte)'w'];
        await stream.WriteAsync(connect);
        var connAck = new byte[4];
        await stream.ReadExactlyAsync(connAck).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal([0x20, 0x02, 0x00, 0x00], connAck);
        await stream.WriteAsync(new byte[] { 0x30, 0xFF, 0xFF, 0xFF, 0x7F });

        var logged = await host.Logs.WaitForAsync(e => e.Message.Contains("sent a packet of", StringComparison.Ordinal), since: since);
        Assert.Contains("closed the connection from 127.0.0.1", logged.Message, StringComparison.Ordinal);
        Assert.True(await ClosedAsync(stream), "the broker kept the connection open");
    }

    /// <summary>Whether the peer closed the connection (end of stream, or reset) rather than sending something.</summary>
    private static async Task<bool> ClosedAsync(NetworkStream stream)
    {
        try
        {
            return await stream.ReadAsync(new byte[16]).AsTask().WaitAsync(TimeSpan.FromSeconds(30)) == 0;
        }
        catch (IOException)
        {
            return true;
        }
    }

    private static Task<ApiHost> StartAsync(int port) => ApiHost.StartAsync(s =>
    {
        s["NrpHost:Mqtt:EmbeddedPort"] = port.ToString(CultureInfo.InvariantCulture);
        s["NrpHost:Mqtt:EmbeddedConnectTimeoutSeconds"] = "30";
        s["NrpHost:Mqtt:EmbeddedMaxPacketBytes"] = Max.ToString(CultureInfo.InvariantCulture);
        s["NrpHost:Mqtt:Prefix"] = "pk";
    });
}
