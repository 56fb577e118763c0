using Microsoft.Extensions.Hosting;

namespace NrpHost.Simulation;

/// <summary>
/// At start-up, in the background: the simulation directories an earlier process left behind (it crashed, or was
/// killed) have their logs archived and handed to storage (or the unsent-logs folder), and are removed. Directories
/// that another live process still uses are left alone (see <see cref="SimulationWorkspace"/>).
/// </summary>
internal sealed class SimulationRecoveryService(SimulationManager manager) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _recovery = Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _recovery = Task.Run(() => manager.RecoverAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _recovery.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping: what is not recovered now is recovered at the next start.
        }
    }

    public void Dispose() => _stopping.Dispose();
}
