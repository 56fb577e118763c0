using Microsoft.Extensions.DependencyInjection;
using NrpHost.Python;
using NrpHost.Simulation;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Simulation;

/// <summary>The simulation manager works with what the container gives it, so an application can replace a part.</summary>
[Collection(PythonCollection.Name)]
public sealed class ReplaceablePartsTests
{
    [Fact]
    public async Task AReplacedPythonRuntime_IsTheOneTheManagerAsks()
    {
        var replaced = new UnavailablePython("this host has no Python for simulations (replaced in a test)");
        await using var host = new CoreHost(services: b => b.Services.AddSingleton<IPythonRuntime>(replaced));
        host.Experiment().Build();

        var created = await host.Manager.CreateAsync(new SimulationRequest("exp"));

        Assert.Equal(CreateSimulationStatus.Unavailable, created.Status);
        Assert.Contains(replaced.Reason, created.Message, StringComparison.Ordinal);
        Assert.Empty(host.Manager.List());
        Assert.True(replaced.Asked > 0);
        var health = await host.Services.GetRequiredService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>().CheckHealthAsync();
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy, health.Entries["python"].Status);
    }

    private sealed class UnavailablePython(string reason) : IPythonRuntime
    {
        private int _asked;

        public string Reason { get; } = reason;

        public int Asked => Volatile.Read(ref _asked);

        public void EnsureInitialized() => throw new PythonNotAvailableException(Reason);

        public PythonRuntimeStatus GetStatus()
        {
            Interlocked.Increment(ref _asked);
            return new PythonRuntimeStatus { State = PythonRuntimeState.Failed, Error = Reason };
        }
    }
}
