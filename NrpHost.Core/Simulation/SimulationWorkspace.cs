using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using NrpHost.Storage;

namespace NrpHost.Simulation;

/// <summary>
/// One simulation's directory: made fresh under the work directory, filled from storage (regular files and folders
/// only), archived (its logs, bounded and streamed) and handed back to storage at the end, then removed.
/// </summary>
/// <remarks>
/// Next to the directory lies its claim, <c>nrp.&lt;id&gt;.&lt;random&gt;.json</c>: what the simulation is (never its
/// token), held open with an exclusive lock for as long as the directory is in use. When a process dies, the lock
/// goes with it, so the next start-up (<see cref="RecoverAllAsync"/>) can tell a directory left behind by a crash from one
/// in use by another live process, archive the former's logs and remove it.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The claim is closed by Delete, the end of every simulation's life.")]
internal sealed class SimulationWorkspace
{
    private const string ClaimExtension = ".json";

    private readonly int _id;
    private readonly SimulationRequest _request;
    private readonly SimulationServices _services;
    private readonly ILogger _logger;
    private string? _directory;
    private FileStream? _claim;

    public SimulationWorkspace(int id, SimulationRequest request, SimulationServices services)
    {
        _id = id;
        _request = request;
        _services = services;
        _logger = services.Logger;
    }

    /// <summary>The directory while it exists.</summary>
    public string? Directory => Volatile.Read(ref _directory);

    /// <summary>The directory the simulation had, also after it was removed (for naming files in messages).</summary>
    public string? LastDirectory { get; private set; }

    /// <summary>The simulation's own log file name (top level of the directory).</summary>
    public string MainLog => string.Create(CultureInfo.InvariantCulture, $"simulation_{_id}.log");

    private ExperimentLocation Location => new(_request.ExperimentId) { Token = _request.Token, ContextId = _request.ContextId };

