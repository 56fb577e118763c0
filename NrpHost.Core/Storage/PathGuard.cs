namespace NrpHost.Storage;

/// <summary>Keeps every name from storage or from a request inside the directory it belongs to.</summary>
internal static class PathGuard
{
    /// <summary>
    /// The full path of <paramref name="relativePath"/> under <paramref name="root"/>, or an
    /// <see cref="ExperimentStorageException"/> (<see cref="ExperimentStorageError.InvalidPath"/>) when it is empty,
    /// absolute, contains <c>..</c>, a backslash, a NUL or a drive prefix, or otherwise resolves outside the root.
    /// </summary>
    public static string Resolve(string root, string relativePath)
    {
        if (!IsSafeRelative(relativePath))
        {
            throw new ExperimentStorageException(ExperimentStorageError.InvalidPath,
                $"Refused the file name '{relativePath}': it must be a relative path inside the experiment (no '..', no absolute path).");
        }

        var fullRoot = Path.GetFullPath(root);
        var full = Path.GetFullPath(Path.Combine(fullRoot, relativePath));
        var prefix = fullRoot.EndsWith(Path.DirectorySeparatorChar) ? fullRoot : fullRoot + Path.DirectorySeparatorChar;
        if (!full.StartsWith(prefix, StringComparison.Ordinal))
        {
            throw new ExperimentStorageException(ExperimentStorageError.InvalidPath,
                $"Refused the file name '{relativePath}': it resolves outside the experiment.");
        }

        return full;
    }

    /// <summary>Whether a name is a plain relative path (non-empty segments, none <c>..</c>, no root, no backslash or colon).</summary>
    public static bool IsSafeRelative(string? relativePath)
    {
        if (string.IsNullOrWhiteSpace(relativePath) || relativePath.Contains('\0', StringComparison.Ordinal) ||
            relativePath.Contains('\\', StringComparison.Ordinal) || Path.IsPathRooted(relativePath) ||
            relativePath.StartsWith('~') || relativePath.Contains(':', StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var segment in relativePath.Split('/'))
        {
            if (segment is ".." || segment.Length == 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether an experiment id is one plain folder name.</summary>
    public static bool IsSafeSegment(string? name) =>
        IsSafeRelative(name) && !name!.Contains('/', StringComparison.Ordinal) && name != ".";
}
