using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using NrpHost.Simulation;

namespace NrpHost.Messaging;

/// <summary>
/// Publishes every simulation's <c>status</c> (each second while it is not final, and at once on every state
/// change), the shutdown progress messages and <c>runtime_error</c> reports over MQTT.
/// </summary>
/// <remarks>
/// State messages are retained, so a subscriber that joins late gets the current state at once. Each carries an
/// MQTT 5 message expiry of 10 s, renewed every second while the simulation is not final, so a broker that honours
/// it (Mosquitto) forgets a finished or crashed host's state by itself without an empty message reaching any
/// subscriber. On the embedded broker the final state is followed by an empty retained message, which the broker
/// turns into a silent clear (<see cref="EmbeddedBrokerPolicy"/>).
/// <para>
/// Event handlers only enqueue into a bounded channel; one background loop publishes, another keeps the
/// connection (exponential back-off up to <see cref="MaxRetryDelay"/>). While the broker is away messages are
/// dropped (status is periodic), so a simulation never waits for the broker. Publish errors are counted
/// (<c>nrphost.mqtt.publish.errors</c>) and logged, never thrown into the simulation.
/// </para>
/// </remarks>
internal sealed class MqttStatusPublisher : IHostedService, IMessagingHealth, IAsyncDisposable
{
    internal static readonly TimeSpan StatusPeriod = TimeSpan.FromSeconds(1);
    internal static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(250);
    internal static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan OperationTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan DrainOnStop = TimeSpan.FromSeconds(2);
    private const int QueueCapacity = 1024;
    private const int DataQueueCapacity = 4096;

    /// <summary>How long a broker keeps a retained state message that is not renewed (whole seconds; tests shorten it).</summary>
    internal TimeSpan RetainedStatusExpiry { get; set; } = TimeSpan.FromSeconds(10);

    private readonly ISimulationManager _manager;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _prefix;
    private readonly MqttBrokerAddress _address;
    private readonly MqttPublisherIdentity _identity;
    private readonly EmbeddedMqttBroker _broker;
    private readonly MqttClientOptions _clientOptions;
    private readonly IMqttClient _client;
    private readonly Channel<Outgoing> _queue;

    /// <summary>Data-transfer messages relayed for simulations in worker processes: a queue of their own, so a busy stream never pushes status out.</summary>
    private readonly Channel<Outgoing> _data;
    private readonly Lock _lock = new();
    private readonly HashSet<int> _active = [];
    private readonly CancellationTokenSource _stopping = new();
    private TaskCompletionSource _disconnected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile string? _problem;
    private Task _loops = Task.CompletedTask;
    private Task _publishLoop = Task.CompletedTask;
    private readonly int _maxPayload;
    private int _started;
    private int _disposed;

