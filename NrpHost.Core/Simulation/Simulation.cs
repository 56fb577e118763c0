using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using NrpHost.NrpCore;
using NrpHost.Python;
using NrpHost.Storage;
using NrpHost.Telemetry;

namespace NrpHost.Simulation;

/// <summary>
/// One simulation, composed of three parts made by <see cref="SimulationManager"/>: its state machine (states and the
/// pause gate, nothing else), its runner (where its Python runs: a thread of this process or a worker process) and its
/// workspace (its directory). This
/// class only puts them in order: create (stage, configure, prepare under a deadline), start, and stop or fail
/// (stop the script, shut the client down under a deadline, archive, remove). Every path ends in a final state: any
/// exception of any phase fails the simulation with a runtime error and the same clean-up, and a phase that overruns
/// its deadline is abandoned.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "A simulation stays listed after it ends; its cancellation source holds no unmanaged resource and is collected with it.")]
internal sealed class Simulation
{
    private const string ShutdownTask = "Shutting down Simulation";
    private const int InterruptAttempts = 20;
    private static readonly TimeSpan InterruptEvery = TimeSpan.FromMilliseconds(100);

    private readonly SimulationStateMachine _machine;
    private readonly ISimulationRunner _runner;
    private readonly SimulationWorkspace _workspace;
    private readonly SimulationServices _services;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _staging = new();
    private readonly TaskCompletionSource<StateChangeResult> _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _lock = new();
    private ExperimentConfiguration? _configuration;
    private Task? _prepare;
    private Task? _run;
    private int _scriptStarted;
    private PathScrubber? _scrubber;
    private volatile bool _lostReported;

