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
/// <see cref="IMqttServerAdapter"/> the host registered (the Api adds MQTT over WebSocket on its own port). Who may do
/// what on it is <see cref="EmbeddedBrokerPolicy"/>.
/// </summary>
internal sealed class EmbeddedMqttBroker : IHostedService, IAsyncDisposable
{
    private readonly MqttOptions _options;
    private readonly List<IMqttServerAdapter> _hostAdapters;
    private readonly MqttPublisherIdentity _publisher;
    private readonly IReadOnlyList<IMqttConnectionCheck> _connectionChecks;
    private readonly ILogger _logger;
    private static readonly TimeSpan DeliverOnStop = TimeSpan.FromSeconds(1);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private MqttServer? _server;
    private volatile string? _notRunningReason = "not started yet";
    private int _disposed;

    public EmbeddedMqttBroker(
        IOptions<MqttOptions> options,
        IEnumerable<IMqttServerAdapter> hostAdapters,
        IEnumerable<IMqttConnectionCheck> connectionChecks,
        MqttPublisherIdentity publisher,
        ILogger<EmbeddedMqttBroker> logger)
    {
        _options = options.Value;
        _hostAdapters = hostAdapters.ToList();
        _connectionChecks = connectionChecks.ToList();
        _publisher = publisher;
        _logger = logger;
    }

    /// <summary>False when an external broker is configured (then this service does nothing).</summary>
    public bool IsEnabled => string.IsNullOrWhiteSpace(_options.Broker);

    /// <summary>True while the broker runs.</summary>
    public bool IsRunning => _server?.IsStarted == true;

    /// <summary>Why the broker is not running (for example <c>port 1883 is in use by another process</c>), or null while it runs.</summary>
    public string? NotRunningReason => IsRunning ? null : _notRunningReason ?? "stopped";

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

            // Never two brokers on one port: the TCP transport sets SO_REUSEADDR only (a restarted host binds at once,
            // however many connections the last one left in TIME_WAIT, but never beside another listener); the port is
            // also probed first, for a clear reason, and checked again once the broker listens.
            if (ExclusiveListener.Taken(bind, _options.EmbeddedPort))
            {
                Unavailable(bind, $"port {_options.EmbeddedPort} is in use by another process");
                return;
            }

            var builder = new MqttServerOptionsBuilder()
                .WithDefaultCommunicationTimeout(TimeSpan.FromSeconds(_options.EmbeddedConnectTimeoutSeconds));

            // A new TCP transport per start: it belongs to this server instance only.
            var factory = new MqttServerFactory();
            IMqttServerAdapter tcp = new GuardedTcpServerAdapter(bind, _options.EmbeddedPort, _options.EmbeddedMaxPacketBytes, _logger);
            var adapters = _hostAdapters.Prepend(tcp)
                .Select(adapter => (IMqttServerAdapter)new ClientIdAssigningAdapter(adapter, _logger)).ToList();
            var server = factory.CreateMqttServer(builder.Build(), adapters);
            new EmbeddedBrokerPolicy(_publisher, _options.Prefix, _logger, _connectionChecks).Attach(server);
            try
            {
                await server.StartAsync().ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                // The host keeps running without status; the publisher does not connect to whatever holds the port.
                Unavailable(bind, ex.SocketErrorCode == SocketError.AddressAlreadyInUse
                    ? $"port {_options.EmbeddedPort} is in use by another process"
                    : $"cannot listen on {bind}:{_options.EmbeddedPort}: {ex.Message}");
                server.Dispose();
                return;
            }

            if (ExclusiveListener.Shared(bind, _options.EmbeddedPort))
            {
                // Another process started listening in the same instant, sharing the port: this one goes.
                await server.StopAsync(new MqttServerStopOptionsBuilder().Build()).ConfigureAwait(false);
                server.Dispose();
                Unavailable(bind, $"port {_options.EmbeddedPort} is in use by another process");
                return;
            }

            _server = server;
            _notRunningReason = null;
            var address = bind.ToString();
            var others = _hostAdapters.Count > 0 ? " and on the host's other adapters (WebSocket)" : string.Empty;
            MessagingLog.BrokerStarted(_logger, address, _options.EmbeddedPort, others);
        }
        finally
        {
            _gate.Release();
        }
    }

    private void Unavailable(IPAddress bind, string reason)
    {
        _notRunningReason = reason;
        MessagingLog.BrokerPortUnavailable(_logger, bind.ToString(), _options.EmbeddedPort, reason);
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
            _notRunningReason = "stopped";
            try
            {
                await DeliverPendingAsync(server).ConfigureAwait(false);
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

    /// <summary>
    /// Lets the messages already taken in (the final states of the simulations the host just stopped) reach their
    /// subscribers before the broker goes: waits until no session has any left to send, for at most a second.
    /// </summary>
    private static async Task DeliverPendingAsync(MqttServer server)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        while (System.Diagnostics.Stopwatch.GetElapsedTime(started) < DeliverOnStop)
        {
            var sessions = await server.GetSessionsAsync().ConfigureAwait(false);
            if (sessions.All(s => s.PendingApplicationMessagesCount == 0))
            {
                return;
            }

            await Task.Delay(10).ConfigureAwait(false);
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