    public MqttStatusPublisher(
        ISimulationManager manager,
        IOptions<MqttOptions> options,
        MqttPublisherIdentity identity,
        EmbeddedMqttBroker broker,
        TimeProvider time,
        ILogger<MqttStatusPublisher> logger,
        DataTransferRelay? relay = null)
    {
        _manager = manager;
        _time = time;
        _logger = logger;
        _prefix = options.Value.Prefix ?? string.Empty;
        _address = MqttBrokerAddress.From(options.Value);
        _identity = identity;
        _broker = broker;

        // Room for the fixed header, the topic and MQTT 5 properties besides the payload.
        _maxPayload = _address.IsEmbedded ? options.Value.EmbeddedMaxPacketBytes - 1024 : int.MaxValue;

        // MQTT 5 for the message expiry of retained state messages (Mosquitto ≥ 1.6 and the embedded broker speak it).
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(_address.Host, _address.Port)
            .WithClientId(ClientId)
            .WithCleanSession(true)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithTimeout(OperationTimeout);
        if (_address.IsEmbedded)
        {
            builder = builder.WithCredentials("nrphost", identity.Secret);
        }
        else if (!string.IsNullOrEmpty(options.Value.Username))
        {
            builder = builder.WithCredentials(options.Value.Username, options.Value.Password ?? string.Empty);
        }

        _clientOptions = builder.Build();
        _client = new MqttClientFactory().CreateMqttClient();
        _client.DisconnectedAsync += OnDisconnectedAsync;
        _queue = Channel.CreateBounded<Outgoing>(
            new BoundedChannelOptions(QueueCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            dropped =>
            {
                MessagingMetrics.Dropped.Add(1, Kind(dropped.Kind));
                MessagingLog.QueueFull(_logger);
            });
        _data = Channel.CreateBounded<Outgoing>(
            new BoundedChannelOptions(DataQueueCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            dropped => MessagingMetrics.Dropped.Add(1, Kind(dropped.Kind)));
        relay?.Connect(PublishData);
    }

    /// <summary>Queues a data-transfer message of a simulation in a worker process (see <see cref="DataTransferRelay"/>); false when it was not taken.</summary>
    internal bool PublishData(string topic, byte[] payload, bool retain) =>
        Volatile.Read(ref _started) == 1 && _data.Writer.TryWrite(new Outgoing(topic, MqttTopics.Data, payload, retain));

    /// <summary>This publisher's MQTT client id (<see cref="MqttPublisherIdentity.ClientId"/>).</summary>
    public string ClientId => _identity.ClientId;

    public bool IsConnected => _client.IsConnected;

    public string Broker => _address.ToString();

    public bool IsEmbeddedBroker => _address.IsEmbedded;

    public bool? EmbeddedBrokerRunning => _address.IsEmbedded ? _broker.IsRunning : null;

    public string? Problem => IsConnected ? null
        : _address.IsEmbedded && !_broker.IsRunning ? $"the embedded broker is not running: {_broker.NotRunningReason}"
        : _problem;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _started, 1, 0) != 0)
        {
            return Task.CompletedTask;
        }

        _manager.StateChanged += OnStateChanged;
        _manager.RuntimeError += OnRuntimeError;
        _manager.Progress += OnProgress;
        MessagingLog.Publishing(_logger, _identity.HostId, Broker, (_prefix.Length == 0 ? string.Empty : _prefix + "/") + MqttTopics.Root + "/<id>/");
        if (!_address.IsEmbedded && _prefix.Length == 0)
        {
            MessagingLog.SharedBrokerWithoutPrefix(_logger, Broker, _identity.HostId);
        }

