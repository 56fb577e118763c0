using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace NrpHost.Storage;

/// <summary>Experiments are folders under <see cref="LocalStorageOptions.LocalRoot"/>.</summary>
internal sealed class LocalExperimentStorage : IExperimentStorage
{
    private readonly ILogger _logger;

    public LocalExperimentStorage(IOptions<LocalStorageOptions> options, ILoggerFactory? loggerFactory = null)
    {
        Root = ResolveRoot(options.Value.LocalRoot);
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("NrpHost.Storage");
    }

    /// <summary>The absolute experiments folder.</summary>
    public string Root { get; }

    public async Task StageAsync(ExperimentLocation experiment, string targetDirectory, CancellationToken cancellationToken = default)
    {
        var source = ExperimentDirectory(experiment.ExperimentId);
        await Task.Run(() => CopyTree(source, targetDirectory, topLevel: true, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    public Task<bool?> ExistsAsync(ExperimentLocation experiment, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        return Task.FromResult<bool?>(PathGuard.IsSafeSegment(experiment.ExperimentId) && Directory.Exists(Path.Combine(Root, experiment.ExperimentId)));
    }

    public async Task<string> UploadAsync(ExperimentLocation experiment, string fileName, Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        ArgumentNullException.ThrowIfNull(content);
        var directory = ExperimentDirectory(experiment.ExperimentId);
        for (var attempt = 0; ; attempt++)
        {
            var name = ArchiveNames.WithSuffix(fileName, attempt);
            var target = PathGuard.Resolve(directory, name);
            FileStream file;
            try
            {
                // CreateNew: an archive never replaces another one.
                file = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true);
            }
            catch (IOException) when (File.Exists(target) && attempt < 1000)
            {
                continue;
            }

            await using (file.ConfigureAwait(false))
            {
                await content.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
            }

            return name;
        }
    }

    /// <summary>
    /// Every folder under <see cref="Root"/> with a configuration: <c>simulation_config.json</c>, or another top-level
    /// <c>*.json</c> file that is an nrp-core configuration (a JSON object with <c>EngineConfigs</c>). Hidden folders and
    /// folders whose name cannot be an experiment id are left out; files are read only when they are small, non-empty
    /// and not links (a FIFO or device has no size, so it is never opened).
    /// </summary>
    public Task<IReadOnlyList<ExperimentSummary>> ListAsync(string? token, CancellationToken cancellationToken = default) =>
        Task.Run(() => List(cancellationToken), cancellationToken);

    /// <summary>Largest configuration file read while listing.</summary>
    internal const long MaxConfigurationBytes = 1024 * 1024;

    /// <summary>Most <c>*.json</c> files looked at in one experiment folder.</summary>
    internal const int MaxConfigurationCandidates = 64;

    private IReadOnlyList<ExperimentSummary> List(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(Root))
        {
            return [];
        }

        var experiments = new List<ExperimentSummary>();
        foreach (var folder in new DirectoryInfo(Root).EnumerateDirectories())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (folder.Name.StartsWith('.') || !PathGuard.IsSafeSegment(folder.Name) || !folder.Exists)
            {
                continue;
            }

            if (Summarize(folder) is { } summary)
            {
                experiments.Add(summary);
            }
        }

        return ExperimentListing.Ordered(experiments);
    }

