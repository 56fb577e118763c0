using System.Globalization;
using System.IO.Compression;
using System.Text;
using NrpHost.Storage;

namespace NrpHost.Simulation;

/// <summary>Bounds of a log archive.</summary>
/// <param name="MaxFileBytes">The most bytes taken from one file: its head and its tail, with a line saying how much was cut.</param>
/// <param name="MaxTotalBytes">The most bytes taken from all files together; files beyond it are left out (and named).</param>
internal readonly record struct LogArchiveLimits(long MaxFileBytes, long MaxTotalBytes);

/// <summary>What went into an archive and what did not.</summary>
internal sealed record LogArchiveSummary(IReadOnlyList<string> Entries, IReadOnlyList<string> Notes);

/// <summary>
/// Zips a simulation directory's logs: its top-level <c>*.log</c> files (the simulation's own log first) and every file
/// under the folders it is given (data and profiling output). Only regular files are read, never through a link, and
/// never one that is also linked from elsewhere (<see cref="SafeFile"/>); everything is streamed, each file is cut to
/// <see cref="LogArchiveLimits.MaxFileBytes"/> (head and tail) and the whole to <see cref="LogArchiveLimits.MaxTotalBytes"/>.
/// What was skipped or cut is appended to the simulation log's entry in the archive.
/// </summary>
internal static class LogArchive
{
    private const int CopyBuffer = 81920;

    /// <summary>
    /// <c>&lt;YYYY-mm-dd_HH-MM-SS&gt;_simulation_&lt;id&gt;_&lt;host id&gt;.log.zip</c>: the host id keeps apart the archives of
    /// hosts that share one storage, where simulation ids start at 0 in every host (storage adds a suffix when the name
    /// is still taken).
    /// </summary>
    public static string FileName(DateTimeOffset now, int simulationId, string hostId) =>
        now.ToString("yyyy-MM-dd_HH-mm-ss", CultureInfo.InvariantCulture) +
        string.Create(CultureInfo.InvariantCulture, $"_simulation_{simulationId}_{hostId}.log.zip");

    /// <summary>Writes the archive of <paramref name="directory"/> into <paramref name="output"/>.</summary>
    /// <param name="directory">The simulation directory.</param>
    /// <param name="mainLog">The simulation's own log (top level); always first, and where the notes go.</param>
    /// <param name="folders">Folders (relative to the directory) whose files are archived under their relative path.</param>
    /// <param name="output">Where the zip goes.</param>
    /// <param name="limits">Size bounds.</param>
    /// <param name="cancellationToken">Stops the work between two chunks.</param>
    public static LogArchiveSummary Write(
        string directory, string mainLog, IEnumerable<string> folders, Stream output, LogArchiveLimits limits, CancellationToken cancellationToken)
    {
        var notes = new List<string>();
        var candidates = Collect(directory, mainLog, folders, notes);
        var entries = new List<string> { mainLog };

        // The simulation's own log is read first, so the size bound never leaves it out, and written last, once the
        // notes about the other files are known.
        var mainPath = Path.Combine(directory, mainLog);
        using var main = SafeFile.OpenRegular(mainPath, out var mainRefusal);
        if (main is null && File.Exists(mainPath))
        {
            notes.Add($"{mainLog}: not archived, {mainRefusal}");
        }

        var mainLength = main?.Length ?? 0;
        var total = Math.Min(mainLength, limits.MaxFileBytes);
        using (var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (path, entry) in candidates)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var input = SafeFile.OpenRegular(path, out var refusal);
                if (input is null)
                {
                    notes.Add($"{entry}: not archived, {refusal}");
                    continue;
                }

                var length = input.Length;
                var taken = Math.Min(length, limits.MaxFileBytes);
                if (total + taken > limits.MaxTotalBytes)
                {
                    notes.Add(string.Create(CultureInfo.InvariantCulture, $"{entry}: not archived, the archive reached its limit of {limits.MaxTotalBytes} bytes"));
                    continue;
                }

                total += taken;
                var zipEntry = zip.CreateEntry(entry, CompressionLevel.Fastest);
                using (var stream = zipEntry.Open())
                {
                    CopyCapped(input, length, limits.MaxFileBytes, stream, entry, notes, cancellationToken);
                }

                entries.Add(entry);
            }

