namespace NrpHost.Messaging;

/// <summary>
/// Where the data-transfer messages of simulations in worker processes go: the host's MQTT publisher (a sandboxed
/// worker has no network of its own). Registered with MQTT status publishing (<c>AddMqttStatus</c>); without it, a
/// worker's data-transfer engine connects to the broker itself. The publisher connects itself here, so the
/// simulation manager needs no reference to it.
/// </summary>
internal sealed class DataTransferRelay
{
    private volatile Func<string, byte[], bool, bool>? _publish;

    /// <summary>Called by the publisher that publishes relayed messages.</summary>
    public void Connect(Func<string, byte[], bool, bool> publish) => _publish = publish;

    /// <summary>Publishes one message (QoS 0: dropped while the broker is away or the queue is full); false when it was not taken.</summary>
    public bool Publish(string topic, byte[] payload, bool retain) => _publish?.Invoke(topic, payload, retain) ?? false;
}