        try
        {
            var existing = _manager.List().Where(s => !s.State.IsFinal()).Select(s => s.Id).ToList();
            lock (_lock)
            {
                _active.UnionWith(existing);
            }
        }
#pragma warning disable CA1031 // Publishing status is never a reason for the host not to start.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            MessagingLog.ListFailed(_logger, ex);
        }

        var token = _stopping.Token;
        _publishLoop = Task.Run(() => PublishLoopAsync(_queue.Reader, token), CancellationToken.None);
        _loops = Task.WhenAll(
            Task.Run(() => ConnectLoopAsync(token), CancellationToken.None),
            _publishLoop,
            Task.Run(() => PublishLoopAsync(_data.Reader, token), CancellationToken.None),
            Task.Run(() => TickLoopAsync(token), CancellationToken.None));
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _started, 2, 1) != 1)
        {
            return;
        }

        _manager.StateChanged -= OnStateChanged;
        _manager.RuntimeError -= OnRuntimeError;
        _manager.Progress -= OnProgress;

        // What is queued (the final states of the simulations the host just stopped) still goes out, within a bound.
        _queue.Writer.TryComplete();
        _data.Writer.TryComplete();
        try
        {
            await _publishLoop.WaitAsync(DrainOnStop, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            // Stopping anyway.
        }

        // A ping answered means the broker has taken in everything sent before it (packets are handled in order).
        if (_client.IsConnected)
        {
            using var ping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            ping.CancelAfter(DrainOnStop);
            try
            {
                await _client.PingAsync(ping.Token).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Stopping anyway; a broker that does not answer has lost what it had.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loops.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The loops end by cancellation.
        }

        if (_client.IsConnected)
        {
            await _client.TryDisconnectAsync().ConfigureAwait(false);
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
        _client.Dispose();
        _stopping.Dispose();
    }

    private void OnStateChanged(object? sender, SimulationStateChangedEventArgs e)
    {
        var simulation = e.Simulation;
        lock (_lock)
        {
            if (simulation.State.IsFinal())
            {
                _active.Remove(simulation.Id);
            }
            else
            {
                _active.Add(simulation.Id);
            }

            // Under the lock, so a tick that read the previous state cannot be queued after this one.
            EnqueueState(simulation.Id, simulation.State, simulation.Clock);
            if (simulation.State.IsFinal() && _address.IsEmbedded)
            {
                // Nothing stale stays retained; the embedded broker clears without sending the empty message on.
                _queue.Writer.TryWrite(new Outgoing(MqttTopics.For(_prefix, simulation.Id, MqttTopics.Status), MqttTopics.Status, [], Retain: true));
            }
        }
    }

    private void OnRuntimeError(object? sender, SimulationErrorEventArgs e) =>
        Enqueue(e.Error.SimulationId, MqttTopics.RuntimeError, MqttPayloads.RuntimeError(e.Error));

    private void OnProgress(object? sender, SimulationProgressEventArgs e)
    {
        lock (_lock)
        {
            Enqueue(e.SimulationId, MqttTopics.Status, MqttPayloads.Progress(e.Task, e.Done));
        }
    }

    private void Enqueue(int simulationId, string kind, byte[] payload) =>
        _queue.Writer.TryWrite(new Outgoing(MqttTopics.For(_prefix, simulationId, kind), kind, payload, Retain: false));

    private void EnqueueState(int simulationId, SimulationState state, SimulationClock clock) =>
        _queue.Writer.TryWrite(new Outgoing(
            MqttTopics.For(_prefix, simulationId, MqttTopics.Status), MqttTopics.Status, MqttPayloads.Status(state, clock), Retain: true));

    private async Task TickLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(StatusPeriod, _time);
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            lock (_lock)
            {
                foreach (var id in _active)
                {
                    var snapshot = _manager.Find(id);
                    if (snapshot is not null && !snapshot.State.IsFinal())
                    {
                        EnqueueState(id, snapshot.State, snapshot.Clock);
                    }
                }
            }
        }
    }

    private async Task PublishLoopAsync(ChannelReader<Outgoing> queue, CancellationToken cancellationToken)
    {
        await foreach (var message in queue.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            var kind = Kind(message.Kind);
            if (!_client.IsConnected)
            {
                MessagingMetrics.Dropped.Add(1, kind);
                continue;
            }

            if (message.Payload.Length + System.Text.Encoding.UTF8.GetByteCount(message.Topic) > _maxPayload)
            {
                // The embedded broker would close this client's connection for it (NrpHost:Mqtt:EmbeddedMaxPacketBytes).
                MessagingMetrics.PublishErrors.Add(1, kind);
                MessagingLog.PublishFailed(_logger, message.Topic, string.Create(CultureInfo.InvariantCulture,
                    $"its {message.Payload.Length} bytes are more than the embedded broker takes (NrpHost:Mqtt:EmbeddedMaxPacketBytes)"));
                continue;
            }

            var builder = new MqttApplicationMessageBuilder()
                .WithTopic(message.Topic)
                .WithPayload(message.Payload)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtMostOnce)
                .WithRetainFlag(message.Retain);
            if (message.Retain && message.Payload.Length > 0 && message.Kind == MqttTopics.Status)
            {
                builder = builder.WithMessageExpiryInterval((uint)RetainedStatusExpiry.TotalSeconds);
            }

            var application = builder.Build();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(OperationTimeout);
            try
            {
                await _client.PublishAsync(application, timeout.Token).ConfigureAwait(false);
                MessagingMetrics.Published.Add(1, kind);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A publish error is counted and logged; it never reaches a simulation.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                MessagingMetrics.PublishErrors.Add(1, kind);
                MessagingLog.PublishFailed(_logger, message.Topic, ex.Message);
            }
        }
    }

    private async Task ConnectLoopAsync(CancellationToken cancellationToken)
    {
        var delay = FirstRetryDelay;
        var failing = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            if (_client.IsConnected)
            {
                // Wake at once when the connection drops, and at least every period as a backstop.
                var signal = Volatile.Read(ref _disconnected).Task;
                await Task.WhenAny(signal, Task.Delay(StatusPeriod, _time, cancellationToken)).ConfigureAwait(false);
                continue;
            }

            string reason, problem;
            try
            {
                Volatile.Write(ref _disconnected, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                var refusal = await TryConnectAsync(cancellationToken).ConfigureAwait(false);
                if (refusal is null)
                {
                    MessagingLog.Connected(_logger, ClientId, Broker);
                    delay = FirstRetryDelay;
                    failing = false;
                    _problem = null;
                    continue;
                }

                reason = problem = refusal;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // Any connect failure is retried.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                reason = ex.InnerException?.Message ?? ex.Message;
                problem = $"cannot reach {Broker}: {reason}";
            }

            _problem = problem;
            if (!failing)
            {
                MessagingLog.ConnectFailed(_logger, Broker, reason, MaxRetryDelay.TotalMilliseconds);
            }
            else
            {
                MessagingLog.ConnectFailedAgain(_logger, Broker, reason, delay.TotalMilliseconds);
            }

            failing = true;
            try
            {
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            delay = NextDelay(delay);
        }
    }

    /// <summary>
    /// Connects, and returns null; or returns why it did not: the embedded broker is not running, or the broker that
    /// answered on its port is not it (it did not answer with <see cref="MqttPublisherIdentity.BrokerProof"/>).
    /// </summary>
    private async Task<string?> TryConnectAsync(CancellationToken cancellationToken)
    {
        if (_address.IsEmbedded && !_broker.IsRunning)
        {
            return $"the embedded broker is not running: {_broker.NotRunningReason}";
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(OperationTimeout);
        var result = await _client.ConnectAsync(_clientOptions, timeout.Token).ConfigureAwait(false);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            return $"{Broker} refused the connection ({result.ResultCode} {result.ReasonString})";
        }

        if (!_address.IsEmbedded
            || result.UserProperties?.Any(p => p.Name == EmbeddedBrokerPolicy.BrokerProperty && p.ReadValueAsString() == _identity.BrokerProof) == true)
        {
            return null;
        }

        await _client.TryDisconnectAsync().ConfigureAwait(false);
        return $"another broker answers on {Broker}, not this host's embedded broker; status is not published there";
    }

    /// <summary>The back-off: doubles from <see cref="FirstRetryDelay"/> up to <see cref="MaxRetryDelay"/>.</summary>
    internal static TimeSpan NextDelay(TimeSpan delay) => delay * 2 < MaxRetryDelay ? delay * 2 : MaxRetryDelay;

    private Task OnDisconnectedAsync(MqttClientDisconnectedEventArgs e)
    {
        if (e.ClientWasConnected && !_stopping.IsCancellationRequested)
        {
            MessagingLog.Disconnected(_logger, Broker);
        }

        Volatile.Read(ref _disconnected).TrySetResult();
        return Task.CompletedTask;
    }

    private static KeyValuePair<string, object?> Kind(string kind) => new("topic", kind);

    private sealed record Outgoing(string Topic, string Kind, byte[] Payload, bool Retain);
}
