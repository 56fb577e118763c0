using System.Globalization;
using Microsoft.Extensions.Logging;
using NrpHost.Profiling;
using NrpHost.Simulation;
using StreamJsonRpc;

namespace NrpHost.Isolation;

/// <summary>What a <see cref="ProcessRunner"/> needs from the host besides its worker.</summary>
/// <param name="AnswerWithin">How long the worker may take to answer the heartbeat before it counts as lost.</param>
/// <param name="Output">Hands a batch of the simulation's output on (to the log and the output event).</param>
/// <param name="Publish">Publishes a data-transfer message on the host's MQTT connection; null when the host has none.</param>
/// <param name="TopicBase">The data-transfer topics the simulation may publish to start with this (<c>[prefix/]nrp_simulation/&lt;id&gt;/</c>).</param>
/// <param name="ReservedTopics">Topics below the base that are the host's own (status, runtime errors).</param>
/// <param name="Logger">The simulation concept's logger.</param>
internal sealed record ProcessRunnerContext(
    TimeSpan AnswerWithin,
    Action<int, WorkerOutput> Output,
    Func<string, byte[], bool, bool>? Publish,
    string TopicBase,
    IReadOnlySet<string> ReservedTopics,
    ILogger Logger);

/// <summary>
/// A simulation whose Python runs in a worker process of its own (<see cref="SimulationIsolation.Process"/> and
/// <see cref="SimulationIsolation.Sandbox"/>). Each command is the worker's <see cref="SimulationWorker"/> command, sent
/// over the channel; the worker's events (output, profile, data-transfer messages) come back in order, and a command's
/// answer is handed on only after the events sent before it. The pause gate, the step counter and the last resume are
/// the <see cref="ControlBlock"/> both processes map. Any end of the worker outside a command (an exit,
/// a signal, a crash, a broken channel, no answer) is <see cref="Lost"/>; abandoning kills the worker with everything
/// it started.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "A simulation stays listed after it ends; its cancellation source holds no unmanaged resource and is collected with it.")]
internal sealed class ProcessRunner : ISimulationRunner, IWorkerEventSink
{
    /// <summary>How long a short command (interrupt, where, profile) may take before the host moves on.</summary>
    private static readonly TimeSpan ShortCommand = TimeSpan.FromSeconds(2);

    /// <summary>How often the host checks that the worker answers, and notes the processes it started.</summary>
    private static readonly TimeSpan HeartbeatEvery = TimeSpan.FromSeconds(2);

    private readonly int _id;
    private readonly WorkerPool _pool;
    private readonly ProcessRunnerContext _context;
    private readonly TaskCompletionSource<string> _lost = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _ending = new();
    private readonly Lock _gateLock = new();
    private readonly StepDurationReplay _durations = new();
    private WorkerProcess? _worker;
    private GatePosition _gate = GatePosition.Closed;
    private ControlBlock? _control;
    private long _steps;
    private long _resumedAt;
    private StepProfile? _profile;
    private string? _timeLogs;
    private volatile bool _abandoned;
    private volatile bool _shutDown;
    private bool _durationsRefused;

    public ProcessRunner(int id, WorkerPool pool, ProcessRunnerContext context)
    {
        _id = id;
        _pool = pool;
        _context = context;
    }

    /// <summary>Iterations done: read from the block the script writes (never less than last read; the script could lie).</summary>
    public long Steps
    {
        get
        {
            lock (_gateLock)
            {
                if (_control is { } control)
                {
                    _steps = Math.Max(_steps, control.Steps);
                }

                return _steps;
            }
        }
    }

    public long ResumedAt
    {
        get
        {
            lock (_gateLock)
            {
                if (_control is { } control)
                {
                    _resumedAt = control.ResumedAt;
                }

                return _resumedAt;
            }
        }
    }

    public StepProfile? Profile => Volatile.Read(ref _profile);

    public string? TimeLogsFolder => Volatile.Read(ref _timeLogs);

    public bool IsAbandoned => _abandoned;

    public int ProcessId => _worker?.ProcessId ?? 0;

    public Task<string> Lost => _lost.Task;

    public void Move(GatePosition position)
    {
        // Called under the state machine's lock: the flags are written and the script woken here, as in-process.
        lock (_gateLock)
        {
            _gate = position;
            _control?.Move(position);
        }
    }

