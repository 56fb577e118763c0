using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using Microsoft.Extensions.Logging;
using MQTTnet.Adapter;
using MQTTnet.Channel;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Formatter;
using MQTTnet.Implementations;
using MQTTnet.Server;

namespace NrpHost.Messaging;

/// <summary>What the embedded broker's transports share: each connection is read through a <see cref="PacketSizeGuard"/>.</summary>
internal abstract class GuardedServerAdapter(int maxPacketBytes, ILogger logger) : IMqttServerAdapter
{
    private MqttServerOptions? _options;
    private IMqttNetLogger _mqttLogger = MqttNetNullLogger.Instance;

    public Func<IMqttChannelAdapter, Task>? ClientHandler { get; set; }

    public virtual Task StartAsync(MqttServerOptions options, IMqttNetLogger logger)
    {
        _options = options;
        _mqttLogger = logger;
        return Task.CompletedTask;
    }

    public virtual Task StopAsync() => Task.CompletedTask;

    public virtual void Dispose()
    {
    }

    /// <summary>Serves one connection until the broker lets it go.</summary>
    protected async Task ServeAsync(IMqttChannel channel)
    {
        var remote = channel.RemoteEndPoint?.ToString() ?? "unknown";
        using var guarded = new PacketSizeGuard(channel, maxPacketBytes, size => MessagingLog.PacketTooLarge(logger, remote, size, maxPacketBytes));
        var formatter = new MqttPacketFormatterAdapter(new MqttBufferWriter(_options?.WriterBufferSize ?? 4096, _options?.WriterBufferSizeMax ?? 65535));
        using var adapter = new MqttChannelAdapter(guarded, formatter, _mqttLogger);
        if (ClientHandler is { } handler)
        {
            await handler(adapter).ConfigureAwait(false);
        }
    }
}

/// <summary>
/// The embedded broker's TCP transport. The listening socket sets <c>SO_REUSEADDR</c> only: a restarted host binds at
/// once despite connections in <c>TIME_WAIT</c>, but never beside another listener (no <c>SO_REUSEPORT</c>).
/// </summary>
internal sealed class GuardedTcpServerAdapter(IPAddress address, int port, int maxPacketBytes, ILogger logger)
    : GuardedServerAdapter(maxPacketBytes, logger)
{
    private const int SolSocket = 1;
    private const int SoReuseAddr = 2;
    private readonly CancellationTokenSource _stopping = new();
    private Socket? _listener;
    private Task? _accepting;

    public override async Task StartAsync(MqttServerOptions options, IMqttNetLogger logger)
    {
        await base.StartAsync(options, logger).ConfigureAwait(false);
        var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (OperatingSystem.IsLinux())
            {
                listener.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
            }

            listener.Bind(new IPEndPoint(address, port));
            listener.Listen(100);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        _listener = listener;
        _accepting = AcceptAsync(listener);
    }

    public override async Task StopAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener?.Dispose();
        if (_accepting is { } accepting)
        {
            await accepting.ConfigureAwait(false);
        }
    }

    public override void Dispose()
    {
        _stopping.Cancel();
        _listener?.Dispose();
        _stopping.Dispose();
        base.Dispose();
    }

    private async Task AcceptAsync(Socket listener)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                // One failed accept (the client went away first, no descriptor left) does not end the listener.
                continue;
            }

            _ = ServeTcpAsync(client);
        }
    }

    private async Task ServeTcpAsync(Socket client)
    {
        try
        {
            client.NoDelay = true;
            var local = client.LocalEndPoint!;
            var remote = client.RemoteEndPoint!;
            var stream = new NetworkStream(client, ownsSocket: true);
            await using (stream.ConfigureAwait(false))
            {
                await ServeAsync(new MqttTcpChannel(stream, local, remote, null!)).ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // A connection's failure is that connection's: the broker logs it, the listener goes on.
        catch (Exception)
#pragma warning restore CA1031
        {
            client.Dispose();
        }
    }
}

/// <summary>The embedded broker's WebSocket transport: the API hands it each MQTT WebSocket it accepted.</summary>
internal sealed class GuardedWebSocketServerAdapter(int maxPacketBytes, ILogger logger) : GuardedServerAdapter(maxPacketBytes, logger)
{
    /// <summary>Serves an accepted MQTT WebSocket until the broker lets it go.</summary>
    public Task RunAsync(WebSocket webSocket, EndPoint remote, bool isSecure) =>
        ServeAsync(new MqttWebSocketChannel(webSocket, remote, isSecure, null!));
}
