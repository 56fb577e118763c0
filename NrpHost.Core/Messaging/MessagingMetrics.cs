using System.Diagnostics.Metrics;
using NrpHost.Telemetry;

namespace NrpHost.Messaging;

/// <summary>Instruments of the messaging concept.</summary>
internal static class MessagingMetrics
{
    public static readonly Counter<long> PublishErrors =
        NrpHostTelemetry.Meter.CreateCounter<long>("nrphost.mqtt.publish.errors", unit: "{message}", description: "MQTT messages whose publish failed, by topic kind");

    public static readonly Counter<long> Dropped =
        NrpHostTelemetry.Meter.CreateCounter<long>("nrphost.mqtt.messages.dropped", unit: "{message}", description: "MQTT messages dropped because no broker connection was available, by topic kind");

    public static readonly Counter<long> Published =
        NrpHostTelemetry.Meter.CreateCounter<long>("nrphost.mqtt.messages.published", unit: "{message}", description: "MQTT messages published, by topic kind");
}
