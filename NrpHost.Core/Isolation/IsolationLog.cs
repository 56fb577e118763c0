using Microsoft.Extensions.Logging;

namespace NrpHost.Isolation;

/// <summary>Log messages of worker processes (event ids 150-169, within the simulation concept's 1xx).</summary>
internal static partial class IsolationLog
{
    [LoggerMessage(EventId = 150, Level = LogLevel.Information, Message = "Simulations run in {Isolation} isolation: {Description}")]
    public static partial void Mode(ILogger logger, SimulationIsolation isolation, string description);

    [LoggerMessage(EventId = 151, Level = LogLevel.Error, Message = "Simulations cannot run in {Isolation} isolation on this machine: {Reason}")]
    public static partial void Unavailable(ILogger logger, SimulationIsolation isolation, string reason);

    [LoggerMessage(EventId = 152, Level = LogLevel.Debug, Message = "Worker process {ProcessId} is ready (CPython {Version}) after {ElapsedMs:F0} ms")]
    public static partial void WorkerReady(ILogger logger, int processId, string? version, double elapsedMs);

    [LoggerMessage(EventId = 153, Level = LogLevel.Error, Message = "A worker process could not be started: {Reason}")]
    public static partial void WorkerFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 154, Level = LogLevel.Warning, Message = "Worker process {ProcessId}: {Line}")]
    public static partial void WorkerStandardError(ILogger logger, int processId, string line);

    [LoggerMessage(EventId = 155, Level = LogLevel.Information, Message = "Simulation {SimulationId}: ended {Count} process(es) it left behind ({ProcessIds})")]
    public static partial void ProcessesEnded(ILogger logger, int simulationId, int count, string processIds);

    [LoggerMessage(EventId = 156, Level = LogLevel.Warning, Message = "The worker process could not set its limit {Limit}; it runs without it")]
    public static partial void LimitRefused(ILogger logger, string limit);

    [LoggerMessage(EventId = 157, Level = LogLevel.Warning, Message = "The data-transfer engine publishes faster than the host takes its messages ({Pending} waiting); later ones are dropped until it catches up")]
    public static partial void RelayBehind(ILogger logger, int pending);

    [LoggerMessage(EventId = 158, Level = LogLevel.Warning, Message = "Simulation {SimulationId}: the data-transfer engine's message to '{Topic}' was not published: the topic is outside {Allowed}")]
    public static partial void RelayRefused(ILogger logger, int simulationId, string topic, string allowed);

    [LoggerMessage(EventId = 159, Level = LogLevel.Warning, Message = "The process limit (NrpHost:Simulation:Limits:Processes) is not enforced: {Reason}")]
    public static partial void ProcessLimitNotEnforced(ILogger logger, string reason);

    [LoggerMessage(EventId = 160, Level = LogLevel.Warning, Message = "NrpHost:Simulation:Limits are set but do not apply in InProcess isolation; use Process or Sandbox")]
    public static partial void LimitsIgnored(ILogger logger);

    [LoggerMessage(EventId = 161, Level = LogLevel.Warning, Message = "Worker process {ProcessId} wrote more to its standard error than is logged; {Count} lines were not logged")]
    public static partial void StandardErrorCut(ILogger logger, int processId, long count);

    [LoggerMessage(EventId = 162, Message = "{Text}")]
    public static partial void Forwarded(ILogger logger, LogLevel level, string text);

    [LoggerMessage(EventId = 164, Level = LogLevel.Warning, Message = "Simulation {SimulationId}: step durations from its worker process were not recorded ({Problem}); later ones that are not right are dropped without a word")]
    public static partial void StepDurationsRefused(ILogger logger, int simulationId, string problem);

    [LoggerMessage(EventId = 163, Level = LogLevel.Warning, Message = "Ended {Count} process(es) that simulations of an earlier host (process {HostProcessId}, no longer running) left behind: {ProcessIds}")]
    public static partial void LeftoversEnded(ILogger logger, int hostProcessId, int count, string processIds);
}
