using System.Diagnostics.Metrics;
using NrpHost.Simulation;
using NrpHost.Telemetry;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Simulation;

[Collection(PythonCollection.Name)]
public sealed class SimulationMetricsTests
{
    [Fact]
    public async Task Metrics_ReportStepsActiveSimulationsAndStateChanges()
    {
        await using var host = new CoreHost();
        host.Experiment().WithConfig(timeout: 1000).Build();
        var values = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == NrpHostTelemetry.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((i, v, _, _) => { lock (values) { values[i.Name] = values.GetValueOrDefault(i.Name) + v; } });
        listener.SetMeasurementEventCallback<int>((i, v, _, _) => { lock (values) { values[i.Name] = v; } });
        listener.Start();

        var sim = await host.CreatePausedAsync();
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        var running = await host.WaitForAsync(sim.Id, s => s.Clock.Iterations > 5);
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Paused);
        lock (values)
        {
            values.Remove("nrphost.simulation.steps");
        }

        listener.RecordObservableInstruments();

        lock (values)
        {
            Assert.True(values["nrphost.simulation.steps"] >= running.Clock.Iterations);
            Assert.True(values["nrphost.simulation.active"] >= 1);
            Assert.True(values["nrphost.simulation.state_changes"] >= 3); // created, paused, started, paused
        }
    }
}
