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
