using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MQTTnet;
using NrpHost.Messaging;
using NrpHost.Simulation;

namespace NrpHost.Benchmarks;

/// <summary>
/// How soon status messages resume after the broker comes back: the embedded broker is stopped for
/// <see cref="OutageSeconds"/> (outside the measurement), then each iteration restarts it and waits for the first
/// status message a subscriber (the Frontend's part) receives.
/// </summary>
[Config(typeof(ReconnectConfig))]
public class MqttReconnectBenchmark
{
    private const string Topic = "bench/nrp_simulation/0/status";
    private EmbeddedMqttBroker? _broker;
    private MqttStatusPublisher? _publisher;
    private IMqttClient? _subscriber;
    private MqttClientOptions? _subscriberOptions;
    private volatile int _received;

    [Params(1, 3, 8)]
    public int OutageSeconds { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var port = PythonHost.FreePort();
        var options = Options.Create(new MqttOptions { EmbeddedPort = port, Prefix = "bench" });
        var identity = new MqttPublisherIdentity("bench");
        _broker = new EmbeddedMqttBroker(options, [], [], identity, NullLogger<EmbeddedMqttBroker>.Instance);
        _broker.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        _publisher = new MqttStatusPublisher(new OneRunningSimulation(), options, identity, _broker, TimeProvider.System, NullLogger<MqttStatusPublisher>.Instance);
        _publisher.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        _subscriber = new MqttClientFactory().CreateMqttClient();
        _subscriberOptions = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithCleanSession(true).Build();
        _subscriber.ApplicationMessageReceivedAsync += e =>
        {
            if (e.ApplicationMessage.Topic == Topic)
            {
                Interlocked.Increment(ref _received);
            }

            return Task.CompletedTask;
        };
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _subscriber?.Dispose();
        _publisher?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _broker?.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [IterationSetup]
    public void Outage()
    {
        _broker!.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
        Thread.Sleep(TimeSpan.FromSeconds(OutageSeconds)); // the outage is the scenario
        _received = 0;
    }

    [Benchmark(Description = "broker back -> first status received")]
    public void Resume()
    {
        _broker!.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (_received == 0)
        {
            if (!_subscriber!.IsConnected)
            {
                try
                {
                    _subscriber.ConnectAsync(_subscriberOptions!).GetAwaiter().GetResult();
                    _subscriber.SubscribeAsync(Topic).GetAwaiter().GetResult();
                }
                catch (MQTTnet.Exceptions.MqttCommunicationException)
                {
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("status did not resume within 30 s");
            }

            Thread.Sleep(10);
        }
    }


    private sealed class ReconnectConfig : BenchmarkDotNet.Configs.ManualConfig
    {
        public ReconnectConfig()
        {
            AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithStrategy(RunStrategy.Monitoring)
                .WithWarmupCount(1).WithIterationCount(4).WithInvocationCount(1).WithUnrollFactor(1));
            AddColumn(BenchmarkDotNet.Columns.StatisticColumn.Min, BenchmarkDotNet.Columns.StatisticColumn.Median, BenchmarkDotNet.Columns.StatisticColumn.Max);
        }
    }

    /// <summary>One simulation, started, for the publisher to tick about.</summary>
    private sealed class OneRunningSimulation : ISimulationManager
    {
        private readonly SimulationSnapshot _running = new()
        {
            Id = 0,
            State = SimulationState.Started,
            ExperimentId = "exp",
            Owner = "bench",
            CreationDate = DateTimeOffset.UnixEpoch,
            Clock = new SimulationClock { RealTime = 1, SimulationTime = 1, SimulationTimeLeft = 1, Iterations = 100 },
        };

        public event EventHandler<SimulationStateChangedEventArgs>? StateChanged { add { } remove { } }

        public event EventHandler<SimulationErrorEventArgs>? RuntimeError { add { } remove { } }

        public event EventHandler<SimulationProgressEventArgs>? Progress { add { } remove { } }

        public event EventHandler<SimulationOutputEventArgs>? Output { add { } remove { } }

        public Task<CreateSimulationResult> CreateAsync(SimulationRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public SimulationSnapshot? Find(int id) => id == 0 ? _running : null;

        public IReadOnlyList<SimulationSnapshot> List() => [_running];

        public Task<StateChangeResult> RequestStateAsync(int id, SimulationState target, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }
}
