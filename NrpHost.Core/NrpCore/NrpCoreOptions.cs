using System.ComponentModel.DataAnnotations;

namespace NrpHost.NrpCore;

/// <summary>Which nrp-core client a simulation gets.</summary>
public enum NrpCoreMode
{
    /// <summary>The nrp-core-compatible runtime shipped with NrpHost (python_json engines, in-process).</summary>
    Embedded,

    /// <summary>A real nrp-core installation: its client launches NRPCoreSim and talks gRPC.</summary>
    External,
}

/// <summary>The nrp-core client and the <c>-o</c> overrides it is started with.</summary>
public sealed class NrpCoreOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "NrpHost:NrpCore";

    /// <summary>Embedded (default) or External.</summary>
    public NrpCoreMode Mode { get; set; } = NrpCoreMode.Embedded;

    /// <summary>
    /// External mode: folders added to <c>sys.path</c> so the nrp-core client can be imported
    /// (for example the installation's <c>lib/python3.X/site-packages</c>).
    /// </summary>
    public IList<string> PythonPath { get; } = [];

    /// <summary>
    /// The client class as <c>module:Class</c>. Default: <c>nrp_client:NrpCore</c> (nrp-core 1.4); use
    /// <c>nrp_core.client:NrpCore</c> for nrp-core 1.3 and older.
    /// </summary>
    [Required]
    public string Client { get; set; } = "nrp_client:NrpCore";

    /// <summary>The gRPC address NRPCoreSim binds (external mode; the embedded runtime ignores it).</summary>
    [Required]
    public string Address { get; set; } = "localhost:5345";

    /// <summary>
    /// The MQTT broker (<c>host:port</c>) passed to the experiment's <c>datatransfer_grpc_engine</c> as
    /// <c>-o EngineConfigs.&lt;i&gt;.MQTTBroker</c>; not passed when empty.
    /// </summary>
    public string? MqttBroker { get; set; }

    /// <summary>The MQTT topic prefix passed as <c>-o EngineConfigs.&lt;i&gt;.MQTTPrefix</c> (always, empty allowed).</summary>
    public string MqttPrefix { get; set; } = string.Empty;
}
