using System.Collections.Concurrent;
using System.Diagnostics;
using NrpHost.Simulation;
using NrpHost.Storage;
using NrpHost.Telemetry;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Simulation;

[Collection(PythonCollection.Name)]
public sealed class SimulationTelemetryTests
{
    [Fact]
    public async Task CreateStartPauseStop_EachMakeAnActivity_TaggedWithTheSimulationAndExperiment()
    {
        var activities = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == NrpHostTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var host = new CoreHost();
        host.Experiment("traced").WithConfig(timeout: 1000).WithFakeClient("step_seconds", 0.001).Build();

        var sim = await host.CreatePausedAsync("traced");
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Paused);
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);

        // In the order they ended: the archive is part of the stop.
        var ours = activities.Where(a => Equals(a.GetTagItem("nrphost.experiment.id"), "traced")).ToList();
        Assert.Equal(
            ["simulation.create", "simulation.start", "simulation.pause", "simulation.resume", "simulation.archive", "simulation.stop"],
            ours.Select(a => a.OperationName));
        Assert.All(ours, a => Assert.Equal(sim.Id, a.GetTagItem("nrphost.simulation.id")));
        Assert.Equal(ours[^1].SpanId, ours[^2].ParentSpanId);
    }

    [Fact]
    public void TheBearerToken_NeverAppearsWhenARequestOrLocationIsPrinted()
    {
        var request = new SimulationRequest("exp") { Token = "s3cr3t-token", Owner = "alice" };
        var location = new ExperimentLocation("exp") { Token = "s3cr3t-token", ContextId = "ctx" };

        Assert.DoesNotContain("s3cr3t-token", request.ToString(), StringComparison.Ordinal);
        Assert.Contains("alice", request.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t-token", location.ToString(), StringComparison.Ordinal);
        Assert.Contains("ctx", location.ToString(), StringComparison.Ordinal);
    }
}
