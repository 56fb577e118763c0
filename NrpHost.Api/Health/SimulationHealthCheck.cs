using Microsoft.Extensions.Diagnostics.HealthChecks;
using NrpHost.Simulation;

namespace NrpHost.Api.Health;

/// <summary>
/// The simulations' part of <c>/health</c>: degraded once a script had to be abandoned (it refused to stop, so its
/// thread may still be running Python in this process; restarting the host reclaims it).
/// </summary>
internal sealed class SimulationHealthCheck(SimulationManager manager) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var abandoned = manager.AbandonedScripts;
        var active = manager.List().Count(s => !s.State.IsFinal());
        return Task.FromResult(abandoned == 0
            ? HealthCheckResult.Healthy($"{active} active")
            : HealthCheckResult.Degraded(
                $"{abandoned} script(s) refused to stop and were abandoned; their threads may still run in this process. Restart the host to reclaim them."));
    }
}
