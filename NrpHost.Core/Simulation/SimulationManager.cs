using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NrpHost.Hosting;
using NrpHost.Isolation;
using NrpHost.Messaging;
using NrpHost.NrpCore;
using NrpHost.Python;
using NrpHost.Storage;

namespace NrpHost.Simulation;

/// <summary>
/// The registry of simulations: ids, the active-simulation limit and the public events. It composes each simulation
/// from its three parts (<see cref="SimulationStateMachine"/>, <see cref="SimulationWorker"/>,
/// <see cref="SimulationWorkspace"/>).
/// </summary>
internal sealed partial class SimulationManager : ISimulationManager, ISimulationEventSink, IAsyncDisposable, IDisposable
{
    private readonly Lock _lock = new();
    private readonly SortedList<int, Simulation> _simulations = [];

    // What lookups by id read without the lock: a copy of _simulations, replaced (under the lock) whenever it changes.
    private volatile Dictionary<int, Simulation> _byId = [];
    private readonly SimulationServices _services;
    private readonly ILogger _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly WorkerPool? _pool;
    private readonly DataTransferRelay? _relay;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (int SimulationId, string Reason)> _keptLogs = new(StringComparer.Ordinal);
    private int _nextId;
    private int _abandoned;

    public SimulationManager(
        IExperimentStorage storage,
        IPythonRuntime python,
        IOptions<SimulationOptions> options,
        IOptions<NrpCoreOptions> nrpCore,
        IOptions<PythonOptions> pythonOptions,
        TimeProvider time,
        ILoggerFactory loggerFactory,
        IOptions<ProxyStorageOptions>? storageOptions = null,
        SimulationFaultInjection? faults = null,
        IOptions<HostIdentityOptions>? hostIdentity = null,
        DataTransferRelay? relay = null)
    {
        _logger = loggerFactory.CreateLogger("NrpHost.Simulation");
        _loggerFactory = loggerFactory;
        _relay = relay;
        var hostId = HostIds.Resolve(hostIdentity?.Value.HostId);

        // Each host its own: two hosts on one machine never share a work directory or its unsent logs.
        var workDirectory = Path.GetFullPath(options.Value.WorkDirectory is { Length: > 0 } configured
            ? configured
            : Path.Combine(Path.GetTempPath(), "nrphost", hostId));
        SimulationMetrics.Track(this);
        PythonRuntime.OutputDrained += OnPythonOutput;
        _services = new SimulationServices
        {
            Storage = storage,
            Python = python,
            PythonPackages = pythonOptions.Value.ResolvePackagesPath(),
            Options = options.Value,
            NrpCore = nrpCore.Value,
            Time = time,
            Logger = _logger,
            WorkDirectory = workDirectory,
            Client = NrpCoreClients.Select(nrpCore.Value, pythonOptions.Value.ResolvePackagesPath()),
            Events = this,
            ArchiveStagingDirectory = options.Value.ArchiveStagingDirectory is { Length: > 0 } staging
                ? Path.GetFullPath(staging)
                : Path.Combine(workDirectory, "archives"),
            UnsentLogsDirectory = storageOptions?.Value.UnsentLogsDirectory is { Length: > 0 } unsent
                ? Path.GetFullPath(unsent)
                : Path.Combine(workDirectory, "unsent-logs"),
            FaultHook = faults?.Hook,
            HostId = hostId,
        };
        _pool = CreatePool(options.Value, python, pythonOptions.Value, storage);
        PreloadCompression();
    }

    /// <summary>
    /// Loads the compression library now: archiving must not need a free file descriptor later, when a script in this
    /// process may have used them all.
    /// </summary>
    private static void PreloadCompression()
    {
        using var deflate = new System.IO.Compression.DeflateStream(Stream.Null, System.IO.Compression.CompressionLevel.Fastest);
        deflate.WriteByte(0);
    }

