using Microsoft.Extensions.Logging;

namespace NrpHost.Messaging;

/// <summary>Log messages of the messaging concept (event ids 3xx).</summary>
internal static partial class MessagingLog
{
    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "MQTT status publisher {ClientId} connected to {Broker}")]
    public static partial void Connected(ILogger logger, string clientId, string broker);

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "MQTT status publisher cannot reach {Broker} ({Reason}); retrying every {DelayMs} ms at most, status messages are dropped meanwhile")]
    public static partial void ConnectFailed(ILogger logger, string broker, string reason, double delayMs);

    [LoggerMessage(EventId = 302, Level = LogLevel.Debug, Message = "MQTT status publisher: connecting to {Broker} failed again ({Reason}); next attempt in {DelayMs} ms")]
    public static partial void ConnectFailedAgain(ILogger logger, string broker, string reason, double delayMs);

    [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "MQTT status publisher lost its connection to {Broker}; reconnecting")]
    public static partial void Disconnected(ILogger logger, string broker);

    [LoggerMessage(EventId = 304, Level = LogLevel.Warning, Message = "MQTT publish to {Topic} failed: {Reason}")]
    public static partial void PublishFailed(ILogger logger, string topic, string reason);

    [LoggerMessage(EventId = 305, Level = LogLevel.Information, Message = "Embedded MQTT broker listening on {Address}:{Port} (TCP){WebSocket}. It runs in this process because MQTT status is on (AddMqttStatus) and NrpHost:Mqtt:Broker is not set; set NrpHost:Mqtt:Broker to publish to an external broker instead, or NrpHost:Mqtt:EmbeddedPort to move it")]
    public static partial void BrokerStarted(ILogger logger, string address, int port, string webSocket);

    [LoggerMessage(EventId = 306, Level = LogLevel.Information, Message = "Embedded MQTT broker stopped")]
    public static partial void BrokerStopped(ILogger logger);

    [LoggerMessage(EventId = 307, Level = LogLevel.Error, Message = "Embedded MQTT broker cannot listen on {Address}:{Port}: {Reason}. No status is published until it can. Set NrpHost:Mqtt:EmbeddedPort to a free port, or set NrpHost:Mqtt:Broker to {Address}:{Port} to use the broker already there on purpose")]
    public static partial void BrokerPortUnavailable(ILogger logger, string address, int port, string reason);

    [LoggerMessage(EventId = 308, Level = LogLevel.Debug, Message = "MQTT status queue full; the oldest message was dropped")]
    public static partial void QueueFull(ILogger logger);

    [LoggerMessage(EventId = 309, Level = LogLevel.Error, Message = "MQTT status publisher could not read the simulations at start; status of simulations created earlier starts with their next state change")]
    public static partial void ListFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 310, Level = LogLevel.Debug, Message = "MQTT client from {Endpoint} connected without a client id; assigned {ClientId}")]
    public static partial void ClientIdAssigned(ILogger logger, string endpoint, string clientId);

    [LoggerMessage(EventId = 311, Level = LogLevel.Warning, Message = "Embedded MQTT broker refused a connection from {Endpoint} (client id {ClientId}): {Reason}")]
    public static partial void ConnectionRefused(ILogger logger, string endpoint, string clientId, string reason);

    [LoggerMessage(EventId = 312, Level = LogLevel.Warning, Message = "Embedded MQTT broker refused a publish by {ClientId} on {Topic} (retained: {Retained}): {Reason}. Further refusals for this client are logged at debug level")]
    public static partial void PublishRefused(ILogger logger, string clientId, string topic, bool retained, string reason);

    [LoggerMessage(EventId = 313, Level = LogLevel.Debug, Message = "Embedded MQTT broker refused a publish by {ClientId} on {Topic}: {Reason}")]
    public static partial void PublishRefusedAgain(ILogger logger, string clientId, string topic, string reason);

    [LoggerMessage(EventId = 314, Level = LogLevel.Warning, Message = "NrpHost:Mqtt:Prefix is set empty, so this host publishes the NRP backend's topics (nrp_simulation/<id>/…) on the external broker {Broker}. Simulation ids start at 0 in every host: every other host on this broker needs a prefix of its own, or their status messages mix. Leave NrpHost:Mqtt:Prefix unset to use the host id ({HostId}) as the prefix")]
    public static partial void SharedBrokerWithoutPrefix(ILogger logger, string broker, string hostId);

    [LoggerMessage(EventId = 315, Level = LogLevel.Information, Message = "Host {HostId} publishes simulation status on {Broker} under {TopicBase}")]
    public static partial void Publishing(ILogger logger, string hostId, string broker, string topicBase);

    [LoggerMessage(EventId = 316, Level = LogLevel.Warning, Message = "Embedded MQTT broker closed the connection from {Endpoint}: it sent a packet of {Size} bytes or more, and the broker takes at most {Max} (NrpHost:Mqtt:EmbeddedMaxPacketBytes)")]
    public static partial void PacketTooLarge(ILogger logger, string endpoint, long size, int max);
}
