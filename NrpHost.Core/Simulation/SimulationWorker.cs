using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using NrpHost.Profiling;
using NrpHost.Python;
using Python.Runtime;

namespace NrpHost.Simulation;

/// <summary>What the worker's thread is doing.</summary>
internal enum WorkerPhase
{
    /// <summary>No thread yet.</summary>
    NotStarted,

    /// <summary>Waiting for a command (without the GIL).</summary>
    Idle,

    /// <summary>Creating the session, compiling the script, constructing and initialising the client.</summary>
    Preparing,

    /// <summary>Running the script.</summary>
    Running,

    /// <summary>Shutting the client down and closing the session.</summary>
    ShuttingDown,

    /// <summary>The thread has ended.</summary>
    Ended,
}

/// <summary>How the script ended.</summary>
/// <param name="Stopped">It ended because of a stop.</param>
/// <param name="Error">Its fault, if any.</param>
/// <param name="Failed">The fault ends the simulation as failed, not completed (it passed a limit of its process).</param>
internal readonly record struct ScriptOutcome(bool Stopped, SimulationError? Error, bool Failed = false);

/// <summary>How the shutdown went: the client's own error, if any, and what closing the session found (null when it was not closed).</summary>
internal sealed record ShutdownReport(string? ClientError, SessionCloseReport? Closed);

/// <summary>What the worker's thread needs to prepare a simulation.</summary>
internal sealed record WorkerSetup(
    string Directory,
    long LogLimit,
    string MainScript,
    string ConfigurationFile,
    long MaxSteps,
    string ClientFactory,
    string ClientAddress,
    string Overrides,
    IReadOnlyList<string> PythonPath)
{
    /// <summary>The simulation.</summary>
    public int SimulationId { get; init; }

    /// <summary>A control block shared with the host (a worker process); null: a block of this process.</summary>
    public string? ControlPath { get; init; }

    /// <summary>Whether the steps are profiled (see <see cref="StepProfiler"/>).</summary>
    public bool Profile { get; init; }

    /// <summary>When the simulation was created (names its time-log folder).</summary>
    public DateTimeOffset Created { get; init; }
}

/// <summary>
/// Owns one simulation's thread and every Python call made for that simulation: session set-up, loading, the
/// client's construction and <c>initialize()</c>, the script, the client's <c>shutdown()</c> and closing the session.
/// It is driven by commands (<see cref="PrepareAsync"/>, <see cref="RunAsync"/>, <see cref="ShutdownAsync"/>), run
/// one after the other on the thread; each reports through its own completion and never throws into the thread.
/// It is also the simulation's pause gate (<see cref="IPauseGate"/>), which the state machine moves.
/// </summary>
/// <remarks>
/// Deadlines are the caller's: a command that does not complete in time can be interrupted (<see cref="TryInterruptAsync"/>
/// raises the stop signal in the thread while it runs user code) and finally <see cref="Abandon"/>ed. An abandoned
/// worker never touches the session again and never frees its control block, because Python may still use it.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The control block is freed by the thread once Python's view of it is released (never when abandoned), and the gate may still be waited on by an abandoned thread.")]
internal sealed class SimulationWorker : ISimulationRunner
{
    /// <summary>How long a host call waits for the GIL before giving up (a thread may hold it inside C code).</summary>
    private static readonly TimeSpan GilTimeout = TimeSpan.FromSeconds(1);

    private readonly int _id;
    private readonly ILogger _logger;
    private readonly ManualResetEventSlim _gate = new(false);
    private readonly BlockingCollection<Action> _commands = [];
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _controlLock = new();
    private readonly Action? _faultHook;
    private readonly Action<SimulationPhase>? _phaseHook;
    private ControlBlock? _control = new();
    private ScriptSession? _session;
    private Thread? _thread;
    private WorkerSetup? _setup;
    private long _lastSteps;
    private long _lastResumedAt;
    private volatile WorkerPhase _phase = WorkerPhase.NotStarted;
    private volatile bool _abandoned;
    private bool _pythonViewOpen;
    private Task? _pendingGilCall;
    private StepProfiler? _profiler;
    private string? _timeLogs;
    private long _preparedAt;
    private TimeSpan _initialization;

