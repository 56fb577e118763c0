using System.ComponentModel.DataAnnotations;

namespace NrpHost.Messaging;

/// <summary>Where simulation status and runtime errors are published.</summary>
public sealed class MqttOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "NrpHost:Mqtt";

    /// <summary>
    /// Topic prefix: topics are <c>[&lt;prefix&gt;/]nrp_simulation/&lt;id&gt;/…</c>. Also returned by the REST API as
    /// <c>MQTTPrefix</c> and passed to nrp-core as <c>MQTTPrefix</c>. When not set (null), it is resolved once when the
    /// options are built: the host id (<see cref="Hosting.HostIdentityOptions.HostId"/>) with an external
    /// <see cref="Broker"/>, which other hosts may share; empty with the embedded broker. An explicitly empty prefix
    /// keeps the NRP backend's topics (<c>nrp_simulation/&lt;id&gt;/…</c>).
    /// </summary>
    public string? Prefix { get; set; }

    /// <summary>
    /// An external broker as <c>host:port</c> (for example Mosquitto). When empty, NrpHost starts its own embedded
    /// broker.
    /// </summary>
    public string? Broker { get; set; }

    /// <summary>The embedded broker's TCP port (when no external broker is configured).</summary>
    [Range(0, 65535)]
    public int EmbeddedPort { get; set; } = 1883;

    /// <summary>The address the embedded broker binds; loopback unless configured otherwise.</summary>
    public string EmbeddedBindAddress { get; set; } = "127.0.0.1";

    /// <summary>
    /// How long the embedded broker waits for a new connection's CONNECT (and for each packet it waits on), in seconds;
    /// a connection that sends nothing is closed after it. Default 10.
    /// </summary>
    [Range(1, 30)]
    public int EmbeddedConnectTimeoutSeconds { get; set; } = 10;

    /// <summary>
    /// The largest MQTT packet the embedded broker takes from a client, in bytes (fixed header included); a client
    /// that sends a larger one is disconnected, before the broker allocates room for it. Default 8 MiB.
    /// </summary>
    [Range(1024, 268_435_455)]
    public int EmbeddedMaxPacketBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>Optional user name for the external broker.</summary>
    public string? Username { get; set; }

    /// <summary>Optional password for the external broker.</summary>
    public string? Password { get; set; }

    /// <summary>Whether <paramref name="address"/> is a broker address NrpHost accepts: <c>host:port</c>, <c>[v6]:port</c> or a bare host (port 1883).</summary>
    public static bool IsValidBrokerAddress(string? address) => MqttBrokerAddress.TryParse(address, out _);
}
