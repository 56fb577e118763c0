using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using NrpHost.Profiling;
using NrpHost.Python;
using NrpHost.Simulation;
using Python.Runtime;
using StreamJsonRpc;

namespace NrpHost.Isolation;

/// <summary>
/// The worker process's side of the channel: it runs one simulation's <see cref="SimulationWorker"/> (the same
/// in-process runner the host uses without isolation) on the host's commands, and sends the host everything it must
/// know, in one ordered stream: output, its own log entries, the profile and data-transfer messages.
/// </summary>
internal sealed class WorkerServer : IWorkerService
{
    /// <summary>How often the profile is sent while the script runs.</summary>
    private static readonly TimeSpan ProfileEvery = TimeSpan.FromMilliseconds(500);

    /// <summary>Data-transfer messages waiting to be sent beyond which new ones are dropped (MQTT QoS 0 semantics).</summary>
    private const int MaxPendingMessages = 10_000;

    /// <summary>The longest line of output sent to the host (the simulation's log file keeps it whole).</summary>
    private const int MaxLineChars = 64 * 1024;

    private readonly WorkerStartup _startup;
    private readonly WorkerOutbox _outbox;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private SimulationWorker? _worker;
    private long _pendingMessages;
    private long _droppedMessages;

    public WorkerServer(WorkerStartup startup, WorkerOutbox outbox, ILoggerFactory loggerFactory)
    {
        _startup = startup;
        _outbox = outbox;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("NrpHost.Simulation");
    }

    /// <summary>Loads the interpreter and the embedded runtime, then says so (or why not) to the host.</summary>
    public void LoadPython(PythonRuntime python)
    {
        string? version = null;
        string? error = null;
        try
        {
            python.EnsureInitialized();
            PythonRuntime.OutputDrained += OnOutput;
            using (Py.GIL())
            {
                // What every simulation imports anyway, loaded before it is needed: the warm part of a warm spare.
                using var runner = Py.Import("nrphost.runner");
                using var isolated = true.ToPython();
                runner.SetAttr("ISOLATED", isolated);
                Py.Import("nrphost.profiling").Dispose();
                using var faulthandler = Py.Import("faulthandler");
                using var stderr = new PyInt(2);
                using var enable = faulthandler.GetAttr("enable");
                // A crash of the interpreter writes where each thread was to the host (the worker's standard error).
                enable.Invoke([stderr], Py.kw("all_threads", true)).Dispose();
                if (_startup.EmbeddedRuntime is { } embedded)
                {
                    // The session puts the same folder first on sys.path, so the modules loaded here are the ones it uses.
                    using var sys = Py.Import("sys");
                    using var path = sys.GetAttr("path");
                    using var zero = new PyInt(0);
                    using var folder = new PyString(embedded);
                    path.InvokeMethod("insert", zero, folder).Dispose();
                    Py.Import("nrp_client").Dispose();
                    if (_startup.RelayMqtt)
                    {
                        using var mqtt = Py.Import("nrp_core._embedded.mqtt");
                        using var relay = new Func<string, PyObject, bool, bool>(Relay).ToPython();
                        mqtt.InvokeMethod("set_relay", relay).Dispose();
                    }
                }
            }

            version = python.GetStatus().Version;
            Preload();
        }
        catch (Exception ex) when (ex is PythonNotAvailableException or PythonException)
        {
            error = ex.Message;
        }

        _outbox.Post(WorkerEvents.Ready, seq => new WorkerReady(seq, Environment.ProcessId, version, error));
    }

    /// <summary>
    /// Loads what the worker needs once the script has run (converting its report, answering the host) while files can
    /// still be opened: a script may use up every descriptor it is allowed before it ends.
    /// </summary>
    private static void Preload()
    {
        using (Py.GIL())
        {
            using var large = new PyInt(long.MaxValue);
            using var small = new PyInt(7);
            using var text = new PyString("preload");
            _ = large.As<long>() + small.As<int>() + text.As<string>().Length;
        }

        System.Text.Json.JsonSerializer.Serialize(new WorkerRunOutcome(false, new SimulationError { SimulationId = 0, Message = string.Empty, ErrorType = string.Empty }, false));
    }

