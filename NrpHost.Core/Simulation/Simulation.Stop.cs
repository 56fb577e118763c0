using NrpHost.Storage;
using Python.Runtime;

namespace NrpHost.Simulation;

internal sealed partial class Simulation
{
    private const string ShutdownTask = "Shutting down Simulation";
    private const int InterruptAttempts = 20;
    private static readonly TimeSpan InterruptEvery = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Stops the simulation from any non-final state: wakes the script, interrupts it if it does not reach
    /// <c>run_loop</c>, shuts the client down, archives and uploads the logs, removes the directory, and ends in
    /// <paramref name="finalState"/> (<c>stopped</c>, or <c>failed</c> when that was requested or the script
    /// could not be ended).
    /// </summary>
    private async Task<StateChangeResult> StopAsync(SimulationState finalState)
    {
        lock (_lock)
        {
            if (_stopping)
            {
                return new StateChangeResult(StateChangeStatus.InvalidTransition, _state, InvalidMessage(_state, finalState));
            }

            _stopping = true;
        }

        var started = _services.Time.GetTimestamp();
        _services.Events.Progress(Id, ShutdownTask, done: false);
        await _initCancellation.CancelAsync().ConfigureAwait(false);
        _control?.RequestStop();
        _gate.Set();

        var ended = await WaitForThreadAsync().ConfigureAwait(false);
        if (_initialization is { } initialization)
        {
            await Completes(initialization, TimeSpan.FromMilliseconds(_services.Options.AbandonAfterMilliseconds)).ConfigureAwait(false);
        }

        if (ended)
        {
            ShutdownClient();
            DisposeSession();
            await ArchiveLogsAsync().ConfigureAwait(false);
            DeleteDirectory();
            ReleaseControl();
        }
        else
        {
            // The thread still runs Python; its session, control block and directory stay as they are.
            SimulationLog.ScriptAbandoned(_logger, Id, _services.Options.AbandonAfterMilliseconds);
            RestoreHostDirectory();
            _services.Events.ScriptAbandoned(Id);
            finalState = SimulationState.Failed;
        }

        SimulationSnapshot snapshot;
        SimulationState previous;
        lock (_lock)
        {
            previous = _state;
            SetStateLocked(finalState);
            snapshot = SnapshotLocked();
        }

        OnStateChanged(snapshot, previous);
        _services.Events.Progress(Id, ShutdownTask, done: true);
        var elapsedMs = _services.Time.GetElapsedTime(started).TotalMilliseconds;
        SimulationMetrics.StopDuration.Record(elapsedMs);
        SimulationLog.Stopped(_logger, Id, finalState, elapsedMs);
        return ended
            ? new StateChangeResult(StateChangeStatus.Changed, finalState)
            : new StateChangeResult(StateChangeStatus.Failed, finalState, "The simulation's script did not end when asked and was abandoned");
    }

    /// <summary>
    /// Waits for the simulation thread: first for it to reach <c>run_loop</c> on its own, then raising the stop
    /// exception in it every 100 ms for 2 s, then until the abandon bound. True when it ended.
    /// </summary>
    private async Task<bool> WaitForThreadAsync()
    {
        if (Volatile.Read(ref _thread) is null)
        {
            // The thread is made only after staging, under the stop check; without it there is nothing to wait for.
            lock (_lock)
            {
                if (_thread is null)
                {
                    return true;
                }
            }
        }

        var ended = _threadEnded.Task;
        if (await Completes(ended, TimeSpan.FromMilliseconds(_services.Options.StopGraceMilliseconds)).ConfigureAwait(false))
        {
            return true;
        }

        for (var attempt = 0; attempt < InterruptAttempts; attempt++)
        {
            InterruptScript();
            if (await Completes(ended, InterruptEvery).ConfigureAwait(false))
            {
                return true;
            }
        }

        return await Completes(ended, TimeSpan.FromMilliseconds(_services.Options.AbandonAfterMilliseconds)).ConfigureAwait(false);
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
    }

    private void InterruptScript()
    {
        var control = _control;
        if (control is null || control.PythonThreadId == 0)
        {
            return;
        }

        try
        {
            // Only while Python code of this simulation runs: the script, or the client's preparation.
            if (control.InScript || !_scriptStarted)
            {
                ScriptSession.Interrupt(control.PythonThreadId);
                SimulationLog.ScriptInterrupted(_logger, Id);
            }
        }
        catch (PythonException ex)
        {
            SimulationLog.InterruptFailed(_logger, Id, ex.Message);
        }
    }

    private void ShutdownClient()
    {
        var session = Volatile.Read(ref _session);
        if (session is null)
        {
            return;
        }

        try
        {
            var error = session.ShutdownClient();
            if (error is not null)
            {
                SimulationLog.ClientShutdownFailed(_logger, Id, error);
            }
        }
        catch (PythonException ex)
        {
            SimulationLog.ClientShutdownFailed(_logger, Id, ex.Message);
        }
    }

    private void DisposeSession()
    {
        var session = Interlocked.Exchange(ref _session, null);
        if (session is null)
        {
            return;
        }

        try
        {
            session.Dispose();
        }
        catch (PythonException ex)
        {
            SimulationLog.ClientShutdownFailed(_logger, Id, ex.Message);
        }

        DrainOutputQuietly();
    }

    private async Task ArchiveLogsAsync()
    {
        var directory = Directory;
        if (directory is null || !System.IO.Directory.Exists(directory))
        {
            return;
        }

        var name = LogArchive.FileName(_services.Time.GetLocalNow(), Id);
        MemoryStream archive;
        try
        {
            archive = LogArchive.Create(directory);
        }
        catch (IOException ex)
        {
            SimulationLog.LogArchiveFailed(_logger, Id, ex.Message, "none");
            return;
        }

        using (archive)
        {
            try
            {
                var location = new ExperimentLocation(Request.ExperimentId, Request.Token, Request.ContextId);
                await _services.Storage.UploadAsync(location, name, archive).ConfigureAwait(false);
                SimulationLog.LogsUploaded(_logger, Id, name, Request.ExperimentId);
            }
            catch (Exception ex) when (ex is ExperimentStorageException or IOException or UnauthorizedAccessException or HttpRequestException or TaskCanceledException)
            {
                // Nothing is lost: the archive stays on this machine.
                var kept = Path.Combine(_services.UnsentLogsDirectory, name);
                try
                {
                    System.IO.Directory.CreateDirectory(Path.GetDirectoryName(kept)!);
                    archive.Position = 0;
                    var file = File.Create(kept);
                    await using (file.ConfigureAwait(false))
                    {
                        await archive.CopyToAsync(file).ConfigureAwait(false);
                    }
                }
                catch (Exception keepError) when (keepError is IOException or UnauthorizedAccessException)
                {
                    kept = "nowhere (" + keepError.Message + ")";
                }

                SimulationLog.LogArchiveFailed(_logger, Id, ex.Message, kept);
            }
        }
    }

    private void DeleteDirectory()
    {
        var directory = Interlocked.Exchange(ref _directory, null);
        if (directory is null)
        {
            return;
        }

        try
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            SimulationLog.DirectoryNotRemoved(_logger, Id, directory, ex.Message);
        }
    }

    /// <summary>
    /// An abandoned script never gets to restore the process's current directory (it set it to its own); the host
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

    private void ReleaseControl()
    {
        lock (_lock)
        {
            ClockLocked();
            _control?.Dispose();
            _control = null;
        }
    }
}
