using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NrpHost.Messaging;
using NrpHost.Simulation;
using Xunit.Abstractions;

namespace NrpHost.Tests.Messaging;

/// <summary>
/// The figure of benchmarks/mqtt: time from the embedded broker accepting connections again to the first status
/// message a subscriber receives, for several outage lengths. It prints the times and asserts only that status
/// resumes (speed is never asserted by tests). In the normal suite it runs one short outage; with
/// <c>NRPHOST_FIGURES=1</c> it runs the outage series of benchmarks/mqtt/results.md:
/// <c>NRPHOST_FIGURES=1 dotnet test NrpHost.Tests --filter "FullyQualifiedName~MqttReconnectFigure" --logger "console;verbosity=detailed"</c>.
/// </summary>
public sealed class MqttReconnectFigure(ITestOutputHelper output)
{
    [Fact]
    public async Task StatusResumes_AfterTheBrokerReturns()
    {
        var port = FreePort.Next();
        var options = Options.Create(new MqttOptions { EmbeddedPort = port, Prefix = "figure" });
        var broker = new EmbeddedMqttBroker(options, [], NullLogger<EmbeddedMqttBroker>.Instance);
        await broker.StartAsync(CancellationToken.None);
        await using var publisher = new MqttStatusPublisher(new OneRunningSimulation(), options, TimeProvider.System, NullLogger<MqttStatusPublisher>.Instance);
        await publisher.StartAsync(CancellationToken.None);
        await using var recorder = await MqttRecorder.ConnectTcpAsync(port);
        const string topic = "figure/nrp_simulation/0/status";
        await recorder.WaitForAsync(topic, m => m.State == "started");

        int[] outages = Environment.GetEnvironmentVariable("NRPHOST_FIGURES") == "1" ? [1, 2, 3, 5, 8, 13, 21] : [1];
        foreach (var outage in outages)
        {
            await broker.StopAsync(CancellationToken.None);
            await Task.Delay(TimeSpan.FromSeconds(outage)); // the outage is the scenario, not a wait for a condition
            var mark = recorder.LastSequence;
            await broker.StartAsync(CancellationToken.None);
            var back = Stopwatch.StartNew();
            await recorder.WaitForAsync(topic, m => m.State == "started", mark, TimeSpan.FromSeconds(30));
            output.WriteLine($"outage {outage,2} s: first status {back.Elapsed.TotalSeconds:F2} s after the broker returned");
        }

        await publisher.StopAsync(CancellationToken.None);
        await broker.DisposeAsync();
    }

    private sealed class OneRunningSimulation : ISimulationManager
    {
        private readonly SimulationSnapshot _running = new(0, SimulationState.Started, "exp", "simulation_config.json", "main_script.py", "figure",
            DateTimeOffset.UnixEpoch, null, new SimulationClock(1, 1, 1, 100));

        public event EventHandler<SimulationStateChangedEventArgs>? StateChanged { add { } remove { } }

        public event EventHandler<SimulationErrorEventArgs>? RuntimeError { add { } remove { } }

        public event EventHandler<SimulationProgressEventArgs>? Progress { add { } remove { } }

        public Task<CreateSimulationResult> CreateAsync(SimulationRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public SimulationSnapshot? Find(int id) => id == 0 ? _running : null;

        public IReadOnlyList<SimulationSnapshot> List() => [_running];

        public Task<StateChangeResult> RequestStateAsync(int id, SimulationState target, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }
}