    public SimulationWorker(int id, ILogger logger, Action<SimulationPhase>? faultHook = null)
    {
        _id = id;
        _logger = logger;
        _phaseHook = faultHook;
        Interlocked.CompareExchange(ref s_startDirectory, Directory.GetCurrentDirectory(), null);
        _faultHook = faultHook is null ? null : () => faultHook(PhaseName(_phase));
    }

    public WorkerPhase Phase => _phase;

    /// <summary>Whether the worker was given up on (its thread may still run Python).</summary>
    public bool IsAbandoned => _abandoned;

    /// <summary>This process: the thread runs in it.</summary>
    public int ProcessId => Environment.ProcessId;

    /// <summary>A thread of this process never ends on its own outside a command.</summary>
    public Task<string> Lost { get; } = new TaskCompletionSource<string>().Task;

    /// <summary>Completes when the thread has ended (never for an abandoned worker whose thread stays blocked).</summary>
    public Task Ended => _ended.Task;

    /// <summary>Iterations done (the last known count once the control block is released).</summary>
    public long Steps
    {
        get
        {
            lock (_controlLock)
            {
                if (_control is { } control)
                {
                    _lastSteps = control.Steps;
                }

                return _lastSteps;
            }
        }
    }

    /// <summary>The step-latency profile while there is one (a profiled simulation, until it is shut down).</summary>
    public StepProfile? Profile
    {
        get
        {
            // Read what the rings hold now, so the profile counts every step done so far (the reader thread lags up to 5 ms).
            var profiler = Volatile.Read(ref _profiler);
            profiler?.Poll();
            return profiler?.Snapshot();
        }
    }

    /// <summary>The profile's time-log folder (relative to the simulation directory), kept after the profile ends.</summary>
    public string? TimeLogsFolder => Volatile.Read(ref _timeLogs);

    public Task<StepProfile?> ReadProfileAsync(CancellationToken cancellationToken) => Task.FromResult(Profile);

    /// <summary>Nothing is left once the thread has ended with <see cref="ShutdownAsync"/>.</summary>
    public Task EndAsync() => Task.CompletedTask;

    /// <summary>When the script last left the pause gate (Stopwatch timestamp), 0 if never.</summary>
    public long ResumedAt
    {
        get
        {
            lock (_controlLock)
            {
                if (_control is { } control)
                {
                    _lastResumedAt = control.ResumedAt;
                }

                return _lastResumedAt;
            }
        }
    }

    /// <summary>Moves the pause gate; see <see cref="GatePosition"/>. Flags are set before the event, so a woken script sees them.</summary>
    public void Move(GatePosition position)
    {
        lock (_controlLock)
        {
            // Flags first, then the event, so a woken script sees them.
            if (position == GatePosition.Closed)
            {
                _gate.Reset();
            }

            _control?.Move(position);
            if (position != GatePosition.Closed)
            {
                _gate.Set();
            }
        }
    }

    /// <summary>Starts the thread and prepares the session and client; completes with a report when that failed.</summary>
    public Task<SimulationError?> PrepareAsync(WorkerSetup setup)
    {
        _setup = setup;
        if (setup.ControlPath is { } shared)
        {
            // In a worker process the host moves the gate in the block it shares; the script waits on the block itself.
            lock (_controlLock)
            {
                _control?.Dispose();
                _control = ControlBlock.OpenShared(shared);
            }
        }

        _thread = new Thread(ThreadMain)
        {
            IsBackground = true,
            Name = string.Create(CultureInfo.InvariantCulture, $"NrpHost simulation {_id}"),
        };
        var prepared = Post(WorkerPhase.Preparing, Prepare);
        _thread.Start();
        return prepared;
    }

    /// <summary>Runs the script to its end (it waits at the gate while paused).</summary>
    public Task<ScriptOutcome> RunAsync() => Post(WorkerPhase.Running, Run);

