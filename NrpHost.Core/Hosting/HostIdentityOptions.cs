namespace NrpHost.Hosting;

/// <summary>
/// Which host this is, among several that share one MQTT broker, one storage and one NRP Proxy. The host id goes
/// into log archive names, the MQTT publisher's client id and, with an external broker and no configured prefix, the
/// MQTT topic prefix.
/// </summary>
public sealed class HostIdentityOptions
{
    /// <summary>The configuration section these options bind to (the key is <c>NrpHost:HostId</c>).</summary>
    public const string SectionName = "NrpHost";

    /// <summary>
    /// The host id. Default: the machine name (NrpHost.Api: <c>&lt;machine name&gt;-&lt;API port&gt;</c>). Whatever is
    /// configured is made safe for MQTT topics and file names when the options are built: ASCII letters, digits,
    /// <c>.</c>, <c>_</c> and <c>-</c> are kept, every run of other characters becomes one <c>-</c>, leading and trailing
    /// <c>.</c> and <c>-</c> are dropped, and at most 64 characters remain (<c>nrphost</c> when nothing does).
    /// </summary>
    public string? HostId { get; set; }
}
