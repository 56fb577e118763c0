using System.Globalization;
using NrpHost.Messaging;

namespace NrpHost.Api;

/// <summary>
/// Maps the NRP backend's environment variables to NrpHost settings, so NrpHost drops into an NRP deployment
/// without new settings: <c>NRP_MQTT_BROKER_ADDRESS</c> → <c>NrpHost:Mqtt:Broker</c>, <c>NRP_MQTT_PREFIX</c> →
/// <c>NrpHost:Mqtt:Prefix</c>, <c>STORAGE_ADDRESS</c>/<c>STORAGE_PORT</c> → <c>NrpHost:Storage:ProxyUrl</c>
/// (<c>http://&lt;address&gt;:&lt;port&gt;/storage</c> as the reference composes its storage base — in the NRP deployment
/// that port is HAProxy, which strips <c>/storage</c> before the proxy; defaults <c>localhost</c>/<c>9000</c> for the
/// one not set). A key set
/// explicitly under <c>NrpHost:*</c> wins; unset variables map to nothing.
/// </summary>
internal static class ReferenceEnvironment
{
    public const string BrokerVariable = "NRP_MQTT_BROKER_ADDRESS";
    public const string PrefixVariable = "NRP_MQTT_PREFIX";
    public const string StorageAddressVariable = "STORAGE_ADDRESS";
    public const string StoragePortVariable = "STORAGE_PORT";

    /// <summary>The NrpHost settings the reference variables in <paramref name="configuration"/> stand for.</summary>
    public static Dictionary<string, string?> Map(IConfiguration configuration)
    {
        var mapped = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);

        // A broker address that does not parse is ignored, as the reference falls back to its default.
        if (configuration[BrokerVariable] is { Length: > 0 } broker && MqttOptions.IsValidBrokerAddress(broker))
        {
            AddIfUnset(configuration, mapped, "NrpHost:Mqtt:Broker", broker);
        }

        if (configuration[PrefixVariable] is { } prefix)
        {
            AddIfUnset(configuration, mapped, "NrpHost:Mqtt:Prefix", prefix);
        }

        var address = configuration[StorageAddressVariable];
        var port = configuration[StoragePortVariable];
        if (!string.IsNullOrEmpty(address) || !string.IsNullOrEmpty(port))
        {
            var url = string.Create(CultureInfo.InvariantCulture,
                $"http://{(string.IsNullOrEmpty(address) ? "localhost" : address)}:{(string.IsNullOrEmpty(port) ? "9000" : port)}/storage");
            AddIfUnset(configuration, mapped, "NrpHost:Storage:ProxyUrl", url);
        }

        return mapped;
    }

    private static void AddIfUnset(IConfiguration configuration, Dictionary<string, string?> mapped, string key, string value)
    {
        if (configuration[key] is null)
        {
            mapped[key] = value;
        }
    }
}
