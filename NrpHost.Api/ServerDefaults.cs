using Microsoft.Extensions.Configuration.Memory;

namespace NrpHost.Api;

/// <summary>
/// Where the server's defaults differ from the library's: every simulation runs in a worker process of its own, within
/// limits. They are the configuration's lowest layer, so appsettings, environment variables and the command line
/// override each of them.
/// </summary>
internal static class ServerDefaults
{
    public static readonly IReadOnlyDictionary<string, string?> Values = new Dictionary<string, string?>
    {
        ["NrpHost:Simulation:Isolation"] = "Process",
        ["NrpHost:Simulation:Limits:MemoryMB"] = "4096",
        ["NrpHost:Simulation:Limits:OpenFiles"] = "4096",
        ["NrpHost:Simulation:Limits:Processes"] = "1024",
    };

    /// <summary>Puts the defaults under every other configuration source.</summary>
    public static void AddTo(IConfigurationBuilder configuration) =>
        configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = Values });
}
