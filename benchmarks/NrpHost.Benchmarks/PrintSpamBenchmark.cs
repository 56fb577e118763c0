using System.Net;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using NrpHost.Api;

namespace NrpHost.Benchmarks;

/// <summary>
/// The API's latency (<c>GET /simulation/{id}/state</c>, one request per measurement, real HTTP on loopback) while a
/// simulation's script prints as fast as it can, against the same API with a quiet simulation. The host logs the way
/// a deployment does: every line that reaches <c>ILogger</c> is formatted and written out (here to a null stream),
/// so the output bridge's rate limit is what stands between the script and the API.
/// </summary>
[Config(typeof(Config))]
public class PrintSpamBenchmark
{
    private WebApplication? _app;
    private HttpClient? _http;
    private string? _root;
    private int _id;

    /// <summary>Whether the running simulation prints as fast as it can.</summary>
    [Params(false, true)]
    public bool PrintSpam { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _ = PythonHost.Runtime;
        _root = Path.Combine(Path.GetTempPath(), "nrphost-spambench-" + Guid.NewGuid().ToString("N")[..8]);
        PythonHost.WriteExperiment(_root, PrintSpam
            ? "i = 0\nwhile True:\n    for _ in range(1000):\n        i += 1\n        print('spam line', i, 'x' * 60)\n    nrp.run_loop()\n"
            : "import time\nwhile True:\n    time.sleep(0.001)\n    nrp.run_loop()\n", timeout: 100000000);
        _app = NrpHostApi.Build([], builder =>
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(new FormattingSink());
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["NrpHost:Storage:LocalRoot"] = Path.Combine(_root, "experiments"),
                ["NrpHost:Simulation:WorkDirectory"] = Path.Combine(_root, "work"),
                ["NrpHost:Mqtt:EmbeddedPort"] = PythonHost.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            });
        });
        _app.StartAsync().GetAwaiter().GetResult();
        _http = new HttpClient { BaseAddress = new Uri(_app.Urls.First()), Timeout = TimeSpan.FromSeconds(60) };
        _id = Send(HttpMethod.Post, "/simulation", """{"experimentID":"bench"}""", HttpStatusCode.Created).GetProperty("simulationID").GetInt32();
        Send(HttpMethod.Put, $"/simulation/{_id}/state", """{"state":"started"}""", HttpStatusCode.OK);
        Thread.Sleep(1000); // let the output bridge reach its steady state
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Send(HttpMethod.Put, $"/simulation/{_id}/state", """{"state":"stopped"}""", HttpStatusCode.OK);
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

    [Benchmark(Description = "GET /simulation/{id}/state while the simulation runs")]
    public JsonElement GetState() => Send(HttpMethod.Get, $"/simulation/{_id}/state", null, HttpStatusCode.OK);

    private JsonElement Send(HttpMethod method, string path, string? body, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = _http!.SendAsync(request).GetAwaiter().GetResult();
        var text = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
        if (response.StatusCode != expected)
        {
            throw new InvalidOperationException($"{method} {path}: {(int)response.StatusCode} {text}");
        }

        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddJob(Job.Default
                .WithToolchain(BenchmarkDotNet.Toolchains.InProcess.Emit.InProcessEmitToolchain.Instance)
                .WithStrategy(RunStrategy.Monitoring)
                .WithWarmupCount(20)
                .WithIterationCount(2000)
                .WithInvocationCount(1)
                .WithUnrollFactor(1));
            AddColumn(BenchmarkDotNet.Columns.StatisticColumn.Median, BenchmarkDotNet.Columns.StatisticColumn.P95, new P99Column(), BenchmarkDotNet.Columns.StatisticColumn.Max);
        }
    }

    /// <summary>A logger that does what a real one does per entry (format it, write it out), into a null stream.</summary>
    private sealed class FormattingSink : ILoggerProvider
    {
        private readonly Lock _lock = new();
        private readonly StreamWriter _out = new(Stream.Null);

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, this);

        public void Dispose() => _out.Dispose();

        private void Write(string category, LogLevel level, string text)
        {
            lock (_lock)
            {
                _out.Write(DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                _out.Write(' ');
                _out.Write(level.ToString());
                _out.Write(": ");
                _out.Write(category);
                _out.Write(' ');
                _out.WriteLine(text);
            }
        }

        private sealed class Logger(string category, FormattingSink sink) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    sink.Write(category, logLevel, formatter(state, exception));
                }
            }
        }
    }
}
