using System.Net;
using Microsoft.Extensions.Options;

namespace NrpHost.Messaging;

/// <summary>Checks <see cref="MqttOptions"/> when MQTT status publishing is used.</summary>
internal sealed class MqttOptionsValidator : IValidateOptions<MqttOptions>
{
    public ValidateOptionsResult Validate(string? name, MqttOptions options)
    {
        var failures = new List<string>();
        if (!string.IsNullOrWhiteSpace(options.Broker))
        {
            if (!MqttBrokerAddress.TryParse(options.Broker, out _))
            {
                failures.Add($"NrpHost:Mqtt:Broker (NRP_MQTT_BROKER_ADDRESS) '{options.Broker}' must be host:port, for example localhost:1883.");
            }
        }
        else
        {
            if (options.EmbeddedPort is < 1 or > 65535)
            {
                failures.Add($"NrpHost:Mqtt:EmbeddedPort {options.EmbeddedPort} must be a TCP port (1-65535) for the embedded broker.");
            }

            if (!string.IsNullOrWhiteSpace(options.EmbeddedBindAddress)
                && !string.Equals(options.EmbeddedBindAddress, "localhost", StringComparison.OrdinalIgnoreCase)
                && !IPAddress.TryParse(options.EmbeddedBindAddress, out _))
            {
                failures.Add($"NrpHost:Mqtt:EmbeddedBindAddress '{options.EmbeddedBindAddress}' must be an IP address (or localhost).");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
