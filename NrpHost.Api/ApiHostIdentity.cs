using NrpHost.Hosting;

namespace NrpHost.Api;

/// <summary>
/// The API's default host id, <c>&lt;machine name&gt;-&lt;API port&gt;</c>: stable for one machine and port, distinct for
/// several hosts on one machine. The port is that of the first Kestrel endpoint (<c>Kestrel:Endpoints:*:Url</c>), else of
/// the first of <c>urls</c>. With port 0 (chosen when listening) it is the machine name alone.
/// </summary>
internal static class ApiHostIdentity
{
    /// <summary>Fills <see cref="HostIdentityOptions.HostId"/> when it is not configured.</summary>
    public static Action<HostIdentityOptions> DefaultFrom(IConfiguration configuration, string defaultUrl) => options =>
    {
        if (string.IsNullOrWhiteSpace(options.HostId))
        {
            var url = configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]).FirstOrDefault(u => !string.IsNullOrWhiteSpace(u))
                ?? configuration["urls"];
            options.HostId = For(Environment.MachineName, string.IsNullOrWhiteSpace(url) ? defaultUrl : url);
        }
    };

    /// <summary><c>&lt;machine&gt;-&lt;port&gt;</c> of the first URL in <paramref name="urls"/> (<c>;</c>-separated), or the machine alone.</summary>
    public static string For(string machine, string urls)
    {
        var first = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? string.Empty;

        // Kestrel's wildcard hosts are not URI hosts.
        var parsable = first.Replace("://*", "://localhost", StringComparison.Ordinal).Replace("://+", "://localhost", StringComparison.Ordinal);
        return Uri.TryCreate(parsable, UriKind.Absolute, out var uri) && uri.Port > 0
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{machine}-{uri.Port}")
            : machine;
    }
}