    public Simulation(
        int id,
        SimulationRequest request,
        DateTimeOffset creationDate,
        SimulationStateMachine machine,
        ISimulationRunner runner,
        SimulationWorkspace workspace,
        SimulationServices services)
    {
        Id = id;
        Request = request;
        CreationDate = creationDate;
        _machine = machine;
        _runner = runner;
        _workspace = workspace;
        _services = services;
        _logger = services.Logger;
        _runner.Lost.ContinueWith(lost => OnRunnerLost(lost.Result), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
    }

    public int Id { get; }

    public SimulationRequest Request { get; }

    public DateTimeOffset CreationDate { get; }

    public SimulationState State => _machine.State;

    /// <summary>The simulation directory while it exists.</summary>
    public string? Directory => _workspace.Directory;

    /// <summary>When the script last left the pause gate (Stopwatch timestamp), 0 if never; for diagnostics.</summary>
    public long ResumedAt => _runner.ResumedAt;

    /// <summary>The step-latency profile while there is one (a profiled simulation, until it is stopped).</summary>
    public Profiling.StepProfile? Profile => _runner.Profile;

    /// <summary>Whether its runner had to be abandoned.</summary>
    public bool IsAbandoned => _runner.IsAbandoned;

    /// <summary>The process its Python runs in.</summary>
    public int ProcessId => _runner.ProcessId;

    /// <summary>Reads its step-latency profile now (every step so far).</summary>
    public Task<Profiling.StepProfile?> ReadProfileAsync(CancellationToken cancellationToken) => _runner.ReadProfileAsync(cancellationToken);

    public SimulationSnapshot Snapshot()
    {
        var (state, realTime) = _machine.Read();
        var steps = _runner.Steps;
        var configuration = Volatile.Read(ref _configuration);
        var timestep = configuration?.SimulationTimestep ?? 0;
        var left = configuration is null ? 0 : Math.Max(0, configuration.MaxSteps - steps);
        return new SimulationSnapshot
        {
            Id = Id,
            State = state,
            ExperimentId = Request.ExperimentId,
            ExperimentConfiguration = Request.ExperimentConfiguration,
            MainScript = Request.MainScript,
            Owner = Request.Owner,
            CreationDate = CreationDate,
            ContextId = Request.ContextId,
            Clock = new SimulationClock
            {
                RealTime = realTime.TotalSeconds,
                SimulationTime = steps * timestep,
                SimulationTimeLeft = left * timestep,
                Iterations = steps,
            },
        };
    }

    // ------------------------------------------------------------------------------------------------ create

    /// <summary>
    /// Stages the experiment and prepares the script and client on the simulation's thread (within
    /// <see cref="SimulationOptions.InitializeTimeoutSeconds"/>); ends in <c>paused</c>, or <c>failed</c> with the
    /// reason. A stop requested meanwhile wins.
    /// </summary>
    public async Task<CreateSimulationResult> InitializeAsync(CancellationToken cancellationToken)
    {
        using var activity = StartActivity("simulation.create");
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _staging.Token);
        SimulationFault fault;
        string message;
        SimulationError? report = null;
        try
        {
            var directory = _workspace.Create();
            _scrubber = null;

            // Names from the request must resolve inside the directory before anything is written there.
            var configPath = PathGuard.Resolve(directory, Request.ExperimentConfiguration);
            PathGuard.Resolve(directory, Request.MainScript);
            await _workspace.StageAsync(linked.Token).ConfigureAwait(false);

            _services.FaultHook?.Invoke(SimulationPhase.Configure);
            var configuration = LoadConfiguration(configPath, out report, out var missing);
            if (configuration is null)
            {
                throw new SimulationInitializationException(
                    report!.Message, missing ? SimulationFault.ConfigurationNotFound : SimulationFault.Initialization);
            }

            var warning = configuration.Warning(Request.ExperimentConfiguration);
            if (warning is not null)
            {
                SimulationLog.ConfigurationWarning(_logger, Id, warning);
            }

            Volatile.Write(ref _configuration, configuration);
            _services.FaultHook?.Invoke(SimulationPhase.Python);
            if (_services.Options.Isolation == Isolation.SimulationIsolation.InProcess)
            {
                // A worker process loads its own interpreter; only a thread of this process needs this one.
                _services.Python.EnsureInitialized();
            }

            linked.Token.ThrowIfCancellationRequested();

            Task<SimulationError?> prepare;
            lock (_lock)
            {
                if (_machine.IsStopping)
                {
                    return StoppedWhileCreating();
                }

                prepare = _runner.PrepareAsync(Setup(directory, configuration));
                _prepare = prepare;
            }

            report = await PrepareWithinDeadlineAsync(prepare).ConfigureAwait(false);
            if (report is null)
            {
                if (_machine.Initialized() is { } initialized)
                {
                    Publish(initialized);
                    return new CreateSimulationResult
                    {
                        Status = CreateSimulationStatus.Ready,
                        Simulation = Snapshot(),
                        Warnings = warning is null ? [] : [warning],
                    };
                }

                // A stop arrived meanwhile: it decides the end.
                return StoppedWhileCreating();
            }

            (fault, message) = report.Refusal is { } refusal
                ? (SimulationFault.ConfigurationRefused, (report with { Message = refusal }).Located())
                : (SimulationFault.Initialization, report.Located());
        }
        catch (OperationCanceledException) when (_staging.IsCancellationRequested)
        {
            return StoppedWhileCreating();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            fault = SimulationFault.Initialization;
            message = "Creating the simulation was cancelled by the caller";
        }
        catch (ExperimentStorageException ex)
        {
            fault = ex.Error switch
            {
                ExperimentStorageError.NotFound => SimulationFault.ExperimentNotFound,
                ExperimentStorageError.FileMissing => SimulationFault.ExperimentFileMissing,
                ExperimentStorageError.Unauthorized => SimulationFault.Unauthorized,
                ExperimentStorageError.Forbidden => SimulationFault.Forbidden,
                ExperimentStorageError.InvalidPath => SimulationFault.Initialization,
                _ => SimulationFault.StorageUnavailable,
            };
            message = ex.Message;
        }
        catch (PythonNotAvailableException ex)
        {
            fault = SimulationFault.PythonUnavailable;
            message = ex.Message;
        }
        catch (SimulationInitializationException ex)
        {
            fault = ex.Fault;
            message = ex.Message;
        }
#pragma warning disable CA1031 // Any failure of any kind ends the simulation in failed, cleaned up; none may leave it in created.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            fault = SimulationFault.Initialization;
            message = $"Unexpected {ex.GetType().Name} while creating the simulation: {ex.Message}";
        }

