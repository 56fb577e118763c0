using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.VisualStudio.Threading;
using NrpHost.Profiling;
using StreamJsonRpc;

namespace NrpHost.Isolation;

/// <summary>What a worker process sends about its simulation, handed on by the host (one at a time, in order).</summary>
internal interface IWorkerEventSink
{
    void Output(WorkerOutput output);

    void Profile(StepProfile profile, IReadOnlyList<StepDurations>? durations);

    void Publish(WorkerMessage message);
}

/// <summary>
/// One worker process as the host sees it: its channel (a typed JSON-RPC proxy for commands, notifications handled one
/// at a time in the order they were sent), its standard error (logged, its last lines kept for a crash report), how it
/// ended, and the end of everything it started.
/// </summary>
internal sealed class WorkerProcess : System.IAsyncDisposable
{
    private const int KeptErrorLines = 40;
    private const int MaxErrorLineChars = 2000;
    private const int LoggedErrorLines = 200;
    private static readonly TimeSpan ExitWait = TimeSpan.FromSeconds(5);

    /// <summary>How long the processes the host killed are waited for, to reap them (as long as the pool waits at its end).</summary>
    private static readonly TimeSpan ReapFor = TimeSpan.FromSeconds(10);

    private readonly Process _process;
    private readonly JsonRpc _rpc;
    private readonly ILogger _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly Stopwatch _started = Stopwatch.StartNew();
    private readonly TaskCompletionSource<WorkerReady> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string> _disconnected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HashSet<int> _killed = [];
    private readonly Queue<string> _errorLines = new();
    private readonly Lock _lock = new();
    private readonly List<(long Sequence, TaskCompletionSource Done)> _waiters = [];
    private readonly HashSet<int> _knownDescendants = [];

    /// <summary>The worker's own processes besides the one started (a sandbox's init and the worker in it), noted when it became ready.</summary>
    private readonly HashSet<int> _own = [];
    private readonly int _memoryMB;
    private readonly ProcessLimit _limit;
    private long _delivered;
    private long _errorLinesSeen;
    private volatile IWorkerEventSink? _sink;
    private int _simulationId = -1;
    private volatile bool _ending;
    private int _ended;
    private Task? _finishing;

    public WorkerProcess(Process process, ILoggerFactory loggerFactory, int memoryMB, ProcessLimit limit)
    {
        _limit = limit;
        _process = process;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("NrpHost.Simulation");
        _memoryMB = memoryMB;
        ProcessId = process.Id;
        _rpc = new JsonRpc(new BoundedMessageHandler(process.StandardInput.BaseStream, process.StandardOutput.BaseStream, WorkerChannel.Formatter()))
        {
            // Notifications are handed on one at a time, in the order the worker sent them.
            SynchronizationContext = new NonConcurrentSynchronizationContext(sticky: false),
        };
        _rpc.AddLocalRpcMethod(WorkerEvents.Ready, new Action<WorkerReady>(OnReady));
        _rpc.AddLocalRpcMethod(WorkerEvents.Output, new Action<WorkerOutput>(o => Deliver(o.Sequence, s => s.Output(o))));
        _rpc.AddLocalRpcMethod(WorkerEvents.Profile, new Action<WorkerProfile>(p => Deliver(p.Sequence, s => s.Profile(p.Profile, p.Durations))));
        _rpc.AddLocalRpcMethod(WorkerEvents.Publish, new Action<WorkerMessage>(m => Deliver(m.Sequence, s => s.Publish(m))));
        _rpc.AddLocalRpcMethod(WorkerEvents.Log, new Action<WorkerLogEntry>(OnLog));
        Service = _rpc.Attach<IWorkerService>();
        _rpc.Disconnected += (_, e) => _disconnected.TrySetResult(e.Exception?.Message ?? e.Description);
        _rpc.StartListening();
        _ = ReadStandardErrorAsync();
        _ = WatchExitAsync();
    }

    /// <summary>The worker's process id (as the host sees it).</summary>
    public int ProcessId { get; }