    /// <summary>
    /// Shuts the client down and closes the session, then ends the thread. Completes with the shutdown's error text,
    /// if any. Without a thread there is nothing to do.
    /// </summary>
    public Task<ShutdownReport> ShutdownAsync()
    {
        if (_thread is null)
        {
            ReleaseControl();
            _ended.TrySetResult();
            return Task.FromResult(new ShutdownReport(null, null));
        }

        var done = Post(WorkerPhase.ShuttingDown, Shutdown);
        _commands.CompleteAdding();
        return done;
    }

    /// <summary>
    /// Raises the stop signal in the thread if it runs user code. False when it did not (not in user code, or the GIL
    /// could not be had within a second because some thread holds it inside C code).
    /// </summary>
    public async Task<bool> TryInterruptAsync()
    {
        ControlBlock? control;
        lock (_controlLock)
        {
            control = _control;
        }

        if (control is null || _phase is not (WorkerPhase.Preparing or WorkerPhase.Running or WorkerPhase.ShuttingDown))
        {
            return false;
        }

        var (done, raised) = await WithGilAsync(() => ScriptSession.Interrupt(control)).ConfigureAwait(false);
        if (raised)
        {
            SimulationLog.ScriptInterrupted(_logger, _id, _phase);
        }
        else if (!done)
        {
            SimulationLog.GilUnavailable(_logger, _id, GilTimeout.TotalMilliseconds);
        }

        return raised;
    }

    /// <summary>Where the thread is in the experiment's files, for a report; null when unknown.</summary>
    public async Task<CodeLocation?> WhereAsync()
    {
        long thread;
        lock (_controlLock)
        {
            thread = _control?.PythonThreadId ?? 0;
        }

        if (thread == 0 || _setup is null)
        {
            return null;
        }

        var directory = _setup.Directory;
        var (_, location) = await WithGilAsync(() => ScriptSession.Where(thread, directory)).ConfigureAwait(false);
        return location;
    }

    /// <summary>
    /// Gives up on the thread: it is left to end on its own, and when it does it touches nothing (no session clean-up,
    /// no further command). Its control block is deliberately leaked: Python may still hold a view of it, and freeing
    /// it would let that thread write into freed memory.
    /// </summary>
    public void Abandon()
    {
        _abandoned = true;
        LeaveDirectory();
        if (Interlocked.Exchange(ref _profiler, null) is { } profiler)
        {
            // Its rings stay allocated (the abandoned thread may still write them); the files get what was read.
            profiler.StopReading();
            profiler.Finish(shutdown: null, Stopwatch.GetElapsedTime(_preparedAt));
        }

        lock (_controlLock)
        {
            if (_control is { } control)
            {
                _lastSteps = control.Steps;
                _lastResumedAt = control.ResumedAt;
            }
        }

        _commands.CompleteAdding();

        // Its session no longer holds back the restore of the interpreter after the others (bounded: never waits on the GIL).
        _ = WithGilAsync(() =>
        {
            ScriptSession.Abandon(_id);
            return true;
        });
    }

