using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using NrpHost.Simulation;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Simulation;

[Collection(PythonCollection.Name)]
public sealed class SimulationClockTests
{
    [Fact]
    public async Task RealTime_CountsOnlyTheTimeSpentStarted()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var host = new CoreHost(services: b => b.Services.AddSingleton<TimeProvider>(time));
        host.Experiment().WithConfig(timeout: 1000).Build();
        var sim = await host.CreatePausedAsync();
        time.Advance(TimeSpan.FromSeconds(30)); // paused, never started: not counted
        Assert.Equal(0, host.Manager.Find(sim.Id)!.Clock.RealTime);

        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForAsync(sim.Id, s => s.Clock.Iterations > 0);
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(2, host.Manager.Find(sim.Id)!.Clock.RealTime, 6);

        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Paused);
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(2, host.Manager.Find(sim.Id)!.Clock.RealTime, 6);

        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        time.Advance(TimeSpan.FromSeconds(1));
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);
        time.Advance(TimeSpan.FromSeconds(10));

        var final = host.Manager.Find(sim.Id)!.Clock;
        Assert.Equal(3, final.RealTime, 6);
        Assert.True(final.Iterations > 0);
        Assert.Equal(final.Iterations * 0.01, final.SimulationTime, 6);
        Assert.Equal((100_000 - final.Iterations) * 0.01, final.SimulationTimeLeft, 6);
    }

    [Fact]
    public async Task Iterations_OfAFailingRunLoop_AreNotCounted()
    {
        await using var host = new CoreHost();
        host.Experiment().WithConfig(timeout: 100).WithFakeClient("fail_at_step", 7)
            .WithScript("for _ in range(20):\n    try:\n        nrp.run_loop()\n    except RuntimeError:\n        pass\n").Build();
        var sim = await host.CreatePausedAsync();

        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        var done = await host.WaitForStateAsync(sim.Id, SimulationState.Completed);

        Assert.Equal(7, done.Clock.Iterations);
    }
}
