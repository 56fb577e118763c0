using NrpHost.Profiling;
using NrpHost.Simulation;
using PolyType;
using StreamJsonRpc;

namespace NrpHost.Isolation;

/// <summary>
/// The commands a host sends to its worker process (JSON-RPC requests, handled one at a time in the order they were
/// sent). Each runs the same <see cref="SimulationWorker"/> command an in-process simulation runs. The pause gate is
/// not a command: it is the control block both processes map (see <see cref="ControlBlock"/>).
/// </summary>
[JsonRpcContract]
[GenerateShape(IncludeMethods = MethodShapeFlags.PublicInstance)]
internal partial interface IWorkerService
{
    /// <summary>Prepares the session and client; the report when that failed.</summary>
    Task<WorkerReply<WorkerPrepared>> PrepareAsync(WorkerSetup setup, CancellationToken cancellationToken);

    /// <summary>Runs the script to its end.</summary>
    Task<WorkerReply<WorkerRunOutcome>> RunAsync(CancellationToken cancellationToken);

    /// <summary>Shuts the client down and closes the session.</summary>
    Task<WorkerReply<WorkerShutdown>> ShutdownAsync(CancellationToken cancellationToken);

    /// <summary>Raises the stop signal in the script if it runs user code.</summary>
    Task<bool> InterruptAsync(CancellationToken cancellationToken);

    /// <summary>Where the script is in the experiment's files.</summary>
    Task<WorkerLocation?> WhereAsync(CancellationToken cancellationToken);

    /// <summary>The step-latency profile now.</summary>
    Task<StepProfile?> ReadProfileAsync(CancellationToken cancellationToken);

    /// <summary>Answers at once (the host's check that the worker still answers).</summary>
    Task<int> PingAsync(CancellationToken cancellationToken);
}

/// <summary>The names of the notifications a worker sends its host.</summary>
internal static class WorkerEvents
{
    /// <summary>Worker → host: the interpreter is loaded (<see cref="WorkerReady"/>), or could not be (<see cref="WorkerReady.Error"/>).</summary>
    public const string Ready = "ready";

    /// <summary>Worker → host: a batch of the script's output (<see cref="WorkerOutput"/>).</summary>
    public const string Output = "output";

    /// <summary>Worker → host: a log entry of the worker's own (<see cref="WorkerLogEntry"/>).</summary>
    public const string Log = "log";

    /// <summary>Worker → host: the step-latency profile as it stands (<see cref="WorkerProfile"/>).</summary>
    public const string Profile = "profile";

    /// <summary>Worker → host: an MQTT message of the data-transfer engine for the host to publish (<see cref="WorkerMessage"/>).</summary>
    public const string Publish = "publish";
}

/// <summary>
/// A command's answer, with the number of events the worker had sent before it: the host hands it on only after it has
/// handed on those events, so output printed before a fault always reaches subscribers before the fault.
/// </summary>
internal sealed record WorkerReply<T>(T? Value, long Sequence)
    where T : class;

/// <summary>How the preparation went: its report when it failed, and the profile's time-log folder.</summary>
internal sealed record WorkerPrepared(SimulationError? Error, string? TimeLogsFolder, string? Refusal = null);

/// <summary>How the script ended.</summary>
internal sealed record WorkerRunOutcome(bool Stopped, SimulationError? Error, bool Failed);

/// <summary>How the shutdown went; what closing the session found (the worker's own interpreter is not reused, so nothing is restored).</summary>
internal sealed record WorkerShutdown(string? ClientError, IReadOnlyList<string> EndedChildren, IReadOnlyList<string> RunningThreads);

/// <summary>A place in an experiment file.</summary>
internal sealed record WorkerLocation(string File, int Line, string Function);

/// <summary>The worker's interpreter is loaded; or why it could not be.</summary>
internal sealed record WorkerReady(long Sequence, int ProcessId, string? PythonVersion, string? Error);

/// <summary>Python output: <c>(category, Python level, text)</c> lines and the lines the rate limit held back per category.</summary>
internal sealed record WorkerOutput(long Sequence, IReadOnlyList<WorkerLine> Lines, IReadOnlyList<WorkerDropped> Dropped);

/// <summary>One line of Python output.</summary>
internal sealed record WorkerLine(string Category, int Level, string Text);

/// <summary>Lines of one category the rate limit held back.</summary>
internal sealed record WorkerDropped(string Category, long Count);

/// <summary>A log entry of the worker's own.</summary>
internal sealed record WorkerLogEntry(long Sequence, string Category, int Level, string Text);

/// <summary>The step-latency profile as it stands, and the step durations measured since the last one (for the host's metrics).</summary>
internal sealed record WorkerProfile(long Sequence, StepProfile Profile, IReadOnlyList<StepDurations>? Durations = null);

/// <summary>An MQTT message to publish for the simulation's data-transfer engine.</summary>
internal sealed record WorkerMessage(long Sequence, string Topic, byte[] Payload, bool Retain);

/// <summary>What a worker process is started with (its single argument, as JSON).</summary>
internal sealed record WorkerStartup
{
    /// <summary>The host's process id: the worker ends when it has another parent (0: not checked, inside a sandbox).</summary>
    public int HostProcessId { get; init; }

    /// <summary>The CPython shared library, as the host located it.</summary>
    public required string PythonLibrary { get; init; }

    /// <summary>The interpreter's prefix, as the host learnt it (null: found from the library).</summary>
    public string? PythonHome { get; init; }

    public string? PythonExecutable { get; init; }

    /// <summary>The shipped Python packages (absolute).</summary>
    public required string PythonPackages { get; init; }

    public int OutputDrainMilliseconds { get; init; } = 200;

    public int? MemoryMB { get; init; }

    public int? OpenFiles { get; init; }

    /// <summary>The process limit, as configured (named in the message when a fork is refused).</summary>
    public int? Processes { get; init; }

    /// <summary>Whether the worker sets the process limit itself (RLIMIT_NPROC): no pids cgroup enforces it.</summary>
    public bool ProcessesByRlimit { get; init; }

    /// <summary>The embedded nrp-core runtime's folder, loaded before the simulation needs it; null with a real nrp-core.</summary>
    public string? EmbeddedRuntime { get; init; }

    /// <summary>Relay the embedded data-transfer engine's MQTT messages through the host instead of connecting to the broker.</summary>
    public bool RelayMqtt { get; init; }
}
