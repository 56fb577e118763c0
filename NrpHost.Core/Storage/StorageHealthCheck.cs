using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace NrpHost.Storage;

/// <summary>
/// The experiment storage's part of the health report (<c>storage</c>): with local storage, whether the experiments
/// folder exists; with the NRP Storage Proxy, whether it answers within 2 s (degraded, not unhealthy, when it does
/// not: simulations already running are not affected).
/// </summary>
public sealed class StorageHealthCheck : IHealthCheck
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);
    private readonly IExperimentStorage _storage;

    /// <summary>Checks <paramref name="storage"/>.</summary>
    public StorageHealthCheck(IExperimentStorage storage) => _storage = storage;

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        switch (_storage)
        {
            case LocalExperimentStorage local:
                return Directory.Exists(local.Root)
                    ? HealthCheckResult.Healthy($"local folder {local.Root}")
                    : HealthCheckResult.Unhealthy($"local folder {local.Root} does not exist");
            case ProxyExperimentStorage remote:
                var problem = await remote.ProbeAsync(ProbeTimeout, cancellationToken).ConfigureAwait(false);
                return problem is null
                    ? HealthCheckResult.Healthy($"NRP Storage Proxy at {remote.ProxyUrl} answers")
                    : HealthCheckResult.Degraded(problem);
            default:
                return HealthCheckResult.Healthy(_storage.GetType().Name);
        }
    }
}