        activity?.SetStatus(ActivityStatusCode.Error, message);
        StateChangeResult? result;
        if (fault == SimulationFault.ExperimentNotFound)
        {
            // Storage could not tell before (the manager asks first): nothing was staged, so nothing is reported or archived.
            result = await FailAsync(null, quiet: true).ConfigureAwait(false);
        }
        else
        {
            SimulationLog.InitializationFailed(_logger, Id, message);
            report ??= new SimulationError { SimulationId = Id, Message = message, ErrorType = "Loading", FileName = Request.MainScript };
            result = await FailAsync(report).ConfigureAwait(false);
        }

        return result is null
            ? new CreateSimulationResult { Status = CreateSimulationStatus.Failed, Simulation = Snapshot(), Message = Scrubber.Scrub(message), Fault = fault }
            : StoppedWhileCreating();
    }

    private CreateSimulationResult StoppedWhileCreating() => new()
    {
        Status = CreateSimulationStatus.Stopped,
        Simulation = Snapshot(),
        Message = "The simulation was stopped while it was being created.",
    };

    private ExperimentConfiguration? LoadConfiguration(string path, out SimulationError? report, out bool missing)
    {
        try
        {
            report = null;
            missing = false;
            return ExperimentConfiguration.Load(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or FormatException)
        {
            missing = ex is FileNotFoundException or DirectoryNotFoundException;
            var reason = missing ? "file not found" : ex.Message;
            report = new SimulationError
            {
                SimulationId = Id,
                Message = $"Error loading experiment configuration '{Request.ExperimentConfiguration}': {reason}",
                ErrorType = "Loading",
                FileName = Request.ExperimentConfiguration,
            };
            return null;
        }
    }

    private WorkerSetup Setup(string directory, ExperimentConfiguration configuration)
    {
        var nrpCore = _services.NrpCore;
        var (factory, pythonPath) = _services.Client;
        return new WorkerSetup(
            directory,
            _services.Options.MaxLogFileBytes,
            Request.MainScript,
            Request.ExperimentConfiguration,
            configuration.MaxSteps,
            factory,
            nrpCore.Address,
            NrpCoreOverrides.Build(Id, configuration.DataTransferEngineIndex, nrpCore.MqttBroker, nrpCore.MqttPrefix),
            pythonPath)
        {
            SimulationId = Id,
            Profile = Request.Profile || _services.Options.Profile,
            Created = CreationDate,
        };
    }

    /// <summary>Waits for the preparation within its deadline (see <see cref="EndWithinAsync"/>); a report when it failed or overran.</summary>
    private async Task<SimulationError?> PrepareWithinDeadlineAsync(Task<SimulationError?> prepare)
    {
        var deadline = TimeSpan.FromSeconds(_services.Options.InitializeTimeoutSeconds);
        var (end, where) = await EndWithinAsync(
            prepare, deadline, interruptFor: TimeSpan.FromSeconds(2), thenWait: TimeSpan.Zero,
            where => $"Initialisation did not finish within {deadline.TotalSeconds:0.#} s ({Where(where)})").ConfigureAwait(false);
        if (end != PhaseEnd.Done && (end == PhaseEnd.Abandoned || !_machine.IsStopping))
        {
            var reason = end == PhaseEnd.Abandoned
                ? $"Initialisation did not finish within {deadline.TotalSeconds:0.#} s ({Where(where)})"
                : $"Initialisation did not finish within {deadline.TotalSeconds:0.#} s and was interrupted ({Where(where)})";
            return new SimulationError { SimulationId = Id, Message = reason, ErrorType = "Loading", FileName = where?.File ?? Request.MainScript, LineNumber = where?.Line ?? -1 };
        }

        try
        {
            return await prepare.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is Python.PythonNotAvailableException or Isolation.IsolationUnavailableException)
        {
            // No runner could be had: the host cannot run simulations this way (reported as such, not as the script's fault).
            throw;
        }
#pragma warning disable CA1031 // A host fault of the runner is reported like any initialisation failure.
        catch (Exception ex) when (!_machine.IsStopping)
#pragma warning restore CA1031
        {
            return HostFault("Loading", ex);
        }
#pragma warning disable CA1031 // Interrupted by a stop: the stop decides the end.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            SimulationLog.StoppedDuringPreparation(_logger, Id, ex.Message);
            return null;
        }
    }

    /// <summary>A report for a fault of the runner (not of the script): how a lost worker ended, or the exception.</summary>
    private SimulationError HostFault(string errorType, Exception exception)
    {
        if (exception is RunnerLostException lost)
        {
            // Its end is the report: the stop asks the runner for nothing more.
            _lostReported = true;
            return new SimulationError { SimulationId = Id, Message = lost.Message, ErrorType = errorType, FileName = Request.MainScript };
        }

        return ScriptSession.HostFault(Id, Request.MainScript, errorType, exception);
    }

    // ------------------------------------------------------------------------------------------------ requests

    /// <summary>Handles a requested state.</summary>
    public async Task<StateChangeResult> RequestStateAsync(SimulationState target)
    {
        using var activity = StartActivity(target switch
        {
            SimulationState.Started when Volatile.Read(ref _scriptStarted) == 1 => "simulation.resume",
            SimulationState.Started => "simulation.start",
            SimulationState.Paused => "simulation.pause",
            SimulationState.Stopped or SimulationState.Failed => "simulation.stop",
            _ => "simulation.request",
        });
        activity?.SetTag("nrphost.simulation.requested_state", target.ToWireName());
        var decision = _machine.Request(target);
        switch (decision.Outcome)
        {
            case RequestOutcome.Finalized:
                return new StateChangeResult { Status = StateChangeStatus.Finalized, State = decision.State, Message = "The simulation requested is finalized" };
            case RequestOutcome.Unchanged:
                return new StateChangeResult { Status = StateChangeStatus.Unchanged, State = decision.State };
            case RequestOutcome.Invalid:
                return new StateChangeResult
                {
                    Status = StateChangeStatus.InvalidTransition,
                    State = decision.State,
                    Message = RequestDecision.InvalidMessage(decision.State, target),
                };
            case RequestOutcome.Changed:
                Publish(new Transition(decision.Previous, decision.State));
                if (decision.State == SimulationState.Started && Interlocked.Exchange(ref _scriptStarted, 1) == 0)
                {
                    StartScript();
                }

                return new StateChangeResult { Status = StateChangeStatus.Changed, State = decision.State };
            case RequestOutcome.BeginStop:
                var result = await StopAsync(target, reason: null).ConfigureAwait(false);
                _stopped.TrySetResult(result);
                return result;
            default:
                return await _stopped.Task.ConfigureAwait(false);
        }
    }

    private void StartScript()
    {
        Task<ScriptOutcome> run;
        lock (_lock)
        {
            run = _runner.RunAsync();
            _run = run;
        }

        run.ContinueWith(OnScriptEnded, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private void OnScriptEnded(Task<ScriptOutcome> run)
    {
        ScriptOutcome outcome;
        if (run.IsCanceled)
        {
            return;
        }

        if (run.IsFaulted)
        {
            // The host could not run the script (not a fault of the script): the simulation fails and is cleaned up.
            var error = run.Exception!.InnerException ?? run.Exception;
            if (!_machine.IsStopping)
            {
                SimulationLog.ScriptHostFault(_logger, Id, error);
                _ = FailAsync(HostFault("Runtime", error));
            }

            return;
        }

        outcome = run.Result;
        if (outcome.Failed && outcome.Error is { } limit && !outcome.Stopped)
        {
            // It passed a limit of its process: that ends the simulation as failed, not completed.
            SimulationLog.ScriptFault(_logger, Id, limit.ErrorType, limit.Message, limit.FileName, limit.LineNumber);
            _ = FailAsync(limit);
            return;
        }

        if (outcome.Error is { } fault)
        {
            SimulationLog.ScriptFault(_logger, Id, fault.ErrorType, fault.Message, fault.FileName, fault.LineNumber);
            Report(fault);
        }

        if (outcome.Stopped)
        {
            SimulationLog.ScriptStopped(_logger, Id);
            return;
        }

        SimulationLog.ScriptEnded(_logger, Id);
        if (_machine.ScriptEnded() is { } completed)
        {
            Publish(completed);
        }
    }

    /// <summary>The runner ended on its own (a worker process died): the simulation fails with how it ended, unless it is ending anyway.</summary>
    private void OnRunnerLost(string reason)
    {
        if (_machine.IsStopping || _machine.State.IsFinal())
        {
            return;
        }

        SimulationLog.RunnerLost(_logger, Id, reason);
        _ = FailAsync(new SimulationError { SimulationId = Id, Message = reason, ErrorType = "Runtime", FileName = Request.MainScript }, runnerLost: true);
    }

    // ------------------------------------------------------------------------------------------------ stop and fail

    /// <summary>Fails the simulation (after a failed creation); null when it did, the stop's result when a stop already owned the end.</summary>
    private async Task<StateChangeResult?> FailAsync(SimulationError? report, bool runnerLost = false, bool quiet = false)
    {
        if (!_machine.TryBeginStop())
        {
            return await _stopped.Task.ConfigureAwait(false);
        }

        // The report says how the runner ended: the stop does not ask it for anything any more.
        _lostReported |= runnerLost;
        var result = await StopAsync(SimulationState.Failed, report, archive: !quiet).ConfigureAwait(false);
        _stopped.TrySetResult(result);
        return null;
    }

    /// <summary>
    /// Ends the simulation from any non-final state: the script is woken and, if it does not reach <c>run_loop</c>,
    /// interrupted; the client is shut down within <see cref="SimulationOptions.ShutdownTimeoutSeconds"/>; the logs are
    /// archived and handed to storage; the directory is removed. Ends in <paramref name="finalState"/>, or in
    /// <c>failed</c> when a phase had to be abandoned. Never throws.
    /// </summary>
    private async Task<StateChangeResult> StopAsync(SimulationState finalState, SimulationError? reason, bool archive = true)
    {
        var started = _services.Time.GetTimestamp();
        string? failure = null;
        _services.Events.Progress(Id, ShutdownTask, done: false);
        try
        {
            await _staging.CancelAsync().ConfigureAwait(false);
            if (reason is not null)
            {
                Report(reason);
            }

            failure = await EndScriptAsync().ConfigureAwait(false) ?? await ShutdownClientAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Whatever fails, the clean-up below runs and the simulation reaches a final state.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failure = $"Unexpected {ex.GetType().Name} while stopping the simulation: {ex.Message}";
            SimulationLog.StopFault(_logger, Id, ex);
        }

        // Nothing the simulation started may still write into its directory while it is archived.
        await _runner.EndAsync().ConfigureAwait(false);

        if (failure is not null)
        {
            Report(new SimulationError { SimulationId = Id, Message = failure, ErrorType = "Runtime", FileName = Request.MainScript });
        }

        if (await ArchiveAndRemoveAsync(archive).ConfigureAwait(false) is { } cleanup && failure is null)
        {
            failure = cleanup;
            Report(new SimulationError { SimulationId = Id, Message = failure, ErrorType = "Runtime", FileName = Request.MainScript });
        }

        if (failure is not null)
        {
            finalState = SimulationState.Failed;
        }
        if (_machine.Finish(finalState) is { } finished)
        {
            Publish(finished);
        }

        _services.Events.Progress(Id, ShutdownTask, done: true);
        var elapsedMs = _services.Time.GetElapsedTime(started).TotalMilliseconds;
        SimulationMetrics.StopDuration.Record(elapsedMs / 1000);
        SimulationLog.Stopped(_logger, Id, finalState, elapsedMs);
        return failure is null
            ? new StateChangeResult { Status = StateChangeStatus.Changed, State = finalState }
            : new StateChangeResult { Status = StateChangeStatus.Failed, State = SimulationState.Failed, Message = Scrubber.Scrub(failure) };
    }

    /// <summary>
    /// Waits for the script (or the preparation) to end: first for it to reach <c>run_loop</c> on its own, then raising
    /// the stop signal in it every 100 ms for 2 s, then until the abandon bound. Null when it ended, else why not.
    /// </summary>
    private async Task<string?> EndScriptAsync()
    {
        if (_runner.IsAbandoned)
        {
            return null;
        }

        Task busy;
        lock (_lock)
        {
            busy = Task.WhenAll(new[] { _prepare, _run }.OfType<Task>());
        }

        var abandonAfter = TimeSpan.FromMilliseconds(_services.Options.AbandonAfterMilliseconds);
        var (end, where) = await EndWithinAsync(
            busy, TimeSpan.FromMilliseconds(_services.Options.StopGraceMilliseconds), InterruptEvery * InterruptAttempts, abandonAfter,
            where => $"The simulation's script did not end when asked and was abandoned after {abandonAfter.TotalSeconds:0.#} s ({Where(where)})").ConfigureAwait(false);
        return end == PhaseEnd.Abandoned
            ? $"The simulation's script did not end when asked and was abandoned after {abandonAfter.TotalSeconds:0.#} s ({Where(where)})"
            : null;
    }

    /// <summary>
    /// Shuts the client down within the deadline. Null when done (an error of the client's own is only logged); else
    /// what went wrong, unless that was already reported (a runner lost before the stop).
    /// </summary>
    private async Task<string?> ShutdownClientAsync()
    {
        if (_runner.IsAbandoned || _lostReported)
        {
            return null;
        }

        var shutdown = _runner.ShutdownAsync();
        var deadline = TimeSpan.FromSeconds(_services.Options.ShutdownTimeoutSeconds);
        var (end, where) = await EndWithinAsync(
            shutdown, deadline, interruptFor: TimeSpan.FromSeconds(1), thenWait: TimeSpan.Zero,
            where => $"{Who(where)} did not finish shutdown() within {deadline.TotalSeconds:0.#} s and was abandoned").ConfigureAwait(false);
        if (end == PhaseEnd.Abandoned)
        {
            return $"{Who(where)} did not finish shutdown() within {deadline.TotalSeconds:0.#} s and was abandoned";
        }

        try
        {
            var report = await shutdown.ConfigureAwait(false);
            if (report.ClientError is { } error)
            {
                SimulationLog.ClientShutdownFailed(_logger, Id, error);
            }

            if (report.Closed is { } closed)
            {
                Contained(closed);
            }
        }
        catch (OperationCanceledException)
        {
            // The worker was abandoned earlier; there was nothing to shut down.
        }
        catch (RunnerLostException lost)
        {
            // Its process ended during the stop: that is how the simulation ended.
            SimulationLog.ClientShutdownFailed(_logger, Id, lost.Message);
            return lost.Message;
        }
#pragma warning disable CA1031 // The host failed to shut the client down (not the client's own error): the simulation fails, cleaned up.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            SimulationLog.ClientShutdownFailed(_logger, Id, ex.Message);
            return $"Shutting the nrp-core client down failed unexpectedly ({ex.GetType().Name}: {ex.Message})";
        }

        return null;
    }

    /// <summary>How a phase given a deadline ended (<see cref="EndWithinAsync"/>).</summary>
    private enum PhaseEnd
    {
        /// <summary>It ended on its own within the first wait.</summary>
        Done,

        /// <summary>It ended after the stop signal was raised in it.</summary>
        Interrupted,

        /// <summary>It did not end: the runner was abandoned.</summary>
        Abandoned,
    }

    /// <summary>
    /// The one fault path of every phase that runs the experiment's code (preparing, running, shutting down): waits for
    /// <paramref name="work"/> up to <paramref name="wait"/>; then notes where the script is and raises the stop signal in
    /// it every 100 ms for <paramref name="interruptFor"/>; then waits <paramref name="thenWait"/> more; then abandons the
    /// runner with the reason <paramref name="abandonReason"/> gives. Also returns where the script was, when asked.
    /// </summary>
    private async Task<(PhaseEnd End, CodeLocation? Where)> EndWithinAsync(
        Task work, TimeSpan wait, TimeSpan interruptFor, TimeSpan thenWait, Func<CodeLocation?, string> abandonReason)
    {
        if (await Completes(work, wait).ConfigureAwait(false))
        {
            return (PhaseEnd.Done, null);
        }

        var where = await _runner.WhereAsync().ConfigureAwait(false);
        if (await InterruptUntilDoneAsync(work, interruptFor).ConfigureAwait(false)
            || (thenWait > TimeSpan.Zero && await Completes(work, thenWait).ConfigureAwait(false)))
        {
            return (PhaseEnd.Interrupted, where);
        }

        where = await _runner.WhereAsync().ConfigureAwait(false) ?? where;
        Abandon(abandonReason(where));
        return (PhaseEnd.Abandoned, where);
    }

    /// <summary>Reports what the simulation left behind, and takes the interpreter out of service when it could not be restored.</summary>
    private void Contained(SessionCloseReport closed)
    {
        if (closed.EndedChildren.Count > 0)
        {
            SimulationLog.ChildrenEnded(_logger, Id, string.Join(", ", closed.EndedChildren));
        }

        if (closed.RunningThreads.Count > 0)
        {
            SimulationLog.ThreadsLeftRunning(_logger, Id, string.Join(", ", closed.RunningThreads));
        }

        if (closed.Problems.Count > 0)
        {
            var reason = $"simulation {Id} changed the Python interpreter in a way that could not be undone ({string.Join("; ", closed.Problems)}); restart the host";
            SimulationLog.InterpreterNotRestored(_logger, Id, reason);
            PythonRuntime.MarkUnusable(reason);
        }
    }

    private async Task<bool> InterruptUntilDoneAsync(Task work, TimeSpan within)
    {
        var until = _services.Time.GetTimestamp();
        do
        {
            await _runner.TryInterruptAsync().ConfigureAwait(false);
            if (await Completes(work, InterruptEvery).ConfigureAwait(false))
            {
                return true;
            }
        }
        while (_services.Time.GetElapsedTime(until) < within);

        return work.IsCompleted;
    }

    /// <summary>
    /// Gives up on the runner: a thread of this process keeps running until its blocking call returns and touches nothing
    /// when it does; a worker process is killed with everything it started.
    /// </summary>
    private void Abandon(string reason)
    {
        if (_runner.ProcessId == Environment.ProcessId)
        {
            SimulationLog.WorkerAbandoned(_logger, Id, reason);
            _services.Events.ScriptAbandoned(Id);
        }
        else
        {
            SimulationLog.WorkerProcessKilled(_logger, Id, reason, _runner.ProcessId);
        }

        _runner.Abandon();
    }

    /// <summary>Archives the logs and removes the directory; null when that went as expected, else what went wrong.</summary>
    private async Task<string?> ArchiveAndRemoveAsync(bool archive)
    {
        using var activity = archive ? StartActivity("simulation.archive") : null;
        string? failure = null;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(_services.Options.ArchiveTimeoutSeconds));
        try
        {
            if (archive)
            {
                await _workspace.ArchiveAsync(ArchiveFolders(), deadline.Token).ConfigureAwait(false);
            }
        }
        catch (ArchiveNotWrittenException ex)
        {
            // No log is lost to a full disk: the directory stays for the next start's recovery, and health says so.
            _workspace.KeepForRecovery(ex);
            return null;
        }
        catch (Exception ex) when (SimulationWorkspace.IsExpected(ex))
        {
            SimulationLog.LogArchiveFailed(_logger, Id, ex.Message, "none");
        }
#pragma warning disable CA1031 // An unexpected fault fails the simulation; the directory is still removed.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failure = ex is SimulationCleanupException ? ex.Message : $"Archiving the logs failed unexpectedly ({ex.GetType().Name}: {ex.Message})";
        }

        try
        {
            _workspace.Delete();
        }
