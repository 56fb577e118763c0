using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet.Server;

namespace NrpHost.Messaging;

/// <summary>
/// The MQTTnet broker NrpHost starts when no external broker is configured: TCP on
/// <see cref="MqttOptions.EmbeddedPort"/> bound to <see cref="MqttOptions.EmbeddedBindAddress"/>, plus every
/// <see cref="IMqttServerAdapter"/> the host registered (the Api adds MQTT over WebSocket on its own port).
/// </summary>
internal sealed class EmbeddedMqttBroker : IHostedService, IAsyncDisposable
{
    private readonly MqttOptions _options;
    private readonly List<IMqttServerAdapter> _hostAdapters;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private MqttServer? _server;
    private int _disposed;

    public EmbeddedMqttBroker(IOptions<MqttOptions> options, IEnumerable<IMqttServerAdapter> hostAdapters, ILogger<EmbeddedMqttBroker> logger)
    {
        _options = options.Value;
        _hostAdapters = hostAdapters.ToList();
        _logger = logger;
    }

    /// <summary>False when an external broker is configured (then this service does nothing).</summary>
    public bool IsEnabled => string.IsNullOrWhiteSpace(_options.Broker);

    /// <summary>True while the broker runs.</summary>
    public bool IsRunning => _server?.IsStarted == true;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!IsEnabled)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_server is not null)
            {
                return;
            }

            var bind = ParseBindAddress(_options.EmbeddedBindAddress);
            var builder = new MqttServerOptionsBuilder()
                .WithDefaultEndpoint()
                .WithDefaultEndpointPort(_options.EmbeddedPort)
                .WithDefaultEndpointReuseAddress();
            builder = bind.AddressFamily == AddressFamily.InterNetworkV6
                ? builder.WithDefaultEndpointBoundIPAddress(IPAddress.None).WithDefaultEndpointBoundIPV6Address(bind)
                : builder.WithDefaultEndpointBoundIPAddress(bind).WithDefaultEndpointBoundIPV6Address(IPAddress.None);

            // A new factory per start: its TCP adapter belongs to this server instance only.
            var factory = new MqttServerFactory();
            var server = factory.CreateMqttServer(builder.Build(), factory.DefaultServerAdapters.Select(create => create(factory)).Concat(_hostAdapters).ToList());
            try
            {
                await server.StartAsync().ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                // The host keeps running; the publisher keeps trying to reach the port (another broker may serve it).
                var endpoint = bind.ToString();
                MessagingLog.BrokerPortUnavailable(_logger, endpoint, _options.EmbeddedPort, ex.Message);
                server.Dispose();
                return;
            }

            _server = server;
            var address = bind.ToString();
            var others = _hostAdapters.Count > 0 ? " and on the host's other adapters (WebSocket)" : string.Empty;
            MessagingLog.BrokerStarted(_logger, address, _options.EmbeddedPort, others);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (_server is not { } server)
            {
                return;
            }

            _server = null;
            try
            {
                await server.StopAsync(new MqttServerStopOptionsBuilder().Build()).ConfigureAwait(false);
            }
            finally
            {
                server.Dispose();
            }

            MessagingLog.BrokerStopped(_logger);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        // The container may dispose it once per registration that hands it out.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _gate.Dispose();
    }

    internal static IPAddress ParseBindAddress(string? value)
    {
        if (string.IsNullOrWhiteSpace(value) || string.Equals(value, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return IPAddress.Loopback;
        }

        return IPAddress.TryParse(value, out var address)
            ? address
            : throw new FormatException($"NrpHost:Mqtt:EmbeddedBindAddress '{value}' is not an IP address.");
    }
}
