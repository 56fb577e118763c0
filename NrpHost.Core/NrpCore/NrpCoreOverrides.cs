using System.Globalization;

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
        if (IsValidBroker(broker))
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"-o EngineConfigs.{engineIndex}.MQTTBroker=\"{broker}\""));
        }

        parts.Add(string.Create(CultureInfo.InvariantCulture, $"-o EngineConfigs.{engineIndex}.MQTTPrefix=\"{prefix}\""));
        return string.Join(' ', parts);
    }

    /// <summary>A broker address is <c>host:port</c> with exactly one colon and a port from 1 to 65535.</summary>
    public static bool IsValidBroker(string? broker)
    {
        if (string.IsNullOrWhiteSpace(broker) || broker.Contains(' ', StringComparison.Ordinal))
        {
            return false;
        }

        var parts = broker.Split(':');
        return parts.Length == 2 && parts[0].Length > 0
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535;
    }
}
