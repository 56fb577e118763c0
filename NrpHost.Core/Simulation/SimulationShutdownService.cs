using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace NrpHost.Simulation;

/// <summary>
/// Stops the running simulations as soon as the host starts shutting down — before hosted services such as the MQTT
/// publisher and the embedded broker stop — so their final state is still published and their logs are archived.
/// </summary>
internal sealed class SimulationShutdownService(SimulationManager manager, IOptions<SimulationOptions> options, IHostApplicationLifetime? lifetime = null)
    : IHostedService, IDisposable
{
    private CancellationTokenRegistration _registration;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (lifetime is not null)
        {
            // ApplicationStopping callbacks run before any hosted service is stopped.
            _registration = lifetime.ApplicationStopping.Register(StopAll);
        }

        return Task.CompletedTask;
    }

    // Without a host lifetime (a bare service provider), disposing the manager stops the simulations.
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void StopAll()
    {
        // Bounded: a script that refuses to end is abandoned by the stop itself after AbandonAfterMilliseconds.
        var bound = TimeSpan.FromMilliseconds(options.Value.AbandonAfterMilliseconds + options.Value.StopGraceMilliseconds + 5_000);
        manager.StopAllAsync().Wait(bound);
    }

    public void Dispose() => _registration.Dispose();
}