    /// <summary>
    /// The worker processes of the <see cref="SimulationIsolation.Process"/> and <see cref="SimulationIsolation.Sandbox"/>
    /// modes (null in-process). The host becomes the subreaper of what its workers leave behind; a sandboxed worker
    /// sees neither the other simulations' directories nor the experiment store.
    /// </summary>
    private WorkerPool? CreatePool(SimulationOptions options, IPythonRuntime python, PythonOptions pythonOptions, IExperimentStorage storage)
    {
        if (options.Isolation == SimulationIsolation.InProcess)
        {
            if (options.Limits.Any)
            {
                IsolationLog.LimitsIgnored(_logger);
            }

            IsolationLog.Mode(_logger, options.Isolation, "each simulation's Python runs on a thread of this process");
            return null;
        }

        if (OperatingSystem.IsLinux())
        {
            Libc.BecomeSubreaper();
        }

        var hidden = new List<string> { _services.WorkDirectory, _services.UnsentLogsDirectory };
        if (storage is LocalExperimentStorage local)
        {
            hidden.Add(local.Root);
        }

        var paths = new SandboxPaths(hidden, _services.Client.PythonPath);
        var embedded = _services.NrpCore.Mode == NrpCoreMode.Embedded ? _services.Client.PythonPath[0] : null;
        var launcher = new WorkerLauncher(options, python, pythonOptions.ResolvePackagesPath(), embedded, paths, () => _relay is not null, _loggerFactory);
        var pool = new WorkerPool(launcher, options, _logger);
        if (pool.Unavailable is { } reason)
        {
            IsolationLog.Unavailable(_logger, options.Isolation, reason);
        }
        else
        {
            IsolationLog.Mode(_logger, options.Isolation, options.Isolation == SimulationIsolation.Sandbox
                ? "each simulation's Python runs in a worker process of its own, inside bubblewrap"
                : "each simulation's Python runs in a worker process of its own" + (options.Worker.WarmSpare ? ", with one warm spare" : string.Empty));
        }

        return pool;
    }

    /// <summary>Where simulations run: in-process (null), or the worker processes (and whether they can run here).</summary>
    internal WorkerPool? Workers => _pool;

    /// <summary>The configured isolation.</summary>
    internal SimulationIsolation Isolation => _services.Options.Isolation;

    /// <summary>Starts the warm spare worker, if the isolation mode keeps one.</summary>
    internal void WarmUp() => _pool?.WarmUp();

    public event EventHandler<SimulationStateChangedEventArgs>? StateChanged;

    public event EventHandler<SimulationErrorEventArgs>? RuntimeError;

    public event EventHandler<SimulationProgressEventArgs>? Progress;

    /// <summary>How many simulation threads were abandoned (they may still run Python until their blocking call returns).</summary>
    internal int AbandonedScripts => Volatile.Read(ref _abandoned);

    public async Task<CreateSimulationResult> CreateAsync(SimulationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        foreach (var (value, what) in new[] { (request.ExperimentConfiguration, "experimentConfiguration"), (request.MainScript, "mainScript") })
        {
            if (!PathGuard.IsSafeRelative(value))
            {
                return new CreateSimulationResult
                {
                    Status = CreateSimulationStatus.Invalid,
                    Message = $"Refused {what} '{value}': it must be a relative path inside the experiment (no '..', no absolute path).",
                };
            }
        }

        if (string.IsNullOrWhiteSpace(request.ExperimentId))
        {
            return new CreateSimulationResult { Status = CreateSimulationStatus.Invalid, Message = "experimentID not given." };
        }

        if (!PathGuard.IsSafeSegment(request.ExperimentId))
        {
            return new CreateSimulationResult
            {
                Status = CreateSimulationStatus.Invalid,
                Message = $"Refused the experiment id '{request.ExperimentId}': it must be a single folder name.",
            };
        }

        if (_pool?.Unavailable is { } unavailable)
        {
            return new CreateSimulationResult
            {
                Status = CreateSimulationStatus.Unavailable,
                Message = $"Simulations cannot run in {_services.Options.Isolation} isolation on this host: {unavailable}",
            };
        }

        if (_services.Python.GetStatus() is { State: PythonRuntimeState.Failed } python)
        {
            return new CreateSimulationResult
            {
                Status = CreateSimulationStatus.Unavailable,
                Message = "Python cannot run simulations on this host: " + python.Error,
            };
        }

        // An unknown experiment is a 404 and nothing else: no simulation id used, no directory, no archive, no report.
        var location = new ExperimentLocation(request.ExperimentId) { Token = request.Token, ContextId = request.ContextId };
        if (await ExistsAsync(location, cancellationToken).ConfigureAwait(false) == false)
        {
            SimulationLog.ExperimentNotFound(_logger, request.ExperimentId);
            return new CreateSimulationResult
            {
                Status = CreateSimulationStatus.Failed,
                Fault = SimulationFault.ExperimentNotFound,
                Message = $"The experiment '{request.ExperimentId}' does not exist",
            };
        }

        Simulation simulation;
        lock (_lock)
        {
            var active = _simulations.Values.Where(s => !s.State.IsFinal()).ToList();
            if (active.Count >= _services.Options.MaxActiveSimulations)
            {
                return new CreateSimulationResult { Status = CreateSimulationStatus.Conflict, Message = ConflictMessage(active) };
            }

            simulation = Compose(_nextId++, request);
            _simulations.Add(simulation.Id, simulation);
            PublishLookup();
        }

        SimulationLog.Created(_logger, simulation.Id, request.ExperimentId, request.Owner);
        StateChangedCore(simulation.Snapshot(), previous: null);
        var result = await simulation.InitializeAsync(cancellationToken).ConfigureAwait(false);
        if (result.Fault == SimulationFault.ExperimentNotFound)
        {
            // Nothing was there to run: no entry stays behind (so unknown names cannot fill the list).
            lock (_lock)
            {
                _simulations.Remove(simulation.Id);
                PublishLookup();
            }

            return result with { Simulation = null };
        }

        return result;
    }

