using NrpHost.Messaging;
using Microsoft.Extensions.DependencyInjection;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Messaging;

/// <summary>
/// Loopback ports for the tests' servers, taken below the kernel's ephemeral range: a port from that range may be
/// given to some process's outgoing connection (a host's own MQTT client, say) between the moment it is picked and
/// the moment a server binds it. Each port is handed out once per test run, at a random start, and is checked free.
/// Test runs of other checkouts on the same machine use the same range: a port is claimed for the whole run by a lock
/// on a file named after it (released by the kernel when the run ends, however it ends), so two runs never pick one.
/// </summary>
internal static class FreePort
{
    private static readonly (int First, int Count) Range = BelowEphemeral();
    private static int _next = Random.Shared.Next(Range.Count);

    public static int Next() => NextRun(1);

    /// <summary>The first of <paramref name="count"/> consecutive loopback ports that are free now.</summary>
    public static int NextRun(int count)
    {
        for (var attempt = 0; attempt < Range.Count; attempt++)
        {
            var offset = (Interlocked.Add(ref _next, count) - count) % Range.Count;
            if (offset + count > Range.Count)
            {
                continue;
            }

            var first = Range.First + offset;
            if (Enumerable.Range(first, count).All(Claim) && Enumerable.Range(first, count).All(IsFree))
            {
                return first;
            }
        }

        throw new InvalidOperationException($"no {count} consecutive free ports found in {Range.First}..{Range.First + Range.Count - 1}");
    }

