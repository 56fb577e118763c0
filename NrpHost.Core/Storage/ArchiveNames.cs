using System.Globalization;

namespace NrpHost.Storage;

/// <summary>Names of log archives, made unique without overwriting.</summary>
internal static class ArchiveNames
{
    private const string Extension = ".log.zip";

    /// <summary>
    /// <paramref name="name"/> for attempt 0, otherwise the name with <c>_&lt;attempt&gt;</c> before its
    /// <c>.log.zip</c> (or before its extension): <c>a.log.zip</c>, <c>a_1.log.zip</c>, <c>a_2.log.zip</c>…
    /// </summary>
    public static string WithSuffix(string name, int attempt)
    {
        if (attempt == 0)
        {
            return name;
        }

        var stem = name.EndsWith(Extension, StringComparison.Ordinal) ? name[..^Extension.Length] : Path.GetFileNameWithoutExtension(name);
        var extension = name.EndsWith(Extension, StringComparison.Ordinal) ? Extension : Path.GetExtension(name);
        return string.Create(CultureInfo.InvariantCulture, $"{stem}_{attempt}{extension}");
    }
}
