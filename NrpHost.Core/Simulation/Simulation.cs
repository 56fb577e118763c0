using System.Globalization;
using Microsoft.Extensions.Logging;
using NrpHost.NrpCore;
using NrpHost.Python;
using NrpHost.Storage;

namespace NrpHost.Simulation;

/// <summary>
/// One simulation: its state machine (under one lock), its directory, and its own thread that runs all of its
/// Python (preparation, then the script). Split by concern: creation here, requested transitions in
/// <c>Simulation.Transitions.cs</c>, stop and clean-up in <c>Simulation.Stop.cs</c>, the thread in
/// <c>Simulation.Thread.cs</c>.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "A simulation lives as long as the process (ids are never reused); an abandoned script thread may still wait on its gate.")]
internal sealed partial class Simulation
{
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _operations = new(1, 1);
    private readonly ManualResetEventSlim _gate = new(false);
    private readonly CancellationTokenSource _initCancellation = new();
    private readonly TaskCompletionSource<SimulationError?> _prepared = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _threadEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SimulationServices _services;
    private readonly ILogger _logger;
    private SimulationState _state = SimulationState.Created;
    private ControlBlock? _control = new();
    private SimulationClock _lastClock;
    private TimeSpan _realTime;
    private long _startedAt;
    private ExperimentConfiguration? _configuration;
    private ScriptSession? _session;
    private Thread? _thread;
    private Task? _initialization;
    private string? _directory;
    private bool _stopping;
    private bool _scriptStarted;

    public Simulation(int id, SimulationRequest request, DateTimeOffset creationDate, SimulationServices services)
    {
        Id = id;
        Request = request;
        CreationDate = creationDate;
        _services = services;
        _logger = services.Logger;
        _control.SetPaused(true);
    }

    public int Id { get; }

    public SimulationRequest Request { get; }

    public DateTimeOffset CreationDate { get; }

    /// <summary>The per-simulation directory while it exists.</summary>
    public string? Directory => Volatile.Read(ref _directory);

    public SimulationState State
    {
        get
        {
            lock (_lock)
            {
                return _state;
            }
        }
    }

    /// <summary>When the script last left the pause gate (a Stopwatch timestamp), 0 if never; for diagnostics.</summary>
    public long ResumedAt
    {
        get
        {
            lock (_lock)
            {
                return _control?.ResumedAt ?? 0;
            }
        }
    }

    public SimulationSnapshot Snapshot()
    {
        lock (_lock)
        {
            return SnapshotLocked();
        }
    }

    private SimulationSnapshot SnapshotLocked() => new(
        Id,
        _state,
        Request.ExperimentId,
        Request.ExperimentConfiguration,
        Request.MainScript,
        Request.Owner,
        CreationDate,
        Request.ContextId,
        ClockLocked());

    private SimulationClock ClockLocked()
    {
        if (_control is null || _configuration is null)
        {
            return _lastClock with { RealTime = RealTimeLocked().TotalSeconds };
        }

        var steps = _control.Steps;
        var timestep = _configuration.SimulationTimestep;
        var left = Math.Max(0, _configuration.MaxSteps - steps);
        _lastClock = new SimulationClock(RealTimeLocked().TotalSeconds, steps * timestep, left * timestep, steps);
        return _lastClock;
    }

    /// <summary>Wall-clock time spent in <c>started</c> (the script stepping), pauses excluded.</summary>
    private TimeSpan RealTimeLocked() =>
        _state == SimulationState.Started ? _realTime + _services.Time.GetElapsedTime(_startedAt) : _realTime;

    /// <summary>Every state change goes through here, so the real time is kept in one place.</summary>
    private void SetStateLocked(SimulationState state)
    {
        if (_state == SimulationState.Started && state != SimulationState.Started)
        {
            _realTime += _services.Time.GetElapsedTime(_startedAt);
        }
        else if (state == SimulationState.Started && _state != SimulationState.Started)
        {
            _startedAt = _services.Time.GetTimestamp();
        }

        _state = state;
    }

    /// <summary>
    /// Stages the experiment and prepares the script and client on the simulation's thread; ends in
    /// <c>paused</c>, or <c>failed</c> with the reason. A stop requested meanwhile wins.
    /// </summary>
    public Task<CreateSimulationResult> InitializeAsync(CancellationToken cancellationToken)
    {
        var task = InitializeCoreAsync(cancellationToken);
        _initialization = task;
        return task;
    }

