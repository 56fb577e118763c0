using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Api;

/// <summary>
/// The NrpHost meter and activity source through OpenTelemetry: <c>/metrics</c> in Prometheus text
/// (<c>NrpHost:Api:PrometheusMetrics</c>), and OTLP/HTTP to a receiver the test starts (the standard <c>OTEL_*</c>
/// settings). In-process simulations, so the step-duration histogram is recorded in this process.
/// </summary>
[Collection(PythonCollection.Name)]
public sealed partial class TelemetryTests
{
    private const string Token = "telemetry-api-token-0123456789";

    [Fact]
    public async Task Metrics_AfterASimulation_ShowItsCountersAndStepDurationHistogram_InSeconds_BehindTheToken()
    {
        await using var host = await ApiHost.StartAsync(s =>
        {
            s["NrpHost:Simulation:Isolation"] = "InProcess";
            s["NrpHost:Api:PrometheusMetrics"] = "true";
            s["NrpHost:Api:Token"] = Token;
        });
        host.Experiment("scraped").WithConfig(timeout: 1000).WithFakeClient("step_seconds", 0.001).Build();
        var created = await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"scraped","profile":true}""", token: Token);
        Assert.True(created.Code == 201, created.Text);
        Assert.Equal(200, (await host.PutStateAsync(0, "started", Token)).Code);
        await Eventually.TrueAsync(() => host.Manager.Find(0)!.Clock.Iterations >= 20, "the simulation did not step");
        Assert.Equal(200, (await host.PutStateAsync(0, "stopped", Token)).Code);

        Assert.Equal(401, (await host.GetAsync("/metrics")).Code);
        var scrape = await host.GetAsync("/metrics", Token);

        Assert.Equal(200, scrape.Code);
        Assert.Equal("text/plain", scrape.MediaType);
        Assert.Matches(@"(?m)^nrphost_simulation_state_changes_total\{[^}]*state=""stopped""[^}]*\} [1-9]", scrape.Text);
        Assert.Matches(@"(?m)^nrphost_simulation_steps_total(\{[^}]*\})? [1-9]", scrape.Text);
        Assert.Matches(@"(?m)^nrphost_simulation_stop_duration_seconds_count(\{[^}]*\})? [1-9]", scrape.Text);
        var runLoop = StepBucket().Matches(scrape.Text).Where(m => m.Groups["phase"].Value == "run_loop").ToList();
        Assert.NotEmpty(runLoop);
        Assert.Contains(runLoop, m => m.Groups["le"].Value == "0.001"); // buckets in seconds
        Assert.True(runLoop.Max(m => long.Parse(m.Groups["count"].Value, System.Globalization.CultureInfo.InvariantCulture)) >= 20, scrape.Text);
    }

    [Fact]
    public async Task WithoutTheSetting_ThereIsNoMetricsEndpoint()
    {
        await using var host = await ApiHost.StartAsync();

        Assert.Equal(404, (await host.GetAsync("/metrics")).Code);
    }

    [Fact]
    public async Task Otlp_SendsTheSpansOfACreateStartStopCycle_WithTheirIds_AndTheMetrics()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var host = await ApiHost.StartAsync(s =>
        {
            s["NrpHost:Simulation:Isolation"] = "InProcess";
            s["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint;
            s["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
            s["OTEL_BSP_SCHEDULE_DELAY"] = "100";
            s["OTEL_METRIC_EXPORT_INTERVAL"] = "200";
            s["OTEL_SERVICE_NAME"] = "nrphost-under-test";
        });
        await using (host)
        {
            host.Experiment("otlp-traced").WithConfig(timeout: 1000).WithFakeClient("step_seconds", 0.001).Build();
            Assert.Equal(201, (await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"otlp-traced"}""")).Code);
            Assert.Equal(200, (await host.PutStateAsync(0, "started")).Code);
            Assert.Equal(200, (await host.PutStateAsync(0, "stopped")).Code);

            // Protobuf carries strings as UTF-8 bytes: the span names, attribute keys and values are in the bodies.
            var traces = await receiver.WaitForAsync("/v1/traces", body => body.Contains("otlp-traced", StringComparison.Ordinal) && body.Contains("simulation.stop", StringComparison.Ordinal));
            foreach (var expected in new[] { "simulation.create", "simulation.start", "simulation.archive", "nrphost.simulation.id", "nrphost.experiment.id", "nrphost-under-test" })
            {
                Assert.Contains(expected, traces, StringComparison.Ordinal);
            }

            // Exported every 200 ms: the stop's duration is in the first export after the stop ended.
            await receiver.WaitForAsync("/v1/metrics", body => body.Contains("nrphost.simulation.state_changes", StringComparison.Ordinal)
                && body.Contains("nrphost.simulation.stop.duration", StringComparison.Ordinal));
        }

        Assert.All(receiver.ContentTypes, type => Assert.Equal("application/x-protobuf", type));
    }

    [GeneratedRegex(@"(?m)^nrphost_step_duration_seconds_bucket\{(?=[^}]*phase=""(?<phase>[^""]+)"")(?=[^}]*le=""(?<le>[^""]+)"")[^}]*\} (?<count>\d+)")]
    private static partial Regex StepBucket();

    /// <summary>An OTLP/HTTP receiver on loopback: keeps each request's body (as text, for the strings in it) by path.</summary>
    private sealed class OtlpReceiver : IAsyncDisposable
    {
        private readonly ConcurrentQueue<(string Path, string Body)> _received = new();
        private readonly Changes _changes = new();
        private WebApplication _app = null!;

        public string Endpoint { get; private set; } = null!;

        public ConcurrentQueue<string> ContentTypes { get; } = new();

        public static async Task<OtlpReceiver> StartAsync()
        {
            var receiver = new OtlpReceiver();
            (receiver._app, receiver.Endpoint) = await LoopbackApp.StartAsync(app => app.MapPost("/v1/{signal}", async (HttpRequest request) =>
            {
                using var body = new MemoryStream();
                await request.Body.CopyToAsync(body);
                receiver.ContentTypes.Enqueue(request.ContentType ?? string.Empty);
                receiver._received.Enqueue((request.Path.Value!, Encoding.UTF8.GetString(body.ToArray())));
                receiver._changes.Notify();
                return Results.Ok();
            }));
            return receiver;
        }

        /// <summary>Waits until what was sent to <paramref name="path"/> so far (every body, in the order received) is what <paramref name="wanted"/> accepts.</summary>
        public Task<string> WaitForAsync(string path, Func<string, bool> wanted) =>
            _changes.WaitAsync(
                () => string.Concat(_received.Where(r => r.Path == path).Select(r => r.Body)) is var all && wanted(all) ? all : null,
                TimeSpan.FromSeconds(30),
                () => $"nothing wanted at {path}; received {string.Join(", ", _received.Select(r => r.Path))}");

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
