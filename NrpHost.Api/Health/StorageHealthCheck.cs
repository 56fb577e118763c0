using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using NrpHost.Storage;

namespace NrpHost.Api.Health;

/// <summary>
/// The experiment storage's part of <c>/health</c>: with local storage, whether the experiments folder exists;
/// otherwise which storage is configured (the storage's own probe can be registered as another check).
/// </summary>
internal sealed class StorageHealthCheck(IExperimentStorage storage, IConfiguration configuration) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (storage is LocalExperimentStorage local)
        {
            return Task.FromResult(Directory.Exists(local.Root)
                ? HealthCheckResult.Healthy($"local folder {local.Root}")
                : HealthCheckResult.Unhealthy($"local folder {local.Root} does not exist"));
        }

        var proxy = configuration[$"{LocalStorageOptions.SectionName}:ProxyUrl"];
        return Task.FromResult(HealthCheckResult.Healthy(proxy is { Length: > 0 } ? $"NRP Storage Proxy at {proxy}" : storage.GetType().Name));
    }
}
