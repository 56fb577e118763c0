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
/// pause gate, nothing else), its worker (its thread and every Python call) and its workspace (its directory). This
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
    private readonly SimulationWorker _worker;
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

    public Simulation(
        int id,
        SimulationRequest request,
        DateTimeOffset creationDate,
        SimulationStateMachine machine,
        SimulationWorker worker,
        SimulationWorkspace workspace,
        SimulationServices services)
    {
        Id = id;
        Request = request;
        CreationDate = creationDate;
        _machine = machine;
        _worker = worker;
        _workspace = workspace;
        _services = services;
        _logger = services.Logger;
    }

    public int Id { get; }

    public SimulationRequest Request { get; }

    public DateTimeOffset CreationDate { get; }

    public SimulationState State => _machine.State;

    /// <summary>The simulation directory while it exists.</summary>
    public string? Directory => _workspace.Directory;

    /// <summary>When the script last left the pause gate (Stopwatch timestamp), 0 if never; for diagnostics.</summary>
    public long ResumedAt => _worker.ResumedAt;

    /// <summary>The step-latency profile while there is one (a profiled simulation, until it is stopped).</summary>
    public Profiling.StepProfile? Profile => _worker.Profile;

    /// <summary>Whether its thread had to be abandoned.</summary>
    public bool IsAbandoned => _worker.IsAbandoned;

    public SimulationSnapshot Snapshot()
    {
        var (state, realTime) = _machine.Read();
        var steps = _worker.Steps;
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
            _services.Python.EnsureInitialized();
            linked.Token.ThrowIfCancellationRequested();

            Task<SimulationError?> prepare;
            lock (_lock)
            {
                if (_machine.IsStopping)
                {
                    return StoppedWhileCreating();
                }

                prepare = _worker.PrepareAsync(Setup(directory, configuration));
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

            fault = SimulationFault.Initialization;
            message = report.Located();
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

        SimulationLog.InitializationFailed(_logger, Id, message);
        activity?.SetStatus(ActivityStatusCode.Error, message);
        report ??= new SimulationError { SimulationId = Id, Message = message, ErrorType = "Loading", FileName = Request.MainScript };
        var result = await FailAsync(report).ConfigureAwait(false);
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
        var (factory, pythonPath) = NrpCoreClients.Select(nrpCore, _services.PythonPackages);
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
            Profile = Request.Profile || _services.Options.Profile,
            Created = CreationDate,
        };
    }

    /// <summary>Waits for the preparation; when it overruns its deadline it is interrupted and, if it still does not end, abandoned.</summary>
    private async Task<SimulationError?> PrepareWithinDeadlineAsync(Task<SimulationError?> prepare)
    {
        var deadline = TimeSpan.FromSeconds(_services.Options.InitializeTimeoutSeconds);
        if (!await Completes(prepare, deadline).ConfigureAwait(false))
        {
            var where = await _worker.WhereAsync().ConfigureAwait(false);
            if (!await InterruptUntilDoneAsync(prepare, TimeSpan.FromSeconds(2)).ConfigureAwait(false))
            {
                var reason = $"Initialisation did not finish within {deadline.TotalSeconds:0.#} s ({Where(where)})";
                Abandon(reason);
                return new SimulationError { SimulationId = Id, Message = reason, ErrorType = "Loading", FileName = where?.File ?? Request.MainScript, LineNumber = where?.Line ?? -1 };
            }

            if (!_machine.IsStopping)
            {
                var reason = $"Initialisation did not finish within {deadline.TotalSeconds:0.#} s and was interrupted ({Where(where)})";
                return new SimulationError { SimulationId = Id, Message = reason, ErrorType = "Loading", FileName = where?.File ?? Request.MainScript, LineNumber = where?.Line ?? -1 };
            }
        }

        try
        {
            return await prepare.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A host fault on the simulation thread is reported like any initialisation failure.
        catch (Exception ex) when (!_machine.IsStopping)
#pragma warning restore CA1031
        {
            return ScriptSession.HostFault(Id, Request.MainScript, "Loading", ex);
        }
#pragma warning disable CA1031 // Interrupted by a stop: the stop decides the end.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            SimulationLog.StoppedDuringPreparation(_logger, Id, ex.Message);
            return null;
        }
    }

    // ------------------------------------------------------------------------------------------------ requests

    /// <summary>Handles a requested state.</summary>
    public async Task<StateChangeResult> RequestStateAsync(SimulationState target)
    {
        using var activity = StartActivity(target switch
        {
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
            run = _worker.RunAsync();
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
                _ = FailAsync(ScriptSession.HostFault(Id, Request.MainScript, "Runtime", error));
            }

            return;
        }

        outcome = run.Result;

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

    // ------------------------------------------------------------------------------------------------ stop and fail

    /// <summary>Fails the simulation (after a failed creation); null when it did, the stop's result when a stop already owned the end.</summary>
    private async Task<StateChangeResult?> FailAsync(SimulationError report)
    {
        if (!_machine.TryBeginStop())
        {
            return await _stopped.Task.ConfigureAwait(false);
        }

        var result = await StopAsync(SimulationState.Failed, report).ConfigureAwait(false);
        _stopped.TrySetResult(result);
        return null;
    }

    /// <summary>
    /// Ends the simulation from any non-final state: the script is woken and, if it does not reach <c>run_loop</c>,
    /// interrupted; the client is shut down within <see cref="SimulationOptions.ShutdownTimeoutSeconds"/>; the logs are
    /// archived and handed to storage; the directory is removed. Ends in <paramref name="finalState"/>, or in
    /// <c>failed</c> when a phase had to be abandoned. Never throws.
    /// </summary>
    private async Task<StateChangeResult> StopAsync(SimulationState finalState, SimulationError? reason)
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

        if (failure is not null)
        {
            Report(new SimulationError { SimulationId = Id, Message = failure, ErrorType = "Runtime", FileName = Request.MainScript });
        }

        if (await ArchiveAndRemoveAsync().ConfigureAwait(false) is { } cleanup && failure is null)
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
        SimulationMetrics.StopDuration.Record(elapsedMs);
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
        if (_worker.IsAbandoned)
        {
            return null;
        }

        Task busy;
        lock (_lock)
        {
            busy = Task.WhenAll(new[] { _prepare, _run }.OfType<Task>());
        }

        if (await Completes(busy, TimeSpan.FromMilliseconds(_services.Options.StopGraceMilliseconds)).ConfigureAwait(false)
            || await InterruptUntilDoneAsync(busy, InterruptEvery * InterruptAttempts).ConfigureAwait(false))
        {
            return null;
        }

        var abandonAfter = TimeSpan.FromMilliseconds(_services.Options.AbandonAfterMilliseconds);
        if (await Completes(busy, abandonAfter).ConfigureAwait(false))
        {
            return null;
        }

        var where = await _worker.WhereAsync().ConfigureAwait(false);
        var reason = $"The simulation's script did not end when asked and was abandoned after {abandonAfter.TotalSeconds:0.#} s ({Where(where)})";
        Abandon(reason);
        return reason;
    }

    /// <summary>Shuts the client down on the simulation thread within the deadline. Null when done (an error of the client's own is only logged).</summary>
    private async Task<string?> ShutdownClientAsync()
    {
        if (_worker.IsAbandoned)
        {
            return null;
        }

        var shutdown = _worker.ShutdownAsync();
        var deadline = TimeSpan.FromSeconds(_services.Options.ShutdownTimeoutSeconds);
        if (!await Completes(shutdown, deadline).ConfigureAwait(false))
        {
            var where = await _worker.WhereAsync().ConfigureAwait(false);
            if (!await InterruptUntilDoneAsync(shutdown, TimeSpan.FromSeconds(1)).ConfigureAwait(false))
            {
                var reason = $"{Who(where)} did not finish shutdown() within {deadline.TotalSeconds:0.#} s and was abandoned";
                Abandon(reason);
                return reason;
            }
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
#pragma warning disable CA1031 // The host failed to shut the client down (not the client's own error): the simulation fails, cleaned up.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            SimulationLog.ClientShutdownFailed(_logger, Id, ex.Message);
            RestoreHostDirectory();
            return $"Shutting the nrp-core client down failed unexpectedly ({ex.GetType().Name}: {ex.Message})";
        }

        return null;
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
            await _worker.TryInterruptAsync().ConfigureAwait(false);
            if (await Completes(work, InterruptEvery).ConfigureAwait(false))
            {
                return true;
            }
        }
        while (_services.Time.GetElapsedTime(until) < within);

        return work.IsCompleted;
    }

    /// <summary>Gives up on the simulation's thread: it keeps running until its blocking call returns, and touches nothing when it does.</summary>
    private void Abandon(string reason)
    {
        SimulationLog.WorkerAbandoned(_logger, Id, reason);
        _worker.Abandon();
        RestoreHostDirectory();
        _services.Events.ScriptAbandoned(Id);
    }

    /// <summary>Archives the logs and removes the directory; null when that went as expected, else what went wrong.</summary>
    private async Task<string?> ArchiveAndRemoveAsync()
    {
        string? failure = null;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(_services.Options.ArchiveTimeoutSeconds));
        try
        {
            await _workspace.ArchiveAsync(ArchiveFolders(), deadline.Token).ConfigureAwait(false);
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
        return _worker.TimeLogsFolder is { } timeLogs ? folders.Append(timeLogs) : folders;
    }

    /// <summary>
    /// An abandoned thread never gets to put the process's current directory back (it set it to its own); the host
    /// takes it back, so nothing else depends on a folder that belongs to a failed simulation.
    /// </summary>
    private void RestoreHostDirectory()
    {
        try
        {
            System.IO.Directory.SetCurrentDirectory(_services.HostDirectory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            SimulationLog.CurrentDirectoryNotRestored(_logger, Id, _services.HostDirectory, ex.Message);
        }
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