    public async Task<WorkerReply<WorkerPrepared>> PrepareAsync(WorkerSetup setup, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(setup);
        if (_worker is not null)
        {
            throw new InvalidOperationException("This worker already runs a simulation.");
        }

        _worker = new SimulationWorker(setup.SimulationId, _logger);
        _ = Task.Run(ReportProfileAsync, CancellationToken.None);
        var error = await _worker.PrepareAsync(setup).ConfigureAwait(false);
        return new WorkerReply<WorkerPrepared>(new WorkerPrepared(error, _worker.TimeLogsFolder, error?.Refusal), _outbox.Enqueued);
    }

    public async Task<WorkerReply<WorkerRunOutcome>> RunAsync(CancellationToken cancellationToken)
    {
        var worker = Worker();
        var outcome = await worker.RunAsync().ConfigureAwait(false);
        SendProfile(worker);
        var limit = outcome.Stopped ? null : LimitPassed(outcome.Error);
        var error = limit is null ? outcome.Error : outcome.Error! with { Message = limit };
        return new WorkerReply<WorkerRunOutcome>(new WorkerRunOutcome(outcome.Stopped, error, limit is not null), _outbox.Enqueued);
    }

    public async Task<WorkerReply<WorkerShutdown>> ShutdownAsync(CancellationToken cancellationToken)
    {
        var worker = Worker();
        var report = await worker.ShutdownAsync().ConfigureAwait(false);
        var closed = report.Closed;
        var shutdown = new WorkerShutdown(report.ClientError, closed?.EndedChildren ?? [], closed?.RunningThreads ?? []);
        return new WorkerReply<WorkerShutdown>(shutdown, _outbox.Enqueued);
    }

    public Task<bool> InterruptAsync(CancellationToken cancellationToken) =>
        _worker is { } worker ? worker.TryInterruptAsync() : Task.FromResult(false);

    public async Task<WorkerLocation?> WhereAsync(CancellationToken cancellationToken) =>
        _worker is { } worker && await worker.WhereAsync().ConfigureAwait(false) is { } where
            ? new WorkerLocation(where.File, where.Line, where.Function)
            : null;

    public Task<StepProfile?> ReadProfileAsync(CancellationToken cancellationToken) =>
        Task.FromResult(_worker?.Profile);

    public Task<int> PingAsync(CancellationToken cancellationToken) => Task.FromResult(Environment.ProcessId);

    private SimulationWorker Worker() => _worker ?? throw new InvalidOperationException("No simulation was prepared in this worker.");

    /// <summary>
    /// The message that names the limit a fault comes from, when the script ended because its process reached one of
    /// the limits it was started with; null for any other fault.
    /// </summary>
    private string? LimitPassed(SimulationError? error)
    {
        const int TooManyOpenFiles = 24;
        const int TryAgain = 11;
        if (error is null)
        {
            return null;
        }

        if (error.ExceptionType == "MemoryError" && _startup.MemoryMB is { } memory)
        {
            return $"The simulation passed its memory limit (NrpHost:Simulation:Limits:MemoryMB = {memory} MiB): MemoryError";
        }

        if (error.Errno == TooManyOpenFiles && _startup.OpenFiles is { } files)
        {
            return $"The simulation passed its open-files limit (NrpHost:Simulation:Limits:OpenFiles = {files}): {error.Message}";
        }

        if (error.Errno == TryAgain && error.ExceptionType == "BlockingIOError" && _startup.Processes is { } processes)
        {
            return $"The simulation passed its process limit (NrpHost:Simulation:Limits:Processes = {processes}): {error.Message}";
        }

        return null;
    }

    /// <summary>Sends the profile twice a second while it changes (the clock is read by the host in the shared control block).</summary>
    private async Task ReportProfileAsync()
    {
        using var timer = new PeriodicTimer(ProfileEvery);
        var lastProfiled = -1L;
        while (await timer.WaitForNextTickAsync().ConfigureAwait(false))
        {
            if (_worker is { Profile: not null } worker && worker.Steps != lastProfiled)
            {
                lastProfiled = worker.Steps;
                SendProfile(worker);
            }
        }
    }

