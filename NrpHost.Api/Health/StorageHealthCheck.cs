using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using NrpHost.Storage;

namespace NrpHost.Api.Health;

/// <summary>
/// The experiment storage's part of <c>/health</c>: with local storage, whether the experiments folder exists; with the
/// NRP Storage Proxy, whether it answers within 2 s (degraded, not unhealthy, when it does not: simulations already
/// running are not affected).
/// </summary>
internal sealed class StorageHealthCheck(IExperimentStorage storage, IConfiguration configuration) : IHealthCheck
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (storage is LocalExperimentStorage local)
        {
            return Directory.Exists(local.Root)
                ? HealthCheckResult.Healthy($"local folder {local.Root}")
                : HealthCheckResult.Unhealthy($"local folder {local.Root} does not exist");
        }

        var proxy = configuration[$"{LocalStorageOptions.SectionName}:ProxyUrl"];
        if (storage is ProxyExperimentStorage remote)
        {
            var problem = await remote.ProbeAsync(ProbeTimeout, cancellationToken).ConfigureAwait(false);
            return problem is null
                ? HealthCheckResult.Healthy($"NRP Storage Proxy at {proxy} answers")
                : HealthCheckResult.Degraded(problem);
        }

        return HealthCheckResult.Healthy(proxy is { Length: > 0 } ? $"NRP Storage Proxy at {proxy}" : storage.GetType().Name);
    }
}
