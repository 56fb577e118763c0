using Microsoft.Extensions.Logging;

namespace NrpHost.Simulation;

/// <summary>Log messages of the simulation concept (event ids 1xx).</summary>
internal static partial class SimulationLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Simulation {SimulationId}: {Previous} -> {State}")]
    public static partial void StateChanged(ILogger logger, int simulationId, SimulationState previous, SimulationState state);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Simulation {SimulationId} created for experiment {ExperimentId} by {Owner}")]
    public static partial void Created(ILogger logger, int simulationId, string experimentId, string owner);

    [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "Simulation {SimulationId}: experiment {ExperimentId} staged into {Directory}")]
    public static partial void Staged(ILogger logger, int simulationId, string experimentId, string directory);

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "Simulation {SimulationId} could not be initialised: {Reason}")]
    public static partial void InitializationFailed(ILogger logger, int simulationId, string reason);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "Simulation {SimulationId}: {ErrorType} error in {FileName}:{Line}: {Message}")]
    public static partial void ScriptFault(ILogger logger, int simulationId, string errorType, string message, string fileName, int line);

    [LoggerMessage(EventId = 105, Level = LogLevel.Information, Message = "Simulation {SimulationId}: the script ended")]
    public static partial void ScriptEnded(ILogger logger, int simulationId);

    [LoggerMessage(EventId = 106, Level = LogLevel.Information, Message = "Simulation {SimulationId}: the script was stopped")]
    public static partial void ScriptStopped(ILogger logger, int simulationId);

    [LoggerMessage(EventId = 107, Level = LogLevel.Warning, Message = "Simulation {SimulationId}: raising the stop signal in its thread ({Phase})")]
    public static partial void ScriptInterrupted(ILogger logger, int simulationId, WorkerPhase phase);

    [LoggerMessage(EventId = 108, Level = LogLevel.Critical, Message = "Simulation {SimulationId}: {Reason}. Its thread is abandoned (it keeps running until its blocking call returns, then ends without touching anything) and the simulation is failed; restart the host to reclaim the thread")]
    public static partial void WorkerAbandoned(ILogger logger, int simulationId, string reason);

    [LoggerMessage(EventId = 109, Level = LogLevel.Information, Message = "Simulation {SimulationId} {State} after {ElapsedMs:F1} ms of shutdown")]
    public static partial void Stopped(ILogger logger, int simulationId, SimulationState state, double elapsedMs);

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "Simulation {SimulationId}: shutting the nrp-core client down failed: {Reason}")]
    public static partial void ClientShutdownFailed(ILogger logger, int simulationId, string reason);

    [LoggerMessage(EventId = 111, Level = LogLevel.Information, Message = "Simulation {SimulationId}: logs uploaded as {FileName} to experiment {ExperimentId}")]
    public static partial void LogsUploaded(ILogger logger, int simulationId, string fileName, string experimentId);

    [LoggerMessage(EventId = 112, Level = LogLevel.Error, Message = "Simulation {SimulationId}: the log archive could not be uploaded ({Reason}); it is kept at {KeptAt}")]
    public static partial void LogArchiveFailed(ILogger logger, int simulationId, string reason, string keptAt);

    [LoggerMessage(EventId = 113, Level = LogLevel.Warning, Message = "Simulation {SimulationId}: directory {Directory} could not be removed: {Reason}")]
    public static partial void DirectoryNotRemoved(ILogger logger, int simulationId, string directory, string reason);

    [LoggerMessage(EventId = 114, Level = LogLevel.Debug, Message = "Simulation {SimulationId} was stopped while preparing: {Reason}")]
    public static partial void StoppedDuringPreparation(ILogger logger, int simulationId, string reason);

    [LoggerMessage(EventId = 115, Level = LogLevel.Warning, Message = "Simulation {SimulationId}: raising the stop exception failed: {Reason}")]
    public static partial void InterruptFailed(ILogger logger, int simulationId, string reason);

    [LoggerMessage(EventId = 116, Level = LogLevel.Warning, Message = "Simulation {SimulationId}: Python output could not be drained: {Reason}")]
    public static partial void OutputDrainFailed(ILogger logger, int simulationId, string reason);

    [LoggerMessage(EventId = 117, Level = LogLevel.Error, Message = "A handler of simulation events threw")]
    public static partial void EventHandlerFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 119, Level = LogLevel.Warning, Message = "Simulation {SimulationId}: the GIL could not be had within {TimeoutMs} ms (a thread holds it inside C code); the stop signal was not raised")]
    public static partial void GilUnavailable(ILogger logger, int simulationId, double timeoutMs);

    [LoggerMessage(EventId = 120, Level = LogLevel.Error, Message = "Simulation {SimulationId}: unexpected fault while stopping; it is cleaned up and failed")]
    public static partial void StopFault(ILogger logger, int simulationId, Exception exception);

    [LoggerMessage(EventId = 121, Level = LogLevel.Warning, Message = "Simulation {SimulationId}: log archive: {Note}")]
    public static partial void ArchiveNote(ILogger logger, int simulationId, string note);

    [LoggerMessage(EventId = 122, Level = LogLevel.Error, Message = "Simulation {SimulationId}: the host could not run the script; the simulation fails")]
    public static partial void ScriptHostFault(ILogger logger, int simulationId, Exception exception);

    [LoggerMessage(EventId = 123, Level = LogLevel.Error, Message = "Simulation {SimulationId}: clean-up failed: {Reason}")]
    public static partial void CleanupFailed(ILogger logger, int simulationId, string reason);

    [LoggerMessage(EventId = 124, Level = LogLevel.Warning, Message = "Simulation {SimulationId}: ended the child processes it had left running: {Children}")]
    public static partial void ChildrenEnded(ILogger logger, int simulationId, string children);

    [LoggerMessage(EventId = 125, Level = LogLevel.Warning, Message = "Simulation {SimulationId}: threads it started are still running after it ended: {Threads}")]
    public static partial void ThreadsLeftRunning(ILogger logger, int simulationId, string threads);

    [LoggerMessage(EventId = 126, Level = LogLevel.Critical, Message = "Simulation {SimulationId}: {Reason}. No new simulation is started until the host is restarted")]
    public static partial void InterpreterNotRestored(ILogger logger, int simulationId, string reason);

    [LoggerMessage(EventId = 127, Level = LogLevel.Warning, Message = "Simulation {SimulationId} of experiment {ExperimentId} was left behind by an earlier process in {Directory}; its logs went to {Archive} and the directory was removed")]
    public static partial void Recovered(ILogger logger, int simulationId, string experimentId, string directory, string archive);

    [LoggerMessage(EventId = 128, Level = LogLevel.Error, Message = "Recovering the simulation directories left by an earlier process failed")]
    public static partial void RecoveryFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 135, Level = LogLevel.Warning, Message = "Simulation {SimulationId}: {Warning}")]
    public static partial void ConfigurationWarning(ILogger logger, int simulationId, string warning);

    [LoggerMessage(EventId = 140, Level = LogLevel.Warning, Message = "Simulation {SimulationId}: the step-latency time logs stopped being written: {Reason}")]
    public static partial void TimeLogsFailed(ILogger logger, int simulationId, string reason);

    [LoggerMessage(EventId = 141, Level = LogLevel.Warning, Message = "Simulation {SimulationId}: the step-latency profile could not be finished: {Reason}")]
    public static partial void ProfileNotFinished(ILogger logger, int simulationId, string reason);

    [LoggerMessage(EventId = 142, Level = LogLevel.Warning, Message = "Simulation {SimulationId}: the script kept a view of the step-latency rings' memory; it is left allocated ({Bytes} bytes) instead of freed under the script")]
    public static partial void ProfileRingsKept(ILogger logger, int simulationId, long bytes);

    [LoggerMessage(EventId = 143, Level = LogLevel.Warning, Message = "Simulation {SimulationId} is profiled with Python's stamps: NrpHost was built without its native stamps (no C compiler or CPython headers at build time), so each profiled step costs about three times as much. Install gcc and libpython3-dev and rebuild")]
    public static partial void ProfilePythonStamps(ILogger logger, int simulationId);

    [LoggerMessage(EventId = 144, Level = LogLevel.Error, Message = "Simulation {SimulationId}: {Reason}")]
    public static partial void RunnerLost(ILogger logger, int simulationId, string reason);

    [LoggerMessage(EventId = 145, Level = LogLevel.Error, Message = "Simulation {SimulationId}: {Reason}. Its worker process {ProcessId} and every process it started are killed, and the simulation is failed")]
    public static partial void WorkerProcessKilled(ILogger logger, int simulationId, string reason, int processId);

    [LoggerMessage(EventId = 118, Level = LogLevel.Warning, Message = "Simulation {SimulationId}: the current directory could not be set back to {Directory}: {Reason}")]
    public static partial void CurrentDirectoryNotRestored(ILogger logger, int simulationId, string directory, string reason);

    [LoggerMessage(EventId = 146, Level = LogLevel.Information, Message = "No simulation was made for experiment {ExperimentId}: it does not exist")]
    public static partial void ExperimentNotFound(ILogger logger, string experimentId);

    [LoggerMessage(EventId = 147, Level = LogLevel.Error, Message = "Simulation {SimulationId}: its logs could not be archived ({Reason}); they are kept in {Directory}, and the next start archives them once the archive can be written")]
    public static partial void LogsKept(ILogger logger, int simulationId, string directory, string reason);
}