#pragma warning disable CA1031 // An unexpected fault fails the simulation; it still reaches its final state.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failure ??= $"Removing the simulation directory failed unexpectedly ({ex.GetType().Name}: {ex.Message})";
        }

        if (failure is not null)
        {
            SimulationLog.CleanupFailed(_logger, Id, failure);
        }

        return failure;
    }

    /// <summary>Folders whose files go into the log archive: the data-transfer engines' data and the profile's time logs.</summary>
    private IEnumerable<string> ArchiveFolders()
    {
        IEnumerable<string> folders = Volatile.Read(ref _configuration)?.ArchiveFolders ?? [];
        return _runner.TimeLogsFolder is { } timeLogs ? folders.Append(timeLogs) : folders;
    }

    // ------------------------------------------------------------------------------------------------ helpers

    /// <summary>Where a stuck thread is: <c>engine 'e' is in engine.py line 5, in initialize</c>.</summary>
    private string Where(CodeLocation? where)
    {
        if (where is not { } location)
        {
            return "no Python code of the experiment was running";
        }

        return Volatile.Read(ref _configuration)?.EngineOfFile(location.File) is { } engine
            ? $"engine '{engine}' is in {location}"
            : $"the experiment is in {location}";
    }

    /// <summary>Who is stuck in a client call: <c>Engine 'e' (engine.py line 9, in shutdown)</c>.</summary>
    private string Who(CodeLocation? where)
    {
        if (where is not { } location)
        {
            return "The nrp-core client";
        }

        return Volatile.Read(ref _configuration)?.EngineOfFile(location.File) is { } engine
            ? $"Engine '{engine}' ({location})"
            : $"The nrp-core client ({location})";
    }

    /// <summary>Names files relative to the experiment and hides the host's own paths in what users are told.</summary>
    private PathScrubber Scrubber => _scrubber ??= new PathScrubber(_workspace.Directory ?? _workspace.LastDirectory, HostPaths());

    private IEnumerable<(string? Path, string Label)> HostPaths()
    {
        yield return (_services.WorkDirectory, "[work]");
        yield return (_services.PythonPackages, "[nrphost]");
        yield return (AppContext.BaseDirectory, "[app]");
        if (_services.Storage is LocalExperimentStorage local)
        {
            yield return (local.Root, "[experiments]");
        }

        if (_services.Python.GetStatus().Executable is { Length: > 0 } executable
            && Path.GetDirectoryName(Path.GetDirectoryName(executable)) is { Length: > 1 } prefix)
        {
            yield return (prefix, "[python]");
        }
    }

    /// <summary>Publishes a fault on the <c>runtime_error</c> channel, with the host's paths hidden.</summary>
    private void Report(SimulationError error) => _services.Events.RuntimeError(Scrubber.Scrub(error));

    private void Publish(Transition transition)
    {
        SimulationLog.StateChanged(_logger, Id, transition.From, transition.To);
        SimulationMetrics.StateChanges.Add(1, new KeyValuePair<string, object?>("state", transition.To.ToWireName()));
        _services.Events.StateChanged(Snapshot(), transition.From);
    }

    private Activity? StartActivity(string name)
    {
        var activity = NrpHostTelemetry.ActivitySource.StartActivity(name);
        activity?.SetTag("nrphost.simulation.id", Id);
        activity?.SetTag("nrphost.experiment.id", Request.ExperimentId);
        return activity;
    }

    private static async Task<bool> Completes(Task task, TimeSpan timeout)
    {
        try
        {
            await task.WaitAsync(timeout).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
#pragma warning disable CA1031 // Only whether it completed matters here; its outcome is read where it is awaited.
        catch (Exception)
#pragma warning restore CA1031
        {
            return true;
        }
    }
}

/// <summary>An initialisation step failed with a message meant for the user.</summary>
internal sealed class SimulationInitializationException(string message, SimulationFault fault = SimulationFault.Initialization) : Exception(message)
{
    public SimulationFault Fault { get; } = fault;
}