    private static ExperimentSummary? Summarize(DirectoryInfo folder)
    {
        var configurations = new List<string>();
        JsonElement described = default;
        IEnumerable<FileInfo> candidates;
        try
        {
            candidates = folder.EnumerateFiles("*.json")
                .Where(f => f.Name.EndsWith(".json", StringComparison.Ordinal))
                .OrderBy(f => f.Name == ExperimentListing.DefaultConfiguration ? 0 : 1)
                .ThenBy(f => f.Name, StringComparer.Ordinal)
                .Take(MaxConfigurationCandidates)
                .ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        foreach (var file in candidates)
        {
            var isDefault = file.Name == ExperimentListing.DefaultConfiguration;
            var configuration = ReadConfiguration(file);
            var isConfiguration = configuration.ValueKind == JsonValueKind.Object &&
                                  configuration.TryGetProperty("EngineConfigs", out var engines) && engines.ValueKind == JsonValueKind.Array;
            if (!isDefault && !isConfiguration)
            {
                continue;
            }

            configurations.Add(file.Name);
            if (described.ValueKind == JsonValueKind.Undefined && configuration.ValueKind == JsonValueKind.Object)
            {
                described = configuration;
            }
        }

        return configurations.Count == 0 ? null : ExperimentListing.Summarize(folder.Name, described, configurations);
    }

    /// <summary>The file's JSON, or default when it is not a small regular file of valid JSON.</summary>
    private static JsonElement ReadConfiguration(FileInfo file)
    {
        try
        {
            if (file.LinkTarget is not null || file.Length is 0 or > MaxConfigurationBytes)
            {
                return default;
            }

            // Never more than the size seen: a file that grows meanwhile is read only that far.
            var buffer = new byte[file.Length];
            int read;
            using (var stream = new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan))
            {
                read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            }

            using var document = JsonDocument.Parse(buffer.AsMemory(0, read), ExperimentListing.ParseOptions);
            return document.RootElement.Clone();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            return default;
        }
    }

    private string ExperimentDirectory(string experimentId)
    {
        if (!PathGuard.IsSafeSegment(experimentId))
        {
            throw new ExperimentStorageException(ExperimentStorageError.InvalidPath,
                $"Refused the experiment id '{experimentId}': it must be a single folder name.");
        }

        var directory = Path.Combine(Root, experimentId);
        if (!Directory.Exists(directory))
        {
            throw new ExperimentStorageException(ExperimentStorageError.NotFound,
                $"The experiment '{experimentId}' does not exist in {Root}.");
        }

        return directory;
    }

    /// <summary>
    /// Copies regular files and folders only. Symbolic links (which could point anywhere on the machine), FIFOs,
    /// sockets and devices (which could block or never end) are skipped with a log line and never opened.
    /// </summary>
    private void CopyTree(string source, string target, bool topLevel, CancellationToken cancellationToken)
    {
        foreach (var entry in new DirectoryInfo(source).EnumerateFileSystemInfos())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var name = entry.Name;
            var kind = SafeFile.KindOf(entry.FullName);
            if (kind is EntryKind.SymbolicLink or EntryKind.Special)
            {
                StorageLog.EntrySkipped(_logger, Path.GetRelativePath(Root, entry.FullName),
                    kind == EntryKind.SymbolicLink ? "it is a symbolic link" : "it is not a regular file");
                continue;
            }

            if (kind == EntryKind.Directory)
            {
                if (topLevel && name is "logs" or "__pycache__")
                {
                    continue;
                }

                var sub = PathGuard.Resolve(target, name);
                Directory.CreateDirectory(sub);
                CopyTree(entry.FullName, sub, topLevel: false, cancellationToken);
            }
            else if (kind == EntryKind.RegularFile)
            {
                if (topLevel && (name.EndsWith(".log", StringComparison.Ordinal) || name.EndsWith(".log.zip", StringComparison.Ordinal)))
                {
                    continue;
                }

                if (name.EndsWith(".swp", StringComparison.Ordinal))
                {
                    continue;
                }

                CopyFile(entry.FullName, PathGuard.Resolve(target, name));
            }
        }
    }

    private void CopyFile(string source, string target)
    {
        // Checked again on the opened file: it may have been replaced since it was listed.
        using var input = SafeFile.OpenRegular(source, out var refusal, allowHardLinks: true);
        if (input is null)
        {
            StorageLog.EntrySkipped(_logger, Path.GetRelativePath(Root, source), refusal!);
            return;
        }

        using var output = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920);
        input.CopyTo(output);
    }

    internal static string ResolveRoot(string? configured)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return Path.GetFullPath(configured);
        }

        var here = Path.Combine(Directory.GetCurrentDirectory(), "experiments");
        if (Directory.Exists(here))
        {
            return here;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "experiments");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        return here;
    }
}
