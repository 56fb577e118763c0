using NrpHost.Profiling;

namespace NrpHost.Simulation;

/// <summary>
/// Where one simulation's Python runs, as <see cref="Simulation"/> drives it: a thread of this process
/// (<see cref="SimulationWorker"/>) or a worker process of its own (<see cref="Isolation.ProcessRunner"/>), which runs
/// a <see cref="SimulationWorker"/> in turn. Commands run one after the other; each reports through its own task.
/// It is also the simulation's pause gate, which the state machine moves.
/// </summary>
/// <remarks>
/// Deadlines are the caller's: a command that does not complete in time can be interrupted
/// (<see cref="TryInterruptAsync"/>) and finally <see cref="Abandon"/>ed. What abandoning costs differs: a thread is
/// left to end on its own in this process, a worker process is killed with everything it started.
/// </remarks>
internal interface ISimulationRunner : IPauseGate
{
    /// <summary>Iterations done (as last known).</summary>
    long Steps { get; }

    /// <summary>When the script last left the pause gate (Stopwatch timestamp, CLOCK_MONOTONIC on Linux), 0 if never.</summary>
    long ResumedAt { get; }

    /// <summary>The step-latency profile while there is one (a profiled simulation, until it is shut down), as last read.</summary>
    StepProfile? Profile { get; }

    /// <summary>The profile's time-log folder (relative to the simulation directory), kept after the profile ends.</summary>
    string? TimeLogsFolder { get; }

    /// <summary>Whether the runner was given up on.</summary>
    bool IsAbandoned { get; }

    /// <summary>The process the simulation's Python runs in (this one's for a thread).</summary>
    int ProcessId { get; }

    /// <summary>
    /// Completes with a description when the runner ended on its own, outside any command (a worker process that died
    /// or stopped answering: "killed by signal 11 (SIGSEGV)"). Never completes for a thread of this process.
    /// </summary>
    Task<string> Lost { get; }

    /// <summary>Reads the profile now (every step done so far); null when there is none.</summary>
    Task<StepProfile?> ReadProfileAsync(CancellationToken cancellationToken);

    /// <summary>Prepares the session and client; completes with a report when that failed.</summary>
    Task<SimulationError?> PrepareAsync(WorkerSetup setup);

    /// <summary>Runs the script to its end (it waits at the gate while paused).</summary>
    Task<ScriptOutcome> RunAsync();

    /// <summary>Shuts the client down and closes the session.</summary>
    Task<ShutdownReport> ShutdownAsync();

    /// <summary>Raises the stop signal in the script if it runs user code; false when it did not.</summary>
    Task<bool> TryInterruptAsync();

    /// <summary>Where the script is in the experiment's files, for a report; null when unknown.</summary>
    Task<CodeLocation?> WhereAsync();

    /// <summary>Gives up on the runner (see the remarks).</summary>
    void Abandon();

    /// <summary>
    /// Ends what is left of the runner once the simulation is over, before its directory is archived: nothing for a
    /// thread (it ended with <see cref="ShutdownAsync"/>); for a worker process, the process and every process it
    /// started, daemons included. Never throws.
    /// </summary>
    Task EndAsync();
}

/// <summary>The runner ended on its own (<see cref="ISimulationRunner.Lost"/>): a command it was running cannot complete.</summary>
internal sealed class RunnerLostException(string message) : Exception(message);
