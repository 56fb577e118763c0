using Microsoft.Extensions.Logging;
using NrpHost.Python;
using NrpHost.Simulation;

namespace NrpHost.Isolation;

/// <summary>
/// Hands out worker processes, one per simulation, never twice. In <see cref="SimulationIsolation.Process"/> it keeps one
/// warm spare (started, its interpreter and the embedded runtime loaded, no experiment), so creating a simulation does
/// not wait for a process to start; a spare that died while it waited is replaced. A sandboxed worker is started for
/// its simulation, because its sandbox is made around the simulation's directory.
/// </summary>
internal sealed class WorkerPool : IAsyncDisposable
{
    private readonly WorkerLauncher _launcher;
    private readonly SimulationOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Lazy<string?> _unavailable;
    private readonly List<WorkerProcess> _handedOut = [];
    private Task<WorkerProcess>? _spare;
    private volatile string? _lastFailure;
    private bool _disposed;

    public WorkerPool(WorkerLauncher launcher, SimulationOptions options, ILogger logger)
    {
        _launcher = launcher;
        _options = options;
        _logger = logger;
        _unavailable = new Lazy<string?>(() => _launcher.Unavailable()
            ?? (options.Isolation == SimulationIsolation.Sandbox ? Sandbox.Probe(options.Worker.Bubblewrap) : null));
    }

    /// <summary>Why no simulation can run in the configured isolation here (no bubblewrap, no <c>dotnet</c>…); null when they can.</summary>
    public string? Unavailable => _unavailable.Value;

    /// <summary>Why the last worker could not be started; null when it could.</summary>
    public string? LastFailure => _lastFailure;

    /// <summary>The launcher (for its paths and the process limit).</summary>
    public WorkerLauncher Launcher => _launcher;

    /// <summary>Whether a spare is waiting, ready.</summary>
    public bool HasReadySpare
    {
        get
        {
            lock (_lock)
            {
                return _spare is { IsCompletedSuccessfully: true } spare && !spare.Result.Exited.IsCompleted;
            }
        }
    }

    /// <summary>Starts the spare, if there should be one and there is none.</summary>
    public void WarmUp()
    {
        if (_options.Isolation != SimulationIsolation.Process || !_options.Worker.WarmSpare || Unavailable is not null)
        {
            return;
        }

        lock (_lock)
        {
            if (!_disposed && _spare is null)
            {
                _spare = StartAsync(null, CancellationToken.None);
            }
        }
    }

    /// <summary>
    /// A worker for one simulation whose directory is <paramref name="directory"/> and whose control block is the file
    /// <paramref name="controlBlock"/>; ready to prepare it.
    /// </summary>
    /// <exception cref="IsolationUnavailableException">Workers cannot run here, or this one could not be started.</exception>
    /// <exception cref="PythonNotAvailableException">The worker could not load the interpreter.</exception>
    public async Task<WorkerProcess> AcquireAsync(string directory, string controlBlock, CancellationToken cancellationToken)
    {
        if (Unavailable is { } reason)
        {
            throw new IsolationUnavailableException(reason);
        }

        if (_options.Isolation == SimulationIsolation.Sandbox)
        {
            return HandOut(await StartAsync(new SandboxFor(directory, controlBlock), cancellationToken).ConfigureAwait(false));
        }

        Task<WorkerProcess>? spare;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            spare = _spare;
            _spare = null;
        }

        WorkerProcess? worker = null;
        if (spare is not null)
        {
            try
            {
                worker = await spare.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IsolationUnavailableException or PythonNotAvailableException)
            {
                // Started again below: the reason, if it holds, is reported from there.
            }

            if (worker is not null && worker.Exited.IsCompleted)
            {
                await worker.EndAsync().ConfigureAwait(false);
                worker = null;
            }
        }

        worker ??= await StartAsync(null, cancellationToken).ConfigureAwait(false);
        WarmUp();
        return HandOut(worker);
    }

    /// <summary>Notes a worker given to a simulation, so the pool waits for its end when it is disposed.</summary>
    private WorkerProcess HandOut(WorkerProcess worker)
    {
        lock (_lock)
        {
            _handedOut.RemoveAll(w => w.Exited.IsCompleted && w.Finished.IsCompleted);
            _handedOut.Add(worker);
        }

        return worker;
    }

    private async Task<WorkerProcess> StartAsync(SandboxFor? sandbox, CancellationToken cancellationToken)
    {
        try
        {
            var worker = await _launcher.StartAsync(sandbox, cancellationToken).ConfigureAwait(false);
            _lastFailure = null;
            return worker;
        }
        catch (Exception ex) when (ex is IsolationUnavailableException or PythonNotAvailableException)
        {
            _lastFailure = ex.Message;
            IsolationLog.WorkerFailed(_logger, ex.Message);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task<WorkerProcess>? spare;
        WorkerProcess[] handedOut;
        lock (_lock)
        {
            _disposed = true;
            spare = _spare;
            _spare = null;
            handedOut = [.. _handedOut];
        }

        // The simulations were stopped before: their workers are ending; wait (bounded) until they are gone.
        try
        {
            await Task.WhenAll(handedOut.Select(w => w.Finished)).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // One in uninterruptible sleep: it goes when it wakes.
        }

        if (spare is not null)
        {
            try
            {
                await (await spare.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IsolationUnavailableException or PythonNotAvailableException or OperationCanceledException)
            {
                // It never became a worker.
            }
        }

        _launcher.ProcessLimit.RemoveAll();
    }
}
