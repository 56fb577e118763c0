namespace NrpHost.Messaging;

/// <summary>Whether simulation status reaches the MQTT broker (for health reports).</summary>
public interface IMessagingHealth
{
    /// <summary>True while the status publisher is connected to the broker.</summary>
    bool IsConnected { get; }

    /// <summary>The broker the publisher connects to, as <c>host:port</c>.</summary>
    string Broker { get; }

    /// <summary>True when the broker is the one embedded in this process.</summary>
    bool IsEmbeddedBroker { get; }

    /// <summary>Whether the embedded broker runs; null when an external broker is configured.</summary>
    bool? EmbeddedBrokerRunning { get; }

    /// <summary>
    /// Why status does not reach the broker (for example <c>the embedded broker is not running: port 1883 is in use by
    /// another process</c>), or null while it does or before the first connection attempt ended.
    /// </summary>
    string? Problem { get; }
}
