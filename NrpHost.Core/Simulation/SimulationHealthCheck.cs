using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace NrpHost.Simulation;

/// <summary>
/// The simulations' part of the health report (<c>simulations</c>): healthy with the number of active simulations,
/// degraded once a simulation's thread had to be abandoned (it refused to stop or a phase overran its deadline, so it
/// may still run Python in this process; restarting the host reclaims it).
/// </summary>
public sealed class SimulationHealthCheck : IHealthCheck
{
    private readonly SimulationManager _manager;

    internal SimulationHealthCheck(SimulationManager manager) => _manager = manager;

    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var abandoned = _manager.AbandonedScripts;
        var active = _manager.List().Count(s => !s.State.IsFinal());
        return Task.FromResult(abandoned == 0
            ? HealthCheckResult.Healthy($"{active} active")
            : HealthCheckResult.Degraded(
                $"{active} active; {abandoned} simulation thread(s) did not end when asked and were abandoned; they may still run in this process. Restart the host to reclaim them."));
    }
}