    /// <summary>
    /// The session made the simulation directory the process's current directory (as nrp-core runs experiments); an
    /// abandoned thread never gets to give it back, so the worker does, to where the process started, when it is still
    /// there: nothing of the embedding application is left in a folder that is about to be removed.
    /// </summary>
    private void LeaveDirectory()
    {
        if (_setup is not { } setup)
        {
            return;
        }

        try
        {
            var current = Directory.GetCurrentDirectory();
            if (current == setup.Directory || current.StartsWith(setup.Directory + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                Directory.SetCurrentDirectory(StartDirectory);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            SimulationLog.CurrentDirectoryNotRestored(_logger, _id, StartDirectory, ex.Message);
        }
    }

    /// <summary>The process's current directory when the first in-process simulation was made (before any script ran).</summary>
    private static string? s_startDirectory;

    private static string StartDirectory => s_startDirectory ?? "/";

    private Task<T> Post<T>(WorkerPhase phase, Func<T> work)
    {
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Execute()
        {
            if (_abandoned)
            {
                completion.TrySetCanceled();
                return;
            }

            _phase = phase;
            try
            {
                if (phase != WorkerPhase.ShuttingDown)
                {
                    _faultHook?.Invoke();
                }

                completion.TrySetResult(work());
            }
#pragma warning disable CA1031 // Every failure of a command is its caller's to handle; none may end the thread unreported.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                completion.TrySetException(ex);
            }
            finally
            {
                _phase = WorkerPhase.Idle;
            }
        }

        try
        {
            _commands.Add(Execute);
        }
        catch (InvalidOperationException)
        {
            completion.TrySetException(new InvalidOperationException("The simulation's thread takes no more commands."));
        }

        return completion.Task;
    }

    private void ThreadMain()
    {
        try
        {
            foreach (var command in _commands.GetConsumingEnumerable())
            {
                command();
            }
        }
        finally
        {
            _phase = WorkerPhase.Ended;
            if (!_abandoned && !_pythonViewOpen)
            {
                ReleaseControl();
            }

            _ended.TrySetResult();
        }
    }

    private SimulationError? Prepare()
    {
        var setup = _setup!;
        ControlBlock control;
        lock (_controlLock)
        {
            control = _control!;
        }

        // One GIL hold (and so one Python thread state) for the whole preparation.
        using (Py.GIL())
        {
            _preparedAt = Stopwatch.GetTimestamp();
            var session = ScriptSession.Create(_id, setup.Directory, setup.MainScript, control, WaitAtGate, setup.MaxSteps, setup.LogLimit, setup.PythonPath);
            _session = session;
            _pythonViewOpen = true;
            var report = session.Load();
            if (report is null && !control.IsStopRequested)
            {
                report = session.CreateClient(setup.ClientFactory, setup.ClientAddress, setup.ConfigurationFile, setup.Overrides);
                _initialization = Stopwatch.GetElapsedTime(_preparedAt);
            }

            if (report is null && setup.Profile)
            {
                var profiler = session.AttachProfiler(setup.Directory, setup.Created, _initialization);
                if (!profiler.NativeStamps)
                {
                    SimulationLog.ProfilePythonStamps(_logger, _id);
                }

                Volatile.Write(ref _timeLogs, profiler.TimeLogsFolder);
                Volatile.Write(ref _profiler, profiler);
            }

            return report;
        }
    }

    private ScriptOutcome Run()
    {
        WaitAtGate();
        lock (_controlLock)
        {
            if (_control is null || _control.IsStopRequested || _session is null)
            {
                return new ScriptOutcome(true, null);
            }
        }

        var (stopped, error) = _session.Run();

        // No more steps: the profile is complete for GET …/profile while the simulation is completed.
        _profiler?.StopReading();
        DrainOutputQuietly();
        return new ScriptOutcome(stopped, error);
    }

    private ShutdownReport Shutdown()
    {
        var session = Interlocked.Exchange(ref _session, null);
        if (session is null)
        {
            return new ShutdownReport(null, null);
        }

        var started = Stopwatch.GetTimestamp();
        string? clientError = null;
        SessionCloseReport? closed = null;
        try
        {
            // Inside the try: whatever fails, the session is still closed (and the interpreter given back).
            _faultHook?.Invoke();
            clientError = session.ShutdownClient();
        }
        finally
        {
            // A shutdown that returns after the worker was abandoned touches nothing: the host has moved on, and
            // closing would give back a current directory and sys.path that now belong to someone else.
            if (!_abandoned)
            {
                FinishProfile(session, Stopwatch.GetElapsedTime(started));

                // Closing releases Python's view of the control block; only then does the thread free it when it ends.
                closed = Close(session);
            }

            DrainOutputQuietly();
        }

        return new ShutdownReport(clientError, closed);
    }

    /// <summary>
    /// Closes the session. When closing itself fails, the interpreter is in an unknown state: that is reported as a
    /// problem (so it is taken out of service), and the control block stays allocated (Python may still see it).
    /// </summary>
    private SessionCloseReport Close(ScriptSession session)
    {
        try
        {
            _phaseHook?.Invoke(SimulationPhase.Restore);
            var closed = session.Close();
            _pythonViewOpen = false;
            return closed;
        }
#pragma warning disable CA1031 // Whatever failed, the simulation goes on to its end; the interpreter is what is reported.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return new SessionCloseReport([], [], [$"closing the session failed ({ex.GetType().Name}: {ex.Message})"]);
        }
    }