            var mainEntry = zip.CreateEntry(mainLog, CompressionLevel.Fastest);
            using var mainStream = mainEntry.Open();
            if (main is not null)
            {
                CopyCapped(main, mainLength, limits.MaxFileBytes, mainStream, mainLog, notes, cancellationToken);
            }

            if (notes.Count > 0)
            {
                var text = new StringBuilder();
                foreach (var note in notes)
                {
                    text.Append("[NrpHost] ").Append(note).Append('\n');
                }

                mainStream.Write(Encoding.UTF8.GetBytes(text.ToString()));
            }
        }

        return new LogArchiveSummary(entries, notes);
    }

    /// <summary>The files to archive, in archive order; what is not a regular file is noted and left out.</summary>
    private static List<(string Path, string Entry)> Collect(string directory, string mainLog, IEnumerable<string> folders, List<string> notes)
    {
        var result = new List<(string, string)>();
        var topLevel = new DirectoryInfo(directory).EnumerateFileSystemInfos("*.log", SearchOption.TopDirectoryOnly)
            .Select(e => e.Name)
            .Where(n => !string.Equals(n, mainLog, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
        foreach (var name in topLevel)
        {
            AddIfRegular(directory, name, result, notes);
        }

        foreach (var folder in folders.Distinct(StringComparer.Ordinal))
        {
            if (!PathGuard.IsSafeRelative(folder))
            {
                continue;
            }

            var root = Path.Combine(directory, folder);
            if (SafeFile.KindOf(root) != EntryKind.Directory)
            {
                continue;
            }

            Walk(directory, root, result, notes);
        }

        return result;
    }

    private static void Walk(string directory, string folder, List<(string, string)> result, List<string> notes)
    {
        foreach (var entry in new DirectoryInfo(folder).EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            var relative = Path.GetRelativePath(directory, entry.FullName).Replace(Path.DirectorySeparatorChar, '/');
            var kind = SafeFile.KindOf(entry.FullName);
            if (kind == EntryKind.Directory)
            {
                Walk(directory, entry.FullName, result, notes);
            }
            else
            {
                AddIfRegular(directory, relative, result, notes, kind);
            }
        }
    }

    private static void AddIfRegular(string directory, string relative, List<(string, string)> result, List<string> notes, EntryKind? known = null)
    {
        var path = Path.Combine(directory, relative);
        switch (known ?? SafeFile.KindOf(path))
        {
            case EntryKind.RegularFile:
                result.Add((path, relative));
                break;
            case EntryKind.SymbolicLink:
                notes.Add($"{relative}: not archived, it is a symbolic link");
                break;
            case EntryKind.Special:
                notes.Add($"{relative}: not archived, it is not a regular file");
                break;
        }
    }

    /// <summary>Copies the first <paramref name="length"/> bytes, or its head and tail with a marker line when longer than the cap.</summary>
    private static void CopyCapped(FileStream input, long length, long maxBytes, Stream output, string name, List<string> notes, CancellationToken cancellationToken)
    {
        if (length <= maxBytes)
        {
            CopyBytes(input, output, length, cancellationToken);
            return;
        }

        var head = maxBytes / 2;
        var tail = maxBytes - head;
        CopyBytes(input, output, head, cancellationToken);
        var cut = length - head - tail;
        output.Write(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"\n[NrpHost] ... {cut} bytes cut here: {name} is {length} bytes, the archive keeps its first and last {maxBytes} bytes ...\n")));
        input.Seek(length - tail, SeekOrigin.Begin);
        CopyBytes(input, output, tail, cancellationToken);
        notes.Add(string.Create(CultureInfo.InvariantCulture, $"{name}: {cut} of its {length} bytes were cut (limit {maxBytes} bytes per file)"));
    }

    private static void CopyBytes(Stream input, Stream output, long count, CancellationToken cancellationToken)
    {
        var buffer = new byte[(int)Math.Min(CopyBuffer, Math.Max(1, count))];
        while (count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var read = input.Read(buffer, 0, (int)Math.Min(buffer.Length, count));
            if (read == 0)
            {
                return;
            }

            output.Write(buffer, 0, read);
            count -= read;
        }
    }
}
