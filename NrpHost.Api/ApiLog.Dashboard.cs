using NrpHost.Storage;

namespace NrpHost.Api;

/// <summary>Log messages of the experiments list, the events stream and the dashboard (EventIds 530–539).</summary>
internal static partial class ApiLog
{
    [LoggerMessage(530, LogLevel.Warning, "Listing the experiments failed ({Error}): {Reason}")]
    public static partial void ListExperimentsFailed(ILogger logger, ExperimentStorageError error, string reason);

    [LoggerMessage(531, LogLevel.Debug, "Events stream of simulation {SimulationId} opened ({Open} open)")]
    public static partial void EventStreamOpened(ILogger logger, int simulationId, int open);

    [LoggerMessage(532, LogLevel.Debug, "Events stream of simulation {SimulationId} closed ({Reason}; {Open} open)")]
    public static partial void EventStreamClosed(ILogger logger, int simulationId, string reason, int open);

    [LoggerMessage(533, LogLevel.Debug, "Events stream of simulation {SimulationId}: {Dropped} output lines dropped (more than {Limit} per second)")]
    public static partial void EventLinesDropped(ILogger logger, int simulationId, long dropped, int limit);

    [LoggerMessage(534, LogLevel.Warning, "The dashboard's files were not found in {Directory}; GET / answers 404")]
    public static partial void DashboardMissing(ILogger logger, string directory);

    [LoggerMessage(535, LogLevel.Warning, "Events stream of simulation {SimulationId} refused: {Limit} streams are open (NrpHost:Api:MaxEventStreams)")]
    public static partial void EventStreamRefused(ILogger logger, int simulationId, int limit);

    [LoggerMessage(537, LogLevel.Warning, "Events stream of simulation {SimulationId} ({Caller}) dropped: its client took nothing for {Seconds} s (NrpHost:Api:EventStreamStuckSeconds)")]
    public static partial void EventStreamDropped(ILogger logger, int simulationId, string caller, double seconds);

    [LoggerMessage(536, LogLevel.Warning, "Events stream of simulation {SimulationId} refused: {Caller} has {Limit} streams open (NrpHost:Api:MaxEventStreamsPerCaller)")]
    public static partial void EventStreamRefusedForCaller(ILogger logger, int simulationId, string caller, int limit);
}
