using System.Globalization;
using Microsoft.Extensions.Logging;
using NrpHost.Storage;

namespace NrpHost.Simulation;

/// <summary>
/// One simulation's directory: made fresh under the work directory, filled from storage (regular files and folders
/// only), archived (its logs, bounded and streamed) and handed back to storage at the end, then removed.
/// </summary>
internal sealed class SimulationWorkspace
{
    private readonly int _id;
    private readonly SimulationRequest _request;
    private readonly SimulationServices _services;
    private readonly ILogger _logger;
    private string? _directory;

    public SimulationWorkspace(int id, SimulationRequest request, SimulationServices services)
    {
        _id = id;
        _request = request;
        _services = services;
        _logger = services.Logger;
    }

    /// <summary>The directory while it exists.</summary>
    public string? Directory => Volatile.Read(ref _directory);

    /// <summary>The simulation's own log file name (top level of the directory).</summary>
    public string MainLog => string.Create(CultureInfo.InvariantCulture, $"simulation_{_id}.log");

    private ExperimentLocation Location => new(_request.ExperimentId) { Token = _request.Token, ContextId = _request.ContextId };

    /// <summary>Makes the directory <c>nrp.&lt;id&gt;.&lt;random&gt;</c> under the work directory.</summary>
    public string Create()
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"nrp.{_id}.{Path.GetRandomFileName().Replace(".", string.Empty, StringComparison.Ordinal)}");
        var directory = Path.Combine(_services.WorkDirectory, name);
        System.IO.Directory.CreateDirectory(directory);
        Volatile.Write(ref _directory, directory);
        return directory;
    }

    /// <summary>Copies the experiment from storage into the directory.</summary>
    public async Task StageAsync(CancellationToken cancellationToken)
    {
        var directory = Directory ?? throw new InvalidOperationException("The simulation directory does not exist.");
        _services.FaultHook?.Invoke(SimulationPhase.Stage);
        await _services.Storage.StageAsync(Location, directory, cancellationToken).ConfigureAwait(false);
        SimulationLog.Staged(_logger, _id, _request.ExperimentId, directory);
    }

    /// <summary>
    /// Archives the logs and hands the archive to storage; when storage refuses it, it is kept in the unsent-logs
    /// folder. Nothing is overwritten. Returns where the archive went, or null when there was nothing to archive.
    /// </summary>
    public async Task<string?> ArchiveAsync(IEnumerable<string> folders, CancellationToken cancellationToken)
    {
        var directory = Directory;
        if (directory is null || !System.IO.Directory.Exists(directory))
        {
            return null;
        }

        var name = LogArchive.FileName(_services.Time.GetLocalNow(), _id, _services.HostId);
        var staging = Path.Combine(_services.WorkDirectory, "archives");
        System.IO.Directory.CreateDirectory(staging);
        var temporary = Path.Combine(staging, Path.GetFileNameWithoutExtension(Path.GetRandomFileName()) + "_" + name);
        try
        {
            _services.FaultHook?.Invoke(SimulationPhase.Archive);
            var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: false);
            await using (file.ConfigureAwait(false))
            {
                var summary = await Task.Run(() => LogArchive.Write(directory, MainLog, folders, file, _services.ArchiveLimits, cancellationToken), cancellationToken)
                    .ConfigureAwait(false);
                foreach (var note in summary.Notes)
                {
                    SimulationLog.ArchiveNote(_logger, _id, note);
                }
            }

            return await HandOverAsync(temporary, name, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            TryDelete(temporary);
        }
    }

    /// <summary>Removes the directory. A file-system refusal is logged (the next start-up's clean-up retries); anything else is thrown.</summary>
    public void Delete()
    {
        var directory = Interlocked.Exchange(ref _directory, null);
        if (directory is null)
        {
            return;
        }

        try
        {
            _services.FaultHook?.Invoke(SimulationPhase.Delete);
            System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            SimulationLog.DirectoryNotRemoved(_logger, _id, directory, ex.Message);
        }
    }

    /// <summary>Failures that storage and the file system are known to produce; anything else is a fault of the host.</summary>
    internal static bool IsExpected(Exception exception) =>
        exception is IOException or UnauthorizedAccessException or ExperimentStorageException or HttpRequestException or OperationCanceledException;

    private async Task<string> HandOverAsync(string archive, string name, CancellationToken cancellationToken)
    {
        try
        {
            _services.FaultHook?.Invoke(SimulationPhase.Upload);
            var file = new FileStream(archive, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, useAsync: true);
            await using (file.ConfigureAwait(false))
            {
                var stored = await _services.Storage.UploadAsync(Location, name, file, cancellationToken).ConfigureAwait(false);
                SimulationLog.LogsUploaded(_logger, _id, stored, _request.ExperimentId);
                return stored;
            }
        }
#pragma warning disable CA1031 // Whatever storage does, the archive is kept on this machine instead of being lost.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            var kept = Keep(archive, name);
            SimulationLog.LogArchiveFailed(_logger, _id, ex.Message, kept);
            if (!IsExpected(ex))
            {
                throw new SimulationCleanupException($"Handing the log archive to storage failed unexpectedly ({ex.GetType().Name}: {ex.Message}); it is kept at {kept}", ex);
            }

            return kept;
        }
    }

    /// <summary>Moves the archive into the unsent-logs folder under a name that exists nowhere yet.</summary>
    private string Keep(string archive, string name)
    {
        try
        {
            System.IO.Directory.CreateDirectory(_services.UnsentLogsDirectory);
            for (var attempt = 0; ; attempt++)
            {
                var target = Path.Combine(_services.UnsentLogsDirectory, ArchiveNames.WithSuffix(name, attempt));
                try
                {
                    File.Move(archive, target, overwrite: false);
                    return target;
                }
                catch (IOException) when (File.Exists(target) && attempt < 1000)
                {
                    // Taken: try the next suffix.
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "nowhere (" + ex.Message + ")";
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A leftover temporary archive is removed with the next start-up's clean-up.
        }
    }
}

/// <summary>A clean-up step of a simulation failed in a way nobody expected; the simulation ends failed.</summary>
internal sealed class SimulationCleanupException(string message, Exception innerException) : Exception(message, innerException);