    /// <summary>Whether storage knows the experiment; null when it cannot tell (or could not be asked: staging says why).</summary>
    private async Task<bool?> ExistsAsync(ExperimentLocation location, CancellationToken cancellationToken)
    {
        try
        {
            return await _services.Storage.ExistsAsync(location, cancellationToken).ConfigureAwait(false);
        }
        catch (ExperimentStorageException)
        {
            return null;
        }
    }

    /// <summary>
    /// The NRP backend's refusal. When completed simulations are what holds the host (NRP backend semantics: a completed
    /// simulation counts until it is stopped), it names them and says that stopping them frees the host.
    /// </summary>
    private static string ConflictMessage(IReadOnlyList<Simulation> active)
    {
        const string Refusal = "Another simulation is already running on the server";
        var completed = active.Where(s => s.State == SimulationState.Completed).ToList();
        if (completed.Count == 0)
        {
            return Refusal;
        }

        var names = string.Join(", ", completed.Select(s => string.Create(
            System.Globalization.CultureInfo.InvariantCulture, $"simulation {s.Id} (experiment '{s.Request.ExperimentId}')")));
        var ids = string.Join(", ", completed.Select(s => s.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var which = completed.Count == 1 ? "it" : "them";
        return $"{Refusal}: {names} {(completed.Count == 1 ? "has" : "have")} completed but still {(completed.Count == 1 ? "holds" : "hold")} the host until stopped. Stop {which} (simulation {ids}, state 'stopped') to free the host.";
    }

    /// <summary>Archives and removes the simulation directories an earlier process left behind; never throws.</summary>
    internal async Task<int> RecoverAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await SimulationWorkspace.RecoverAllAsync(_services, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return 0;
        }
#pragma warning disable CA1031 // Recovery is best effort at start-up; a failure is logged and the host serves on.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            SimulationLog.RecoveryFailed(_logger, ex);
            return 0;
        }
    }

    /// <summary>Drops the oldest final simulations beyond <see cref="SimulationOptions.RetainFinished"/>.</summary>
    private void DropOldFinished()
    {
        lock (_lock)
        {
            var final = _simulations.Values.Where(s => s.State.IsFinal()).Select(s => s.Id).ToList();
            foreach (var id in final.Take(Math.Max(0, final.Count - _services.Options.RetainFinished)))
            {
                _simulations.Remove(id);
            }

            PublishLookup();
        }
    }

    /// <summary>A simulation from its three parts: the runner is the pause gate its state machine moves.</summary>
    private Simulation Compose(int id, SimulationRequest request)
    {
        ISimulationRunner runner = _pool is null
            ? new SimulationWorker(id, _logger, _services.FaultHook)
            : new ProcessRunner(id, _pool, new ProcessRunnerContext(
                TimeSpan.FromSeconds(_services.Options.Worker.AnswerTimeoutSeconds),
                OnWorkerOutput,
                _relay is null ? null : _relay.Publish,
                MqttTopics.Base(_services.NrpCore.MqttPrefix, id),
                new HashSet<string> { MqttTopics.Status, MqttTopics.RuntimeError },
                _logger));
        var machine = new SimulationStateMachine(_services.Time, runner);
        var workspace = new SimulationWorkspace(id, request, _services);
        return new Simulation(id, request, _services.Time.GetLocalNow(), machine, runner, workspace, _services);
    }

    public SimulationSnapshot? Find(int id) => FindSimulation(id)?.Snapshot();

