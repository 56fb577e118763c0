using Microsoft.Extensions.Hosting;
using NrpHost.Simulation;

namespace NrpHost.Isolation;

/// <summary>Starts the warm spare worker with the host (<see cref="SimulationIsolation.Process"/> only), so the first simulation does not wait for one.</summary>
internal sealed class WorkerPoolService(SimulationManager manager) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        manager.WarmUp();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
