using Microsoft.Extensions.Diagnostics.HealthChecks;
using Python.Runtime;

namespace NrpHost.Simulation;

/// <summary>
/// The simulations' part of the health report (<c>simulations</c>): healthy with the number of active simulations;
/// degraded when threads that ended simulations started are still running (named), or once a simulation's own
/// thread had to be abandoned (it refused to stop or a phase overran its deadline, so it may still run Python in this
/// process; restarting the host reclaims it).
/// </summary>
public sealed class SimulationHealthCheck : IHealthCheck
{
    private static readonly TimeSpan GilTimeout = TimeSpan.FromSeconds(1);
    private readonly SimulationManager _manager;

    internal SimulationHealthCheck(SimulationManager manager) => _manager = manager;

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var abandoned = _manager.AbandonedScripts;
        var active = _manager.List().Count(s => !s.State.IsFinal());
        var problems = new List<string>();
        foreach (var (directory, (id, reason)) in _manager.KeptLogs.OrderBy(k => k.Value.SimulationId))
        {
            problems.Add($"the logs of simulation {id} could not be archived ({reason}) and are kept in the work directory as {Path.GetFileName(directory)}; the next start archives them once there is room.");
        }

        if (_manager.Workers is { } workers)
        {
            var isolation = _manager.Isolation;
            if (workers.Unavailable is { } unavailable)
            {
                return HealthCheckResult.Unhealthy($"simulations cannot run in {isolation} isolation on this host: {unavailable}");
            }

            if (workers.LastFailure is { } failure)
            {
                problems.Add($"the last worker process could not be started: {failure}");
            }

            var spare = isolation == Isolation.SimulationIsolation.Process && workers.HasReadySpare ? ", a warm spare ready" : string.Empty;
            return problems.Count == 0
                ? HealthCheckResult.Healthy($"{active} active, each in a worker process of its own ({isolation} isolation{spare})")
                : HealthCheckResult.Degraded($"{active} active ({isolation} isolation); " + string.Join(" ", problems));
        }

        if (abandoned > 0)
        {
            problems.Add($"{abandoned} simulation thread(s) did not end when asked and were abandoned; they may still run in this process. Restart the host to reclaim them.");
        }

        if (await LeftoverThreadsAsync(cancellationToken).ConfigureAwait(false) is { Count: > 0 } leftovers)
        {
            problems.Add("threads of ended simulations are still running: " +
                string.Join("; ", leftovers.OrderBy(p => p.Key).Select(p => $"simulation {p.Key}: {string.Join(", ", p.Value)}")));
        }

        return problems.Count == 0
            ? HealthCheckResult.Healthy($"{active} active")
            : HealthCheckResult.Degraded($"{active} active; " + string.Join(" ", problems));
    }

    /// <summary>Asked of Python on a thread of its own: the GIL may be held for long inside C code, and a health probe must answer.</summary>
    private static async Task<IReadOnlyDictionary<int, IReadOnlyList<string>>?> LeftoverThreadsAsync(CancellationToken cancellationToken)
    {
        if (!PythonEngine.IsInitialized)
        {
            return null;
        }

        try
        {
            return await Task.Factory.StartNew(ScriptSession.LeftoverThreads, cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default)
                .WaitAsync(GilTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or PythonException)
        {
            return null;
        }
    }
}
