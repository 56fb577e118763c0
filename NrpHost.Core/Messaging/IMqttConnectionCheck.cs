namespace NrpHost.Messaging;

/// <summary>
/// A further check of who connects to the embedded broker, added by the host of the broker's other transports (the
/// API's MQTT over WebSocket asks for credentials of a connection whose upgrade carried no token).
/// </summary>
internal interface IMqttConnectionCheck
{
    /// <summary>Why the connection from <paramref name="endpoint"/> is refused, or null to let it in.</summary>
    ValueTask<string?> RefuseAsync(string endpoint, string? userName, ReadOnlyMemory<byte> password);
}
