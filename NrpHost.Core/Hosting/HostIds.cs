using System.Text;

namespace NrpHost.Hosting;

/// <summary>Makes host ids safe for MQTT topics, client ids and file names (see <see cref="HostIdentityOptions.HostId"/>).</summary>
internal static class HostIds
{
    public const int MaxLength = 64;

    private const string Fallback = "nrphost";

    /// <summary>The configured id made safe, or the machine name made safe when none is configured.</summary>
    public static string Resolve(string? configured) =>
        Sanitise(string.IsNullOrWhiteSpace(configured) ? Environment.MachineName : configured);

    /// <summary>
    /// Keeps ASCII letters, digits, <c>.</c>, <c>_</c> and <c>-</c>; every run of other characters becomes one <c>-</c>;
    /// leading and trailing <c>.</c> and <c>-</c> go; at most <see cref="MaxLength"/> characters; <c>nrphost</c> when
    /// nothing is left.
    /// </summary>
    public static string Sanitise(string? value)
    {
        var id = new StringBuilder(Math.Min(value?.Length ?? 0, MaxLength));
        var replaced = false;
        foreach (var c in value ?? string.Empty)
        {
            if (char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-')
            {
                id.Append(c);
                replaced = false;
            }
            else if (!replaced)
            {
                id.Append('-');
                replaced = true;
            }
        }

        var result = id.ToString().Trim('.', '-');
        if (result.Length > MaxLength)
        {
            result = result[..MaxLength].TrimEnd('.', '-');
        }

        return result.Length == 0 ? Fallback : result;
    }
}