    private async Task<CreateSimulationResult> InitializeCoreAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _initCancellation.Token);
        var token = linked.Token;
        SimulationFault fault;
        string message;
        SimulationError? report = null;
        try
        {
            var directory = Path.Combine(_services.WorkDirectory,
                string.Create(CultureInfo.InvariantCulture, $"nrp.{Id}.{Path.GetRandomFileName().Replace(".", string.Empty, StringComparison.Ordinal)}"));
            System.IO.Directory.CreateDirectory(directory);
            Volatile.Write(ref _directory, directory);

            // Names from the request must resolve inside the directory before anything is written there.
            var configPath = PathGuard.Resolve(directory, Request.ExperimentConfiguration);
            PathGuard.Resolve(directory, Request.MainScript);

            var location = new ExperimentLocation(Request.ExperimentId, Request.Token, Request.ContextId);
            await _services.Storage.StageAsync(location, directory, token).ConfigureAwait(false);
            SimulationLog.Staged(_logger, Id, Request.ExperimentId, directory);

            try
            {
                _configuration = ExperimentConfiguration.Load(configPath);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or FormatException)
            {
                var reason = ex is FileNotFoundException or DirectoryNotFoundException ? "file not found" : ex.Message;
                report = new SimulationError(Id,
                    $"Error loading experiment configuration '{Request.ExperimentConfiguration}': {reason}",
                    "Loading", Request.ExperimentConfiguration, -1, -1, string.Empty);
                throw new SimulationInitializationException(report.Message);
            }

            _services.Python.EnsureInitialized();
            token.ThrowIfCancellationRequested();

            lock (_lock)
            {
                if (_stopping)
                {
                    return new CreateSimulationResult(CreateSimulationStatus.Created, SnapshotLocked());
                }

                _thread = new Thread(ThreadMain)
                {
                    IsBackground = true,
                    Name = string.Create(CultureInfo.InvariantCulture, $"NrpHost simulation {Id}"),
                };
                _thread.Start();
            }

            report = await _prepared.Task.ConfigureAwait(false);
            if (report is null)
            {
                // When a stop arrived meanwhile the transition does not happen; the stop decides the state.
                Transition(SimulationState.Created, SimulationState.Paused);
                return new CreateSimulationResult(CreateSimulationStatus.Created, Snapshot());
            }

            fault = SimulationFault.Initialization;
            message = report.Message;
        }
        catch (OperationCanceledException) when (_initCancellation.IsCancellationRequested)
        {
            // A stop arrived during staging; the stop owns the clean-up.
            return new CreateSimulationResult(CreateSimulationStatus.Created, Snapshot());
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
        catch (SimulationInitializationException ex)
        {
            fault = SimulationFault.Initialization;
            message = ex.Message;
        }
        catch (PythonNotAvailableException ex)
        {
            fault = SimulationFault.PythonUnavailable;
            message = ex.Message;
        }
        catch (OperationCanceledException ex)
        {
            fault = SimulationFault.Initialization;
            message = "Initialisation was cancelled: " + ex.Message;
        }
        catch (IOException ex)
        {
            fault = SimulationFault.Initialization;
            message = "Could not create the simulation directory: " + ex.Message;
        }

        SimulationLog.InitializationFailed(_logger, Id, message);
        if (report is not null)
        {
            _services.Events.RuntimeError(report);
        }

        await FailAfterInitializationAsync().ConfigureAwait(false);
        return new CreateSimulationResult(CreateSimulationStatus.Failed, Snapshot(), message, fault);
    }

    private async Task FailAfterInitializationAsync()
    {
        lock (_lock)
        {
            if (_stopping)
            {
                return;
            }

            _stopping = true;
        }

        // The thread (if any) has reported and is ending on its own; wait for it so nothing stays running.
        _control?.RequestStop();
        _gate.Set();
        if (_thread is not null)
        {
            await Completes(_threadEnded.Task, TimeSpan.FromMilliseconds(_services.Options.AbandonAfterMilliseconds)).ConfigureAwait(false);
        }

        DisposeSession();
        DeleteDirectory();
        ReleaseControl();
        Transition(SimulationState.Created, SimulationState.Failed);
    }

    /// <summary>Moves from <paramref name="from"/> to <paramref name="to"/> if the state still is <paramref name="from"/>.</summary>
    private bool Transition(SimulationState from, SimulationState to)
    {
        SimulationSnapshot snapshot;
        lock (_lock)
        {
            if (_state != from || (_stopping && !to.IsFinal()))
            {
                return false;
            }

            SetStateLocked(to);
            snapshot = SnapshotLocked();
        }

        OnStateChanged(snapshot, from);
        return true;
    }

    private void OnStateChanged(SimulationSnapshot snapshot, SimulationState previous)
    {
        SimulationLog.StateChanged(_logger, Id, previous, snapshot.State);
        SimulationMetrics.StateChanges.Add(1, new KeyValuePair<string, object?>("state", snapshot.State.ToWireName()));
        _services.Events.StateChanged(snapshot, previous);
    }
}

/// <summary>An initialisation step failed with a message meant for the user.</summary>
internal sealed class SimulationInitializationException(string message) : Exception(message);