    /// <summary>Makes the directory <c>nrp.&lt;id&gt;.&lt;random&gt;</c> under the work directory.</summary>
    public string Create()
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"nrp.{_id}.{Path.GetRandomFileName().Replace(".", string.Empty, StringComparison.Ordinal)}");
        var directory = Path.Combine(_services.WorkDirectory, name);
        // The claim first: a directory without a held claim is taken for one a crash left behind.
        System.IO.Directory.CreateDirectory(_services.WorkDirectory);
        _claim = Claim(directory, new WorkspaceRecord(_id, _request.ExperimentId, _request.ExperimentConfiguration, _request.Owner, _request.ContextId));
        System.IO.Directory.CreateDirectory(directory);
        LastDirectory = directory;
        Volatile.Write(ref _directory, directory);
        return directory;
    }

    /// <summary>Writes the claim next to the directory and keeps it locked (FileShare.None is an exclusive lock on Linux).</summary>
    private static FileStream Claim(string directory, WorkspaceRecord record)
    {
        var claim = new FileStream(directory + ClaimExtension, FileMode.Create, FileAccess.ReadWrite, FileShare.None);
        JsonSerializer.Serialize(claim, record, WorkspaceRecordContext.Default.WorkspaceRecord);
        claim.Flush(flushToDisk: true);
        return claim;
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
    /// <exception cref="ArchiveNotWrittenException">The archive could not be written or kept anywhere (a full disk, an I/O error): the directory must stay.</exception>
    public async Task<string?> ArchiveAsync(IEnumerable<string> folders, CancellationToken cancellationToken)
    {
        var directory = Directory;
        if (directory is null || !System.IO.Directory.Exists(directory))
        {
            return null;
        }

        var name = LogArchive.FileName(_services.Time.GetLocalNow(), _id, _services.HostId);
        var temporary = await WriteArchiveAsync(folders, name, cancellationToken).ConfigureAwait(false);
        try
        {
            var stored = await HandOverAsync(temporary, name, cancellationToken).ConfigureAwait(false);
            return stored ?? throw new ArchiveNotWrittenException(directory, "neither storage nor the unsent-logs folder took the archive");
        }
        finally
        {
            TryDelete(temporary);
        }
    }

    /// <summary>
    /// Leaves the directory for the next start's recovery (its logs could not be archived now): logged and reported
    /// (health), the claim's lock let go, its record kept, so the next start archives it once the archive can be written.
    /// </summary>
    public void KeepForRecovery(ArchiveNotWrittenException reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        SimulationLog.LogsKept(_logger, _id, reason.Directory, reason.Message);
        _services.Events.LogsKept(_id, reason.Directory, reason.Message);
        Interlocked.Exchange(ref _directory, null);
        _claim?.Dispose();
        _claim = null;
    }

    /// <summary>
    /// Writes the archive into a temporary file of the archive staging folder (not of the simulation's directory); a
    /// file-system failure (a full disk) is an <see cref="ArchiveNotWrittenException"/>.
    /// </summary>
    private async Task<string> WriteArchiveAsync(IEnumerable<string> folders, string name, CancellationToken cancellationToken)
    {
        var directory = Directory!;
        var staging = _services.ArchiveStagingDirectory;
        var temporary = Path.Combine(staging, Path.GetFileNameWithoutExtension(Path.GetRandomFileName()) + "_" + name);
        try
        {
            System.IO.Directory.CreateDirectory(staging);
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

            return temporary;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
            throw new ArchiveNotWrittenException(directory, ex.Message, ex);
        }
        catch
        {
            TryDelete(temporary);
            throw;
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
            Unclaim(directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            SimulationLog.DirectoryNotRemoved(_logger, _id, directory, ex.Message);
        }
    }

    private void Unclaim(string directory)
    {
        _claim?.Dispose();
        _claim = null;
        File.Delete(directory + ClaimExtension);
    }

    /// <summary>
    /// At start-up: archives and removes every simulation directory in the work directory that no live process claims
    /// (left by a crash), handing the archives to storage or the unsent-logs folder, and removes leftover temporary
    /// archives. Each one is logged. Returns how many directories were recovered.
    /// </summary>
    public static async Task<int> RecoverAllAsync(SimulationServices services, CancellationToken cancellationToken)
    {
        var work = services.WorkDirectory;
        if (!System.IO.Directory.Exists(work))
        {
            return 0;
        }

        var archives = services.ArchiveStagingDirectory;
        if (System.IO.Directory.Exists(archives))
        {
            foreach (var leftover in System.IO.Directory.EnumerateFiles(archives))
            {
                TryDelete(leftover);
            }
        }

        var recovered = 0;
        foreach (var directory in System.IO.Directory.EnumerateDirectories(work, "nrp.*").Order(StringComparer.Ordinal).ToList())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (SafeFile.KindOf(directory) != EntryKind.Directory)
            {
                continue;
            }

            FileStream claim;
            try
            {
                claim = new FileStream(directory + ClaimExtension, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                continue; // claimed by a live process
            }

            var record = Read(claim) ?? new WorkspaceRecord(IdFromName(directory), null, SimulationRequest.DefaultConfiguration, SimulationRequest.DefaultOwner, null);
            var workspace = new SimulationWorkspace(record.SimulationId,
                new SimulationRequest(record.ExperimentId ?? string.Empty) { ExperimentConfiguration = record.ExperimentConfiguration ?? SimulationRequest.DefaultConfiguration, ContextId = record.ContextId },
                services)
            {
                _directory = directory,
                _claim = claim,
                LastDirectory = directory,
            };
            var (stays, kept) = await workspace.RecoverAsync(record.ExperimentId is { Length: > 0 }, cancellationToken).ConfigureAwait(false);
            if (stays)
            {
                // Still no room for its archive: it stays for the start after this one, and health says so.
                continue;
            }

            SimulationLog.Recovered(services.Logger, record.SimulationId, record.ExperimentId ?? "(unknown)", directory, kept ?? "nothing to archive");
            recovered++;
        }

        return recovered;
    }

    /// <summary>Archives and removes a directory left behind; <c>Stays</c> when its archive still cannot be written.</summary>
    private async Task<(bool Stays, string? Archive)> RecoverAsync(bool experimentKnown, CancellationToken cancellationToken)
    {
        string? kept = null;
        try
        {
            var folders = ExperimentFolders();
            kept = experimentKnown
                ? await ArchiveAsync(folders, cancellationToken).ConfigureAwait(false)
                : await ArchiveToUnsentAsync(folders, cancellationToken).ConfigureAwait(false);
        }
        catch (ArchiveNotWrittenException ex)
        {
            KeepForRecovery(ex);
            return (true, null);
        }
        catch (Exception ex) when (IsExpected(ex))
        {
            SimulationLog.LogArchiveFailed(_logger, _id, ex.Message, "none");
        }

        Delete();
        return (false, kept);
    }

    /// <summary>The archive folders of the experiment's configuration in the directory, when it can be read.</summary>
    private IEnumerable<string> ExperimentFolders()
    {
        try
        {
            var path = PathGuard.Resolve(Directory!, _request.ExperimentConfiguration);
            return SafeFile.KindOf(path) == EntryKind.RegularFile ? ExperimentConfiguration.Load(path).ArchiveFolders : [];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or FormatException or ExperimentStorageException)
        {
            return [];
        }
    }

    private async Task<string?> ArchiveToUnsentAsync(IEnumerable<string> folders, CancellationToken cancellationToken)
    {
        var name = LogArchive.FileName(_services.Time.GetLocalNow(), _id, _services.HostId);
        var temporary = await WriteArchiveAsync(folders, name, cancellationToken).ConfigureAwait(false);
        try
        {
            return Keep(temporary, name) ?? throw new ArchiveNotWrittenException(Directory!, "the unsent-logs folder did not take the archive");
        }
        finally
        {
            TryDelete(temporary);
        }
    }

    private static WorkspaceRecord? Read(FileStream claim)
    {
        try
        {
            return claim.Length is > 0 and < 65536 ? JsonSerializer.Deserialize(claim, WorkspaceRecordContext.Default.WorkspaceRecord) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static int IdFromName(string directory)
    {
        var parts = Path.GetFileName(directory).Split('.');
        return parts.Length > 1 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : -1;
    }

    /// <summary>Failures that storage and the file system are known to produce; anything else is a fault of the host.</summary>
    internal static bool IsExpected(Exception exception) =>
        exception is IOException or UnauthorizedAccessException or ExperimentStorageException or HttpRequestException or OperationCanceledException;

    /// <summary>Hands the archive to storage, else keeps it in unsent-logs; null when neither took it.</summary>
    private async Task<string?> HandOverAsync(string archive, string name, CancellationToken cancellationToken)
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
            SimulationLog.LogArchiveFailed(_logger, _id, ex.Message, kept ?? "nowhere");
            if (!IsExpected(ex))
            {
                throw new SimulationCleanupException($"Handing the log archive to storage failed unexpectedly ({ex.GetType().Name}: {ex.Message}); it is kept at {kept}", ex);
            }

            return kept;
        }
    }

    /// <summary>Moves the archive into the unsent-logs folder under a name that exists nowhere yet; null when it could not.</summary>
    private string? Keep(string archive, string name)
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
            SimulationLog.LogArchiveFailed(_logger, _id, ex.Message, "nowhere");
            return null;
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

/// <summary>A simulation's log archive could not be written, nor kept anywhere: its directory must stay, for recovery.</summary>
internal sealed class ArchiveNotWrittenException : IOException
{
    public ArchiveNotWrittenException(string directory, string reason, Exception? innerException = null)
        : base(reason, innerException) => Directory = directory;

    /// <summary>The simulation directory that keeps the logs.</summary>
    public string Directory { get; }
}

/// <summary>A clean-up step of a simulation failed in a way nobody expected; the simulation ends failed.</summary>
internal sealed class SimulationCleanupException(string message, Exception innerException) : Exception(message, innerException);

/// <summary>What a simulation directory's claim records (never the token).</summary>
internal sealed record WorkspaceRecord(int SimulationId, string? ExperimentId, string? ExperimentConfiguration, string? Owner, string? ContextId);

[System.Text.Json.Serialization.JsonSerializable(typeof(WorkspaceRecord))]
internal sealed partial class WorkspaceRecordContext : System.Text.Json.Serialization.JsonSerializerContext;
