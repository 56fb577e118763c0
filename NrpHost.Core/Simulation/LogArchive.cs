using System.Globalization;
using System.IO.Compression;

namespace NrpHost.Simulation;

/// <summary>Zips a simulation directory's top-level log files for upload at stop.</summary>
internal static class LogArchive
{
    /// <summary><c>&lt;YYYY-mm-dd_HH-MM-SS&gt;_simulation_&lt;id&gt;.log.zip</c>.</summary>
    public static string FileName(DateTimeOffset now, int simulationId) =>
        now.ToString("yyyy-MM-dd_HH-mm-ss", CultureInfo.InvariantCulture) +
        string.Create(CultureInfo.InvariantCulture, $"_simulation_{simulationId}.log.zip");

    /// <summary>Writes every top-level <c>*.log</c> file of <paramref name="directory"/> into a zip (flat).</summary>
    public static MemoryStream Create(string directory)
    {
        var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var file in Directory.EnumerateFiles(directory, "*.log", SearchOption.TopDirectoryOnly).Order(StringComparer.Ordinal))
            {
                zip.CreateEntryFromFile(file, Path.GetFileName(file), CompressionLevel.Fastest);
            }
        }

        buffer.Position = 0;
        return buffer;
    }
}