    private void SendProfile(SimulationWorker worker)
    {
        if (worker.Profile is { } profile)
        {
            _outbox.Post(WorkerEvents.Profile, seq => new WorkerProfile(seq, profile, ProfileMetrics.Relay?.Take()));
        }
    }

    /// <summary>Output drained from the interpreter (under its drain lock, so batches are posted in order).</summary>
    private void OnOutput(IReadOnlyList<(string Category, int Level, string Text)> entries, IReadOnlyList<(string Category, long Count)> dropped)
    {
        const int BatchBytes = 1024 * 1024;
        var lines = new List<WorkerLine>();
        var bytes = 0;
        foreach (var (category, level, text) in entries)
        {
            var line = text.Length > MaxLineChars ? string.Concat(text.AsSpan(0, MaxLineChars), " [line cut]") : text;
            lines.Add(new WorkerLine(category, level, line));
            bytes += line.Length * 3;
            if (bytes >= BatchBytes)
            {
                var batch = lines;
                _outbox.Post(WorkerEvents.Output, seq => new WorkerOutput(seq, batch, []));
                lines = [];
                bytes = 0;
            }
        }

        var cut = dropped.Select(d => new WorkerDropped(d.Category, d.Count)).ToList();
        if (lines.Count > 0 || cut.Count > 0)
        {
            var batch = lines;
            _outbox.Post(WorkerEvents.Output, seq => new WorkerOutput(seq, batch, cut));
        }
    }

    /// <summary>Called by the data-transfer engine (see <c>nrp_core._embedded.mqtt.set_relay</c>) for each message.</summary>
    private bool Relay(string topic, PyObject payload, bool retain)
    {
        if (Interlocked.Read(ref _pendingMessages) >= MaxPendingMessages)
        {
            if (Interlocked.Increment(ref _droppedMessages) == 1)
            {
                IsolationLog.RelayBehind(_logger, MaxPendingMessages);
            }

            return false;
        }

        byte[] bytes;
        using (Py.GIL())
        {
            bytes = payload.As<byte[]>();
        }

        Interlocked.Increment(ref _pendingMessages);
        _outbox.Post(WorkerEvents.Publish, seq => new WorkerMessage(seq, topic, bytes, retain), () => Interlocked.Decrement(ref _pendingMessages));
        return true;
    }
}

/// <summary>
/// Everything a worker sends the host, in the order it happened: one reader sends the notifications one after the
/// other. Each carries a sequence number; a command's answer carries the last one posted before it.
/// </summary>
internal sealed class WorkerOutbox
{
    private readonly Channel<(string Method, object Argument, Action? Sent)> _channel =
        Channel.CreateUnbounded<(string, object, Action?)>(new UnboundedChannelOptions { SingleReader = true });

    private readonly Lock _lock = new();
    private long _enqueued;

    /// <summary>How many notifications were posted.</summary>
    public long Enqueued
    {
        get
        {
            lock (_lock)
            {
                return _enqueued;
            }
        }
    }

    /// <summary>Posts a notification made with its sequence number.</summary>
    public void Post(string method, Func<long, object> make, Action? sent = null)
    {
        lock (_lock)
        {
            var sequence = ++_enqueued;
            _channel.Writer.TryWrite((method, make(sequence), sent));
        }
    }

    /// <summary>Sends what is posted until the channel to the host is gone; a message that cannot be sent is said on standard error and skipped.</summary>
    public async Task PumpAsync(JsonRpc rpc)
    {
        await foreach (var (method, argument, sent) in _channel.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                await rpc.NotifyAsync(method, argument).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not (ConnectionLostException or ObjectDisposedException or IOException))
            {
                await Console.Error.WriteLineAsync($"NrpHost worker: a '{method}' message could not be sent: {ex.Message}").ConfigureAwait(false);
            }
            finally
            {
                sent?.Invoke();
            }
        }
    }
}