    /// <summary>The worker's commands.</summary>
    public IWorkerService Service { get; }

    /// <summary>Completes when the interpreter is loaded (or could not be: see <see cref="WorkerReady.Error"/>).</summary>
    public Task<WorkerReady> Ready => _ready.Task;

    /// <summary>Completes with how the process ended, once it has.</summary>
    public Task<string> Exited => _exited.Task;

    /// <summary>Completes with what happened when the channel closed.</summary>
    public Task<string> Disconnected => _disconnected.Task;

    /// <summary>Whether the host is ending it (an exit from now on is no surprise).</summary>
    public bool IsEnding => _ending;

    /// <summary>How long it took to become ready.</summary>
    public TimeSpan StartTime { get; private set; }

    /// <summary>Where the worker's events go once simulation <paramref name="simulationId"/> has it.</summary>
    public void Attach(int simulationId, IWorkerEventSink sink)
    {
        _simulationId = simulationId;
        _sink = sink;
    }

    /// <summary>Sends a notification (in order with every other one).</summary>
    public Task NotifyAsync(string method, object argument) => _rpc.NotifyAsync(method, argument);

    /// <summary>Completes once the events the worker had sent before <paramref name="sequence"/> (included) were handed on, or the worker ended.</summary>
    public Task DeliveredAsync(long sequence)
    {
        lock (_lock)
        {
            if (_delivered >= sequence || _exited.Task.IsCompleted)
            {
                return Task.CompletedTask;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((sequence, done));
            return done.Task;
        }
    }

    /// <summary>Notes the processes the worker has started so far, so they can be found after it has died.</summary>
    public void NoteDescendants()
    {
        var now = ProcessTree.Descendants(ProcessId);
        lock (_lock)
        {
            _knownDescendants.UnionWith(now);
        }
    }

    /// <summary>Kills the worker and everything it started, now (it is given up on).</summary>
    public void Kill()
    {
        _ending = true;
        KillTree(waitStopped: false);
        _ = FinishAsync();
    }

    /// <summary>
    /// Ends the worker and everything it started (daemons included): once it returns, none of them runs any more, so
    /// nothing writes into the simulation's directory. Waiting for them to exit, reaping what they left to the host and
    /// closing the channel go on in the background. Never throws.
    /// </summary>
    public Task EndAsync()
    {
        _ending = true;
        KillTree(waitStopped: true);
        _ = FinishAsync();
        return Task.CompletedTask;
    }

    /// <summary>Completes once the worker has exited and what it left to the host is reaped (at once when it was never ended).</summary>
    public Task Finished
    {
        get
        {
            lock (_lock)
            {
                return _finishing ?? Task.CompletedTask;
            }
        }
    }

    private Task FinishAsync()
    {
        lock (_lock)
        {
            return _finishing ??= FinishCoreAsync();
        }
    }

    private async Task FinishCoreAsync()
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(ExitWait).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A process in uninterruptible sleep: it dies when it wakes; nothing else holds it.
        }

        // Its killed children were given to this process (the nearest subreaper) when it died: reap them.
        HashSet<int> ended;
        lock (_lock)
        {
            ended = [.. _killed];
        }

