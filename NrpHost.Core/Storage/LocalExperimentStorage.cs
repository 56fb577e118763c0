using Microsoft.Extensions.Options;

namespace NrpHost.Storage;

/// <summary>Experiments are folders under <see cref="LocalStorageOptions.LocalRoot"/>.</summary>
internal sealed class LocalExperimentStorage : IExperimentStorage
{
    public LocalExperimentStorage(IOptions<LocalStorageOptions> options)
    {
        Root = ResolveRoot(options.Value.LocalRoot);
    }

    /// <summary>The absolute experiments folder.</summary>
    public string Root { get; }

    public async Task StageAsync(ExperimentLocation experiment, string targetDirectory, CancellationToken cancellationToken = default)
    {
        var source = ExperimentDirectory(experiment.ExperimentId);
        await Task.Run(() => CopyTree(source, targetDirectory, topLevel: true, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    public async Task UploadAsync(ExperimentLocation experiment, string fileName, Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var directory = ExperimentDirectory(experiment.ExperimentId);
        var target = PathGuard.Resolve(directory, fileName);
        var file = new FileStream(target, FileMode.Create, FileAccess.Write, FileShare.None, 81920, useAsync: true);
        await using (file.ConfigureAwait(false))
        {
            await content.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
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

    private static void CopyTree(string source, string target, bool topLevel, CancellationToken cancellationToken)
    {
        foreach (var entry in new DirectoryInfo(source).EnumerateFileSystemInfos())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (entry.LinkTarget is not null)
            {
                // Links could point anywhere on the machine; an experiment is its own files only.
                continue;
            }

            var name = entry.Name;
            if (entry is DirectoryInfo directory)
            {
                if (topLevel && name is "logs" or "__pycache__")
                {
                    continue;
                }

                var sub = PathGuard.Resolve(target, name);
                Directory.CreateDirectory(sub);
                CopyTree(directory.FullName, sub, topLevel: false, cancellationToken);
            }
            else if (entry is FileInfo file)
            {
                if (topLevel && (name.EndsWith(".log", StringComparison.Ordinal) || name.EndsWith(".log.zip", StringComparison.Ordinal)))
                {
                    continue;
                }

                if (name.EndsWith(".swp", StringComparison.Ordinal))
                {
                    continue;
                }

                file.CopyTo(PathGuard.Resolve(target, name));
            }
        }
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