    /// <summary>
    /// Ends the profile at shutdown: reads the last steps, writes <c>experiment_stats.log</c>, puts the summary table into
    /// the simulation's log, and frees the rings once Python has let go of them (a script that kept a view of them
    /// leaves them allocated). The profile is gone afterwards.
    /// </summary>
    private void FinishProfile(ScriptSession session, TimeSpan shutdown)
    {
        var profiler = Interlocked.Exchange(ref _profiler, null);
        if (profiler is null)
        {
            return;
        }

        try
        {
            profiler.StopReading();
            var table = profiler.Finish(shutdown, Stopwatch.GetElapsedTime(_preparedAt));
            if (profiler.TimeLogsFailure is { } failure)
            {
                SimulationLog.TimeLogsFailed(_logger, _id, failure);
            }

            if (profiler.ReadFailure is { } unread)
            {
                SimulationLog.ProfileNotFinished(_logger, _id, "its records stopped being read: " + unread);
            }

            session.WriteToLog(table);
            if (!session.DetachProfiler())
            {
                SimulationLog.ProfileRingsKept(_logger, _id, profiler.KeepRings());
            }

            profiler.Dispose();
        }
        catch (PythonException ex)
        {
            // Python may still hold the rings: they are left allocated rather than freed under it.
            SimulationLog.ProfileNotFinished(_logger, _id, ex.Message);
        }
    }

    /// <summary>Called by Python (through pythonnet, without the GIL) when the script reaches a closed gate.</summary>
    private void WaitAtGate()
    {
        if (_control is { IsShared: true } shared)
        {
            shared.WaitWhilePaused();
        }
        else
        {
            _gate.Wait();
        }
    }

    private void ReleaseControl()
    {
        lock (_controlLock)
        {
            if (_control is { } control)
            {
                _lastSteps = control.Steps;
                _lastResumedAt = control.ResumedAt;
                control.Dispose();
                _control = null;
            }
        }
    }

    private void DrainOutputQuietly()
    {
        try
        {
            PythonRuntime.DrainOutput();
        }
        catch (PythonException ex)
        {
            SimulationLog.OutputDrainFailed(_logger, _id, ex.Message);
        }
    }

    /// <summary>
    /// Runs a short host operation under the GIL on a thread of its own, waiting at most <see cref="GilTimeout"/>:
    /// the GIL can be held for a long time by a thread inside C code, and the caller (a stop) must move on. While one
    /// such call still waits for the GIL, no second one is started.
    /// </summary>
    private async Task<(bool Done, T? Value)> WithGilAsync<T>(Func<T> call)
    {
        if (_pendingGilCall is { IsCompleted: false })
        {
            return (false, default);
        }

        var task = Task.Factory.StartNew(call, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        _pendingGilCall = task;
        try
        {
            return (true, await task.WaitAsync(GilTimeout).ConfigureAwait(false));
        }
        catch (TimeoutException)
        {
            return (false, default);
        }
        catch (PythonException ex)
        {
            SimulationLog.InterruptFailed(_logger, _id, ex.Message);
            return (true, default);
        }
    }

    private static SimulationPhase PhaseName(WorkerPhase phase) => phase switch
    {
        WorkerPhase.Preparing => SimulationPhase.Prepare,
        WorkerPhase.Running => SimulationPhase.Run,
        _ => SimulationPhase.Shutdown,
    };
}
