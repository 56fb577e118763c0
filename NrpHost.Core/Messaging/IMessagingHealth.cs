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
}