        // A killed process is reparented and becomes a zombie only once it has died, which on a busy machine takes a
        // while: try again, less and less often, for as long as the pool waits for its workers (no zombie is left).
        var reaping = Stopwatch.StartNew();
        var pause = TimeSpan.FromMilliseconds(20);
        while (ended.Count > 0)
        {
            ProcessTree.Reap(ended);
            ended.RemoveWhere(IsReapedOrForeign);
            if (ended.Count == 0 || reaping.Elapsed > ReapFor)
            {
                break;
            }

            await Task.Delay(pause).ConfigureAwait(false);
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromMilliseconds(500).Ticks));
        }

        _limit.Remove(ProcessId);
        _rpc.Dispose();
    }

    /// <summary>Whether a process of that id is gone, or is not one to reap here (its parent is neither the worker nor the host).</summary>
    private bool IsReapedOrForeign(int pid) =>
        ProcessTree.ParentOf(pid) is not { } parent || (parent != Environment.ProcessId && parent != ProcessId);

    public async ValueTask DisposeAsync()
    {
        await EndAsync().ConfigureAwait(false);
        await Finished.ConfigureAwait(false);
    }

    /// <summary>
    /// Kills the worker's tree: while it lives, every descendant; once it has died, the processes it had started that
    /// were given to the host (those noted earlier, and those still in its session). Returns the processes killed
    /// besides the worker.
    /// </summary>
    private void KillTree(bool waitStopped)
    {
        if (Interlocked.Exchange(ref _ended, 1) == 1)
        {
            return;
        }

        int[] known;
        lock (_lock)
        {
            known = [.. _knownDescendants];
        }

        // Those given to the host when the worker died: still in its session, or in its cgroup.
        var orphans = ProcessTree.Children(Environment.ProcessId)
            .Where(pid => pid != ProcessId && ProcessTree.SessionOf(pid) == ProcessId);
        var members = _limit.Members(ProcessId);
        var frozen = ProcessTree.Freeze(ProcessId, known.Concat(orphans).Concat(members).Where(pid => pid != ProcessId && Belongs(pid, known)));
        if (waitStopped)
        {
            // Stopped, none of them writes into the simulation directory any more, however long dying takes.
            ProcessTree.WaitStopped(frozen, TimeSpan.FromSeconds(2));
        }

        ProcessTree.KillAll(frozen);
        var killed = new HashSet<int>(frozen.Where(pid => pid != ProcessId));
        List<int> leftBehind;
        lock (_lock)
        {
            leftBehind = [.. killed.Where(pid => !_own.Contains(pid)).Order()];
        }

        if (leftBehind.Count > 0)
        {
            var ids = string.Join(", ", leftBehind);
            IsolationLog.ProcessesEnded(_logger, _simulationId, leftBehind.Count, ids);
        }

        lock (_lock)
        {
            _killed.UnionWith(killed);
        }
    }

    /// <summary>
    /// Whether a process id noted earlier still names a process of this worker and not a reused id: its parent is the
    /// worker, another of its processes, or the host (which it was given to when its parent died).
    /// </summary>
    private bool Belongs(int pid, int[] known) =>
        !known.Contains(pid) || ProcessTree.ParentOf(pid) is { } parent && (parent == ProcessId || parent == Environment.ProcessId || known.Contains(parent));

    private void OnReady(WorkerReady ready)
    {
        StartTime = _started.Elapsed;
        var own = ProcessTree.Descendants(ProcessId);
        lock (_lock)
        {
            _own.UnionWith(own);
        }

        Delivered(ready.Sequence);
        _ready.TrySetResult(ready);
    }

    private void OnLog(WorkerLogEntry entry)
    {
        // Only the categories a worker logs under; anything else it claims is logged as the worker's.
        var category = entry.Category is "NrpHost.Simulation" or "NrpHost.Python" or "NrpHost.Profiling" ? entry.Category : "NrpHost.Worker";
        var level = Enum.IsDefined((LogLevel)entry.Level) ? (LogLevel)entry.Level : LogLevel.Information;
        var logger = _loggerFactory.CreateLogger(category);
        if (logger.IsEnabled(level))
        {
            IsolationLog.Forwarded(logger, level, entry.Text);
        }

        Delivered(entry.Sequence);
    }

    private void Deliver(long sequence, Action<IWorkerEventSink> handOn)
    {
        try
        {
            if (_sink is { } sink)
            {
                handOn(sink);
            }
        }
#pragma warning disable CA1031 // A fault in handing an event on must not stop the worker's other events.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            IsolationLog.WorkerStandardError(_logger, ProcessId, "an event of the worker could not be handed on: " + ex.Message);
        }

        Delivered(sequence);
    }

    private void Delivered(long sequence)
    {
        List<TaskCompletionSource>? released = null;
        lock (_lock)
        {
            _delivered = Math.Max(_delivered, sequence);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Sequence <= _delivered)
                {
                    (released ??= []).Add(_waiters[i].Done);
                    _waiters.RemoveAt(i);
                }
            }
        }

        released?.ForEach(done => done.TrySetResult());
    }

    private async Task ReadStandardErrorAsync()
    {
        try
        {
            var reader = _process.StandardError;
            while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                var kept = line.Length > MaxErrorLineChars ? line[..MaxErrorLineChars] + " [cut]" : line;
                lock (_lock)
                {
                    _errorLines.Enqueue(kept);
                    if (_errorLines.Count > KeptErrorLines)
                    {
                        _errorLines.Dequeue();
                    }
                }

                if (++_errorLinesSeen <= LoggedErrorLines)
                {
                    IsolationLog.WorkerStandardError(_logger, ProcessId, kept);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The pipe is gone with the process.
        }

        if (_errorLinesSeen > LoggedErrorLines)
        {
            IsolationLog.StandardErrorCut(_logger, ProcessId, _errorLinesSeen - LoggedErrorLines);
        }
    }

    private async Task WatchExitAsync()
    {
        await _process.WaitForExitAsync().ConfigureAwait(false);

        // The last lines of standard error (a crash report) may still be in the pipe.
        await Task.Delay(50).ConfigureAwait(false);
        var description = Describe(_process.ExitCode);
        _ready.TrySetException(new IsolationUnavailableException("The worker process ended before its interpreter was loaded: " + description));
        _exited.TrySetResult(description);
        List<TaskCompletionSource> waiters;
        lock (_lock)
        {
            waiters = [.. _waiters.Select(w => w.Done)];
            _waiters.Clear();
        }

        waiters.ForEach(done => done.TrySetResult());
    }

    /// <summary>
    /// How the process ended, for a runtime error: <c>The simulation's process was killed by signal 11 (SIGSEGV)</c>,
    /// with the interpreter's own last words when it wrote some (a fatal error and where the script was).
    /// </summary>
    private string Describe(int exitCode)
    {
        // .NET reports a process ended by a signal as 128 + the signal; a worker never exits with such a code itself.
        var how = exitCode is > 128 and <= 128 + 64
            ? string.Create(CultureInfo.InvariantCulture, $"was killed by signal {exitCode - 128} ({SignalName(exitCode - 128)})")
            : string.Create(CultureInfo.InvariantCulture, $"exited with code {exitCode}");
        string? fatal;
        lock (_lock)
        {
            // The last one: a forked child of the script may have written its own before.
            fatal = _errorLines.LastOrDefault(l => l.StartsWith("Fatal Python error:", StringComparison.Ordinal));
        }

        // Threads count as processes in a pids cgroup: at the limit, the worker's own runtime may fail to start one and abort.
        var text = exitCode != 0 && _limit.Max is { } processes && _limit.WasReached(ProcessId)
            ? string.Create(CultureInfo.InvariantCulture, $"The simulation passed its process limit (NrpHost:Simulation:Limits:Processes = {processes}): its process {how}")
            : "The simulation's process " + how;
        if (fatal is not null)
        {
            text += " (" + fatal + ")";
        }

        // An allocation .NET could not make aborts the process; the kernel's OOM killer sends SIGKILL.
        if (_memoryMB > 0 && exitCode - 128 is 6 or 9)
        {
            text += string.Create(CultureInfo.InvariantCulture, $"; its memory limit is {_memoryMB} MiB (NrpHost:Simulation:Limits:MemoryMB)");
        }

        return text;
    }

    /// <summary>The lines the worker last wrote to its standard error.</summary>
    public IReadOnlyList<string> LastErrorLines()
    {
        lock (_lock)
        {
            return [.. _errorLines];
        }
    }

    internal static string SignalName(int signal) => signal switch
    {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        26 => "SIGVTALRM",
        27 => "SIGPROF",
        31 => "SIGSYS",
        _ => string.Create(CultureInfo.InvariantCulture, $"signal {signal}"),
    };
}