    public async Task<SimulationError?> PrepareAsync(WorkerSetup setup)
    {
        ArgumentNullException.ThrowIfNull(setup);
        if (OperatingSystem.IsWindows())
        {
            throw new IsolationUnavailableException("worker processes need Linux");
        }

        // The pause gate, the step counter and the last resume live in a block both processes map.
        var path = ControlPath(setup);
        lock (_gateLock)
        {
            _control = ControlBlock.CreateShared(path);
            _control.Move(_gate);
        }

        var worker = await _pool.AcquireAsync(setup.Directory, path, _ending.Token).ConfigureAwait(false);
        worker.Attach(_id, this);
        lock (_gateLock)
        {
            _worker = worker;
        }

        _ = WatchAsync(worker);
        var reply = await Command(worker, (service, ct) => service.PrepareAsync(setup with { ControlPath = path }, ct), CancellationToken.None).ConfigureAwait(false);
        await DeliveredAsync(worker, reply.Sequence).ConfigureAwait(false);
        Volatile.Write(ref _timeLogs, reply.Value?.TimeLogsFolder);
        return Own(reply.Value is { Error: { } error, Refusal: { } refusal } ? error with { Refusal = refusal } : reply.Value?.Error);
    }

    /// <summary>
    /// Where the shared block goes: <c>/dev/shm</c> (memory), else next to the simulation directory; a name no other
    /// simulation has.
    /// </summary>
    private string ControlPath(WorkerSetup setup)
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"nrphost-{Environment.ProcessId}-{_id}-{Guid.NewGuid():N}.control");
        return Directory.Exists("/dev/shm") ? Path.Combine("/dev/shm", name) : Path.Combine(Path.GetDirectoryName(setup.Directory)!, name);
    }

    public async Task<ScriptOutcome> RunAsync()
    {
        var worker = Worker();
        var reply = await Command(worker, (service, ct) => service.RunAsync(ct), CancellationToken.None).ConfigureAwait(false);
        await DeliveredAsync(worker, reply.Sequence).ConfigureAwait(false);
        var outcome = reply.Value ?? throw new InvalidDataException("The worker answered the run without an outcome.");
        return new ScriptOutcome(outcome.Stopped, Own(outcome.Error), outcome.Failed);
    }

    public async Task<ShutdownReport> ShutdownAsync()
    {
        if (_worker is not { } worker)
        {
            return new ShutdownReport(null, null);
        }

        var reply = await Command(worker, (service, ct) => service.ShutdownAsync(ct), CancellationToken.None).ConfigureAwait(false);
        await DeliveredAsync(worker, reply.Sequence).ConfigureAwait(false);
        _shutDown = true;
        Volatile.Write(ref _profile, null);
        var shutdown = reply.Value;
        if (shutdown is null)
        {
            return new ShutdownReport(null, null);
        }

        // The worker's interpreter is thrown away with it: nothing needs restoring, so no problem is reported.
        return new ShutdownReport(shutdown.ClientError, new SessionCloseReport(shutdown.EndedChildren, shutdown.RunningThreads, []));
    }

    public async Task<bool> TryInterruptAsync()
    {
        if (_worker is not { } worker || _abandoned)
        {
            return false;
        }

        try
        {
            return await worker.Service.InterruptAsync(CancellationToken.None).WaitAsync(ShortCommand).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsChannelFault(ex) || ex is TimeoutException)
        {
            return false;
        }
    }

    public async Task<CodeLocation?> WhereAsync()
    {
        if (_worker is not { } worker || _abandoned)
        {
            return null;
        }

        try
        {
            return await worker.Service.WhereAsync(CancellationToken.None).WaitAsync(ShortCommand).ConfigureAwait(false) is { } where
                ? new CodeLocation(where.File, where.Line, where.Function)
                : null;
        }
        catch (Exception ex) when (IsChannelFault(ex) || ex is TimeoutException)
        {
            return null;
        }
    }

    public async Task<StepProfile?> ReadProfileAsync(CancellationToken cancellationToken)
    {
        if (_worker is not { } worker || _abandoned || _shutDown)
        {
            return Profile;
        }

        try
        {
            var profile = await worker.Service.ReadProfileAsync(cancellationToken).WaitAsync(ShortCommand, cancellationToken).ConfigureAwait(false);
            return profile is null ? null : Own(profile);
        }
        catch (Exception ex) when (IsChannelFault(ex) || ex is TimeoutException)
        {
            return Profile;
        }
    }

    public void Abandon()
    {
        _abandoned = true;
        _ending.Cancel();
        _worker?.Kill();
    }

    public async Task EndAsync()
    {
        await _ending.CancelAsync().ConfigureAwait(false);
        if (_worker is { } worker)
        {
            await worker.EndAsync().ConfigureAwait(false);
        }

        ReleaseControl();
    }

    /// <summary>Keeps the last clock, then unmaps and removes the shared block (nothing runs that writes it any more).</summary>
    private void ReleaseControl()
    {
        lock (_gateLock)
        {
            if (_control is { } control)
            {
                _steps = Math.Max(_steps, control.Steps);
                _resumedAt = control.ResumedAt;
                control.Dispose();
                _control = null;
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ events

    void IWorkerEventSink.Output(WorkerOutput output) => _context.Output(_id, output);

    void IWorkerEventSink.Profile(StepProfile profile, IReadOnlyList<StepDurations>? durations)
    {
        if (!_shutDown && profile is not null) // a worker runs the script's code: what it sends may be anything
        {
            Volatile.Write(ref _profile, Own(profile));
        }

        if (_durations.Replay(durations, profile) is { } refused && !_durationsRefused)
        {
            _durationsRefused = true;
            IsolationLog.StepDurationsRefused(_context.Logger, _id, refused);
        }
    }

    void IWorkerEventSink.Publish(WorkerMessage message)
    {
        // The worker runs the script's code: it may publish only its own simulation's data-transfer topics.
        var topic = message.Topic;
        if (!topic.StartsWith(_context.TopicBase, StringComparison.Ordinal)
            || _context.ReservedTopics.Contains(topic[_context.TopicBase.Length..])
            || topic.Contains('+', StringComparison.Ordinal) || topic.Contains('#', StringComparison.Ordinal))
        {
            IsolationLog.RelayRefused(_context.Logger, _id, topic, _context.TopicBase + "… (the host's own status and runtime_error excluded)");
            return;
        }

        _context.Publish?.Invoke(topic, message.Payload, message.Retain);
    }

    // ------------------------------------------------------------------------------------------------ helpers

    private WorkerProcess Worker() => _worker ?? throw new InvalidOperationException("The simulation has no worker process.");

    /// <summary>A report from the worker names this simulation, whatever the worker put there.</summary>
    private SimulationError? Own(SimulationError? error) => error is null ? null : error with { SimulationId = _id };

    private StepProfile Own(StepProfile profile) => profile with { SimulationId = _id };

    /// <summary>Runs a command; a worker that ends meanwhile becomes a <see cref="RunnerLostException"/> saying how it ended.</summary>
    private async Task<T> Command<T>(WorkerProcess worker, Func<IWorkerService, CancellationToken, Task<T>> command, CancellationToken cancellationToken)
    {
        try
        {
            return await command(worker.Service, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsChannelFault(ex))
        {
            if (_abandoned)
            {
                throw new OperationCanceledException("The simulation's worker process was killed.", ex);
            }

            throw new RunnerLostException(await HowItEndedAsync(worker, ex).ConfigureAwait(false));
        }
    }

    /// <summary>
    /// Waits until the events the worker sent before an answer were handed on (bounded: a worker that skipped one it
    /// could not send must not hold the simulation).
    /// </summary>
    private static async Task DeliveredAsync(WorkerProcess worker, long sequence)
    {
        try
        {
            await worker.DeliveredAsync(sequence).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Handed on without them; what was missing is said on the worker's standard error.
        }
    }

    private static bool IsChannelFault(Exception ex) => ex is ConnectionLostException or ObjectDisposedException or IOException;

    /// <summary>How the worker ended (its exit, if it comes within a moment), else what happened to the channel.</summary>
    private static async Task<string> HowItEndedAsync(WorkerProcess worker, Exception? channelFault)
    {
        try
        {
            return await worker.Exited.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return "The simulation's process broke its channel to the host" + (channelFault is null ? string.Empty : " (" + channelFault.Message + ")");
        }
    }

    /// <summary>
    /// Watches the worker while it serves the simulation: its exit or a broken channel, and every
    /// <see cref="HeartbeatEvery"/> whether it still answers (noting the processes it started meanwhile). An end the
    /// host did not ask for is <see cref="Lost"/>; the worker is then killed with everything it started.
    /// </summary>
    private async Task WatchAsync(WorkerProcess worker)
    {
        var ending = _ending.Token;
        using var timer = new PeriodicTimer(HeartbeatEvery);
        var exited = worker.Exited;
        var disconnected = worker.Disconnected;
        string? reason = null;
        try
        {
            while (reason is null)
            {
                var tick = timer.WaitForNextTickAsync(ending).AsTask();
                var first = await Task.WhenAny(tick, exited, disconnected).ConfigureAwait(false);
                if (ending.IsCancellationRequested || worker.IsEnding)
                {
                    return;
                }

                if (first == exited)
                {
                    reason = exited.Result;
                }
                else if (first == disconnected)
                {
                    reason = await HowItEndedAsync(worker, null).ConfigureAwait(false) is { } how && exited.IsCompleted
                        ? how
                        : "The simulation's process broke its channel to the host (" + disconnected.Result + ")";
                }
                else
                {
                    worker.NoteDescendants();
                    try
                    {
                        await worker.Service.PingAsync(ending).WaitAsync(_context.AnswerWithin, ending).ConfigureAwait(false);
                    }
                    catch (TimeoutException)
                    {
                        reason = string.Create(CultureInfo.InvariantCulture, $"The simulation's process stopped answering the host (no answer within {_context.AnswerWithin.TotalSeconds:0} s) and was killed");
                    }
                    catch (Exception ex) when (IsChannelFault(ex))
                    {
                        // Its exit or its broken channel is reported on the next turn.
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            return;
        }

        if (!ending.IsCancellationRequested && !worker.IsEnding)
        {
            worker.Kill();
            _lost.TrySetResult(reason);
        }
    }
}
