using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace NrpHost.Python;

/// <summary>
/// The embedded interpreter's part of the health report (<c>python</c>): unhealthy when CPython cannot be found or
/// loaded, healthy when it is ready or can be loaded when the first simulation needs it.
/// </summary>
public sealed class PythonHealthCheck : IHealthCheck
{
    private readonly IPythonRuntime _python;

    /// <summary>Checks <paramref name="python"/>.</summary>
    public PythonHealthCheck(IPythonRuntime python) => _python = python;

    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var status = _python.GetStatus();
        return Task.FromResult(status.State switch
        {
            PythonRuntimeState.Failed => HealthCheckResult.Unhealthy(status.Error),
            PythonRuntimeState.Ready => HealthCheckResult.Healthy($"CPython {status.Version} ready ({status.Library})"),
            _ => HealthCheckResult.Healthy($"CPython available at {status.Library}, loaded when the first simulation needs it"),
        });
    }
}