    public IReadOnlyList<SimulationSnapshot> List()
    {
        Simulation[] all;
        lock (_lock)
        {
            all = [.. _simulations.Values];
        }

        return all.Select(s => s.Snapshot()).ToList();
    }

    public Task<StateChangeResult> RequestStateAsync(int id, SimulationState target, CancellationToken cancellationToken = default)
    {
        var simulation = FindSimulation(id);
        return simulation is null
            ? Task.FromResult(new StateChangeResult { Status = StateChangeStatus.NotFound, Message = "The simulation with the given ID was not found" })
            : simulation.RequestStateAsync(target);
    }

    public Profiling.StepProfile? FindProfile(int id) => FindSimulation(id)?.Profile;

    public Task<Profiling.StepProfile?> ReadProfileAsync(int id, CancellationToken cancellationToken = default) =>
        FindSimulation(id) is { } simulation ? simulation.ReadProfileAsync(cancellationToken) : Task.FromResult<Profiling.StepProfile?>(null);

    /// <summary>The process a simulation's Python runs in (this one's in-process); 0 when unknown.</summary>
    internal int ProcessOf(int id) => FindSimulation(id)?.ProcessId ?? 0;

    /// <summary>When the simulation's script last left the pause gate (Stopwatch timestamp, 0 if never).</summary>
    internal long ResumedAt(int id) => FindSimulation(id)?.ResumedAt ?? 0;

    /// <summary>The simulation's directory while it exists (for tests and diagnostics).</summary>
    internal string? DirectoryOf(int id) => FindSimulation(id)?.Directory;

    public SimulationState? StateOf(int id) => FindSimulation(id)?.State;

    private Simulation? FindSimulation(int id) => _byId.GetValueOrDefault(id);

    /// <summary>Replaces the lookup copy after a change of the list (called under the lock).</summary>
    private void PublishLookup() => _byId = new Dictionary<int, Simulation>(_simulations);

    void ISimulationEventSink.StateChanged(SimulationSnapshot simulation, SimulationState previous) => StateChangedCore(simulation, previous);

    private void StateChangedCore(SimulationSnapshot simulation, SimulationState? previous)
    {
        Raise(StateChanged, new SimulationStateChangedEventArgs(simulation, previous));
        if (simulation.State.IsFinal())
        {
            DropOldFinished();
        }
    }

    void ISimulationEventSink.RuntimeError(SimulationError error)
    {
        SimulationMetrics.RuntimeErrors.Add(1, new KeyValuePair<string, object?>("error_type", error.ErrorType));
        Raise(RuntimeError, new SimulationErrorEventArgs(error));
    }

    void ISimulationEventSink.ScriptAbandoned(int simulationId) => Interlocked.Increment(ref _abandoned);

    void ISimulationEventSink.LogsKept(int simulationId, string directory, string reason) => _keptLogs[directory] = (simulationId, reason);

    /// <summary>Simulation directories whose logs could not be archived (by directory: simulation id and why); the next start archives them.</summary>
    internal IReadOnlyDictionary<string, (int SimulationId, string Reason)> KeptLogs => _keptLogs;

    void ISimulationEventSink.Progress(int simulationId, string task, bool done) =>
        Raise(Progress, new SimulationProgressEventArgs(simulationId, task, done));

    private void Raise<T>(EventHandler<T>? handlers, T args)
    {
        if (handlers is null)
        {
            return;
        }

        foreach (var handler in handlers.GetInvocationList().Cast<EventHandler<T>>())
        {
            try
            {
                handler(this, args);
            }
#pragma warning disable CA1031 // A subscriber's fault must never reach a simulation.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                SimulationLog.EventHandlerFailed(_logger, ex);
            }
        }
    }

    /// <summary>Stops every simulation that is not final yet (host shutdown), then the spare worker.</summary>
    public async ValueTask DisposeAsync()
    {
        SimulationMetrics.Untrack(this);
        PythonRuntime.OutputDrained -= OnPythonOutput;
        await StopAllAsync().ConfigureAwait(false);
        if (_pool is not null)
        {
            await _pool.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Stops every simulation that is not final yet.</summary>
    internal async Task StopAllAsync()
    {
        Simulation[] running;
        lock (_lock)
        {
            running = _simulations.Values.Where(s => !s.State.IsFinal()).ToArray();
        }

        await Task.WhenAll(running.Select(s => s.RequestStateAsync(SimulationState.Stopped))).ConfigureAwait(false);
    }

    /// <summary>Synchronous disposal (a container disposed with <c>Dispose()</c>) stops the simulations the same way.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
