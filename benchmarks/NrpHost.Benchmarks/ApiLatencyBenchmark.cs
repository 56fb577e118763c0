using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using MQTTnet;
using NrpHost.Api;

namespace NrpHost.Benchmarks;

/// <summary>
/// The NRP backend's figures over real HTTP and MQTT on loopback (the API as the Frontend drives it, the embedded
/// broker, the embedded nrp-core runtime with one no-op engine): create, create until the first MQTT status, start
/// until the first MQTT status, and stop in its three situations. One operation per iteration; the simulation the
/// operation needs is prepared outside the measurement.
/// </summary>
[Config(typeof(LatencyConfig))]
public class ApiLatencyBenchmark
{
    private readonly ConcurrentQueue<(int Id, string State)> _statuses = new();
    private WebApplication? _app;
    private HttpClient? _http;
    private IMqttClient? _mqtt;
    private string? _root;
    private int _id = -1;
    private int _brokerPort;

    [GlobalSetup]
    public void Setup()
    {
        _ = PythonHost.Runtime;
        _root = Path.Combine(Path.GetTempPath(), "nrphost-apibench-" + Guid.NewGuid().ToString("N")[..8]);
        PythonHost.WriteExperiment(_root, "while True:\n    nrp.run_loop()\n", timeout: 1000000);
        var broker = _brokerPort = PythonHost.FreePort();
        _app = NrpHostApi.Build([], builder =>
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["NrpHost:Storage:LocalRoot"] = Path.Combine(_root, "experiments"),
                ["NrpHost:Simulation:WorkDirectory"] = Path.Combine(_root, "work"),
                ["NrpHost:Mqtt:EmbeddedPort"] = broker.ToString(System.Globalization.CultureInfo.InvariantCulture),
            });
        });
        _app.StartAsync().GetAwaiter().GetResult();
        _http = new HttpClient { BaseAddress = new Uri(_app.Urls.First()), Timeout = TimeSpan.FromSeconds(60) };

        _mqtt = new MqttClientFactory().CreateMqttClient();
        _mqtt.ApplicationMessageReceivedAsync += e =>
        {
            var parts = e.ApplicationMessage.Topic.Split('/');
            using var body = JsonDocument.Parse(Encoding.UTF8.GetString(e.ApplicationMessage.Payload));
            if (body.RootElement.TryGetProperty("state", out var state))
            {
                _statuses.Enqueue((int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), state.GetString()!));
            }

            return Task.CompletedTask;
        };
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                _mqtt.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", broker).Build()).GetAwaiter().GetResult();
                break;
            }
            catch (MQTTnet.Exceptions.MqttCommunicationException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(100);
            }
        }

        _mqtt.SubscribeAsync("nrp_simulation/+/status").GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        StopCurrent();
        _mqtt?.DisconnectAsync().GetAwaiter().GetResult();
        _mqtt?.Dispose();
        _http?.Dispose();
        _app?.StopAsync().GetAwaiter().GetResult();
        _app?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        try
        {
            Directory.Delete(_root!, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [IterationSetup(Targets = [nameof(Create), nameof(CreateUntilStatusPaused), nameof(CreateThenLateSubscriberSeesPaused)])]
    public void Clear()
    {
        StopCurrent();
        _statuses.Clear();
    }

    [Benchmark(Description = "POST /simulation -> 201 (paused)")]
    public void Create() => _id = Post();

    [Benchmark(Description = "POST /simulation -> first MQTT status 'paused'")]
    public void CreateUntilStatusPaused()
    {
        _id = Post();
        WaitForStatus(_id, "paused");
    }

    /// <summary>
    /// A browser that subscribes only after the 201 (as the NRP Frontend does): a new MQTT connection and subscription
    /// to the simulation's status, until the retained <c>paused</c> arrives, timed from the POST.
    /// </summary>
    [Benchmark(Description = "POST -> 201, then a new subscriber gets 'paused' (retained)")]
    public void CreateThenLateSubscriberSeesPaused()
    {
        _id = Post();
        using var late = new MqttClientFactory().CreateMqttClient();
        var paused = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        late.ApplicationMessageReceivedAsync += e =>
        {
            if (Encoding.UTF8.GetString(e.ApplicationMessage.Payload).Contains("\"paused\"", StringComparison.Ordinal))
            {
                paused.TrySetResult();
            }

            return Task.CompletedTask;
        };
        late.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", _brokerPort).Build()).GetAwaiter().GetResult();
        late.SubscribeAsync($"nrp_simulation/{_id}/status").GetAwaiter().GetResult();
        paused.Task.WaitAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
        late.DisconnectAsync().GetAwaiter().GetResult();
    }

    [IterationSetup(Target = nameof(StartUntilStatusStarted))]
    public void CreatePaused()
    {
        Clear();
        _id = Post();
        WaitForStatus(_id, "paused");
    }

    [Benchmark(Description = "PUT started -> first MQTT status 'started'")]
    public void StartUntilStatusStarted()
    {
        Put("started");
        WaitForStatus(_id, "started");
    }

    [IterationSetup(Target = nameof(StopRightAfterCreate))]
    public void ClearForStop() => Clear();

    [Benchmark(Description = "POST then at once PUT stopped -> stopped")]
    public void StopRightAfterCreate()
    {
        _id = Post();
        Put("stopped");
    }

    [IterationSetup(Target = nameof(StopPausedNeverStarted))]
    public void CreateForStop()
    {
        Clear();
        _id = Post();
    }

    [Benchmark(Description = "PUT stopped, paused and never started")]
    public void StopPausedNeverStarted() => Put("stopped");

    [IterationSetup(Target = nameof(StopAfterRunning))]
    public void RunThenPause()
    {
        Clear();
        _id = Post();
        Put("started");
        Thread.Sleep(20);
        Put("paused");
    }

    [Benchmark(Description = "PUT stopped, paused after running")]
    public void StopAfterRunning() => Put("stopped");

    [IterationSetup(Target = nameof(StopWhileRunning))]
    public void Run()
    {
        Clear();
        _id = Post();
        Put("started");
        Thread.Sleep(20);
    }

    [Benchmark(Description = "PUT stopped while running")]
    public void StopWhileRunning() => Put("stopped");

    private int Post()
    {
        using var content = new StringContent("""{"experimentID":"bench"}""", Encoding.UTF8, "application/json");
        using var response = _http!.PostAsync(new Uri("/simulation", UriKind.Relative), content).GetAwaiter().GetResult();
        var text = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"POST: {(int)response.StatusCode} {text}");
        }

        using var body = JsonDocument.Parse(text);
        return body.RootElement.GetProperty("simulationID").GetInt32();
    }

    private void Put(string state)
    {
        using var content = new StringContent($$"""{"state":"{{state}}"}""", Encoding.UTF8, "application/json");
        using var response = _http!.PutAsync(new Uri($"/simulation/{_id}/state", UriKind.Relative), content).GetAwaiter().GetResult();
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"PUT {state}: {(int)response.StatusCode} {response.Content.ReadAsStringAsync().GetAwaiter().GetResult()}");
        }
    }

    private void WaitForStatus(int id, string state)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!_statuses.Any(s => s.Id == id && s.State == state))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"no status '{state}' for simulation {id}");
            }

            Thread.Yield();
        }
    }

    private void StopCurrent()
    {
        if (_id < 0 || _http is null)
        {
            return;
        }

        using var response = _http.GetAsync(new Uri($"/simulation/{_id}/state", UriKind.Relative)).GetAwaiter().GetResult();
        var text = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
        if (!text.Contains("stopped", StringComparison.Ordinal) && !text.Contains("failed", StringComparison.Ordinal))
        {
            Put("stopped");
        }
    }

}