    /// <summary>The ports below the ephemeral range (<c>ip_local_port_range</c>), down to 10000.</summary>
    private static (int First, int Count) BelowEphemeral()
    {
        const int First = 10000;
        var ephemeralStart = 32768;
        try
        {
            var bounds = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            ephemeralStart = int.Parse(bounds[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            // Linux's default then.
        }

        return ephemeralStart - First >= 1000 ? (First, ephemeralStart - First) : (1024, 9000);
    }

    private static readonly string ClaimDirectory = Path.Combine(Path.GetTempPath(), "nrphost-test-ports");
    private static readonly ConcurrentBag<FileStream> Claims = [];

    /// <summary>Claims <paramref name="port"/> for this test run; false when another run on the machine holds it.</summary>
    private static bool Claim(int port)
    {
        try
        {
            Directory.CreateDirectory(ClaimDirectory);

            // FileShare.None is an exclusive flock on Unix: held until this process exits, refused to any other.
            Claims.Add(new FileStream(Path.Combine(ClaimDirectory, port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            // A directory another user made: no coordination then, the bind check still holds.
            return true;
        }
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var any = new TcpListener(IPAddress.Any, port);
            any.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

/// <summary>One message as a subscriber saw it.</summary>
internal sealed record ReceivedMessage(long Sequence, string Topic, string Payload, bool Retained = false)
{
    public JsonElement Json => JsonDocument.Parse(Payload).RootElement;

    public string? State => Json.TryGetProperty("state", out var state) ? state.GetString() : null;
}

/// <summary>
/// A real MQTT client subscribed to <c>#</c> (or to the filters it is given, in one SUBSCRIBE) that records every
/// message; it reconnects and resubscribes on its own when the broker goes away, like the NRP Frontend's client.
/// </summary>
internal sealed class MqttRecorder : IAsyncDisposable
{
    private readonly IMqttClient _client;
    private readonly MqttClientOptions _options;
    private readonly string[] _filters;
    private readonly ConcurrentQueue<ReceivedMessage> _messages = new();
    private readonly Changes _received = new();
    private readonly CancellationTokenSource _disposed = new();
    private long _sequence;

    private MqttRecorder(MqttClientOptions options, string[] filters)
    {
        _options = options;
        _filters = filters;
        _client = new MqttClientFactory().CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += e =>
        {
            var payload = Encoding.UTF8.GetString(e.ApplicationMessage.Payload);
            _messages.Enqueue(new ReceivedMessage(Interlocked.Increment(ref _sequence), e.ApplicationMessage.Topic, payload, e.ApplicationMessage.Retain));
            _received.Notify();
            return Task.CompletedTask;
        };
        _client.DisconnectedAsync += async e =>
        {
            while (!_disposed.IsCancellationRequested && !_client.IsConnected)
            {
                try
                {
                    await Task.Delay(100, _disposed.Token); // a client's reconnect back-off, as the frontend's has
                    await ConnectAsync();
                }
                catch (Exception) when (!_disposed.IsCancellationRequested)
                {
                    // retry
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        };
    }

    public static Task<MqttRecorder> ConnectTcpAsync(int port, params string[] filters) =>
        StartAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port), filters);

    public static Task<MqttRecorder> ConnectWebSocketAsync(string uri) =>
        StartAsync(new MqttClientOptionsBuilder().WithWebSocketServer(o => o.WithUri(uri)));

    private static async Task<MqttRecorder> StartAsync(MqttClientOptionsBuilder builder, string[]? filters = null)
    {
        var recorder = new MqttRecorder(
            builder
                .WithClientId("nrp-frontend_" + Guid.NewGuid().ToString("N"))
                .WithProtocolVersion(MqttProtocolVersion.V311)
                .WithCleanSession(true)
                .Build(),
            filters is { Length: > 0 } ? filters : ["#"]);
        await recorder.ConnectAsync();
        return recorder;
    }

    public bool IsConnected => _client.IsConnected;

    public IReadOnlyList<ReceivedMessage> Messages => _messages.ToArray();

    public long LastSequence => Interlocked.Read(ref _sequence);

    private async Task ConnectAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _client.ConnectAsync(_options, timeout.Token);
        var subscribe = new MqttClientFactory().CreateSubscribeOptionsBuilder();
        foreach (var filter in _filters)
        {
            subscribe = subscribe.WithTopicFilter(filter);
        }

        await _client.SubscribeAsync(subscribe.Build(), timeout.Token);
    }

    /// <summary>Waits for a message after <paramref name="after"/> on <paramref name="topic"/> that satisfies the condition.</summary>
    public Task<ReceivedMessage> WaitForAsync(string topic, Func<ReceivedMessage, bool> condition, long after = 0, TimeSpan? timeout = null) =>
        _received.WaitAsync(
            () => _messages.FirstOrDefault(m => m.Sequence > after && m.Topic == topic && condition(m)),
            timeout ?? TimeSpan.FromSeconds(20),
            () => $"no matching message on {topic}; seen: {string.Join(" | ", _messages.Select(m => m.Topic + " " + m.Payload))}");

    public async ValueTask DisposeAsync()
    {
        await _disposed.CancelAsync();
        if (_client.IsConnected)
        {
            await _client.TryDisconnectAsync();
        }

        _client.Dispose();
        _disposed.Dispose();
    }
}

/// <summary>
/// A Mosquitto broker started from the Debian package's binary on a free loopback port, with a generated
/// configuration (anonymous, no persistence). It can be stopped and started again on the same port.
/// </summary>
internal sealed class MosquittoBroker : IAsyncDisposable
{
    private readonly TempDirectory _directory = new("mosquitto");
    private readonly string _binary;
    private readonly StringBuilder _output = new();
    private Process? _process;

    private MosquittoBroker(string binary, int port, string? configuration)
    {
        _binary = binary;
        Port = port;
        File.WriteAllText(ConfigPath, configuration ?? $"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n");
    }

    public int Port { get; }

    public string Address => $"127.0.0.1:{Port}";

    private string ConfigPath => _directory.Combine("mosquitto.conf");

    public static Task<MosquittoBroker> StartAsync() => StartAsync(null, FreePort.Next());

    /// <summary>Starts Mosquitto with <paramref name="configuration"/> (a whole mosquitto.conf) whose MQTT listener is <paramref name="port"/>.</summary>
    public static async Task<MosquittoBroker> StartAsync(string? configuration, int port)
    {
        var binary = new[] { "/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto", "/usr/local/bin/mosquitto" }
            .FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException(
                "The mosquitto binary was not found (looked in /usr/sbin, /usr/bin, /usr/local). Install it: apt-get install -y mosquitto");
        var broker = new MosquittoBroker(binary, port, configuration);
        await broker.StartAgainAsync();
        return broker;
    }

    public async Task StartAgainAsync()
    {
        var info = new ProcessStartInfo(_binary, ["-c", ConfigPath])
        {
            WorkingDirectory = _directory.Path,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        var process = Process.Start(info) ?? throw new InvalidOperationException("mosquitto did not start");
        process.ErrorDataReceived += (_, e) => { lock (_output) { _output.AppendLine(e.Data); } };
        process.OutputDataReceived += (_, e) => { lock (_output) { _output.AppendLine(e.Data); } };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        _process = process;

        await Eventually.TrueAsync(
            async () =>
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"mosquitto exited with {process.ExitCode}: {Output}");
                }

                try
                {
                    using var probe = new TcpClient();
                    await probe.ConnectAsync(IPAddress.Loopback, Port);
                    return true;
                }
                catch (SocketException)
                {
                    return false;
                }
            },
            () => $"mosquitto does not listen on {Port}: {Output}",
            TimeSpan.FromSeconds(10));
    }

    public async Task StopAsync()
    {
        if (_process is not { } process)
        {
            return;
        }

        _process = null;
        if (!process.HasExited)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }

        process.Dispose();
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _directory.Dispose();
    }
}

/// <summary>Which broker a test publishes on.</summary>
public enum BrokerKind
{
    Embedded,
    Mosquitto,
}

/// <summary>A Core host with MQTT status, its broker, and a subscriber on it.</summary>
internal sealed class MqttStatusRig : IAsyncDisposable
{
    private MosquittoBroker? _mosquitto;

    public required CoreHost Host { get; init; }

    public required MqttRecorder Recorder { get; init; }

    public required string Prefix { get; init; }

    public MosquittoBroker? Mosquitto { get => _mosquitto; init => _mosquitto = value; }

    public int Port { get; init; }

    public MqttStatusPublisher Publisher => Host.Services.GetRequiredService<MqttStatusPublisher>();

    public string Topic(int id, string kind) => (Prefix.Length == 0 ? string.Empty : Prefix + "/") + $"nrp_simulation/{id}/{kind}";

    public static async Task<MqttStatusRig> StartAsync(BrokerKind kind, string prefix, MosquittoBroker? shared = null)
    {
        var mosquitto = kind == BrokerKind.Mosquitto ? shared ?? await MosquittoBroker.StartAsync() : null;
        var port = mosquitto?.Port ?? FreePort.Next();
        var host = new CoreHost(
            configure: settings =>
            {
                settings["NrpHost:Mqtt:Prefix"] = prefix;
                if (mosquitto is not null)
                {
                    settings["NrpHost:Mqtt:Broker"] = mosquitto.Address;
                }
                else
                {
                    settings["NrpHost:Mqtt:EmbeddedPort"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }
            },
            services: builder => builder.AddMqttStatus());
        await host.StartHostedServicesAsync();
        var recorder = await MqttRecorder.ConnectTcpAsync(port);
        var rig = new MqttStatusRig { Host = host, Recorder = recorder, Prefix = prefix, Mosquitto = shared is null ? mosquitto : null, Port = port };
        await rig.WaitConnectedAsync();
        return rig;
    }

    public Task WaitConnectedAsync() =>
        Eventually.TrueAsync(() => Publisher.IsConnected && Recorder.IsConnected, "the publisher or the subscriber did not connect");

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Recorder.DisposeAsync();
            await Host.DisposeAsync();
        }
        finally
        {
            if (_mosquitto is not null)
            {
                await _mosquitto.DisposeAsync();
            }
        }
    }
}
