using System.Text.RegularExpressions;

namespace NrpHost.Api.Health;

/// <summary>
/// What <c>GET /health</c> says, without the host's absolute paths: anyone who reaches the port can read it, so a path
/// is shown by its last part (<c>libpython3.11.so.1.0</c>, <c>experiments</c>). The full paths are in the start-up log.
/// </summary>
internal static partial class HealthText
{
    /// <summary><paramref name="text"/> with every absolute path replaced by its last part.</summary>
    public static string? HidePaths(string? text) => text is null ? null : AbsolutePath().Replace(text, match => match.Groups["last"].Value);

    /// <summary>An absolute path: <c>/</c> and at least one more <c>/</c>-separated part, up to a space, quote, comma or bracket.</summary>
    [GeneratedRegex(@"(?<![\w.:/])/(?:[^\s/'""(),;\]\[]+/)+(?<last>[^\s/'""(),;\]\[]*[^\s/'""(),;.:\]\[])")]
    private static partial Regex AbsolutePath();
}
