using System.Globalization;
using NrpHost.Messaging;

namespace NrpHost.NrpCore;

/// <summary>The <c>-o</c> arguments a simulation's nrp-core client is constructed with.</summary>
internal static class NrpCoreOverrides
{
    /// <summary>
    /// <c>-o EngineConfigs.&lt;i&gt;.simulationID="&lt;id&gt;"</c>, then <c>MQTTBroker</c> when configured, then
    /// <c>MQTTPrefix</c> (always), for the data-transfer engine at <paramref name="engineIndex"/>; joined by spaces,
    /// values double-quoted. Empty when the experiment has no data-transfer engine.
    /// </summary>
    public static string Build(int simulationId, int engineIndex, string? broker, string prefix)
    {
        if (engineIndex < 0)
        {
            return string.Empty;
        }

        var parts = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"-o EngineConfigs.{engineIndex}.simulationID=\"{simulationId}\""),
        };
        if (MqttBrokerAddress.TryParse(broker, out var address))
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"-o EngineConfigs.{engineIndex}.MQTTBroker=\"{address}\""));
        }

        parts.Add(string.Create(CultureInfo.InvariantCulture, $"-o EngineConfigs.{engineIndex}.MQTTPrefix=\"{prefix}\""));
        return string.Join(' ', parts);
    }
}
