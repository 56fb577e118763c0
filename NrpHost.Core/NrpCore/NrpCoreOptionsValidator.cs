using Microsoft.Extensions.Options;
using NrpHost.Messaging;

namespace NrpHost.NrpCore;

/// <summary>Checks <see cref="NrpCoreOptions"/> at start-up, so a broker nrp-core cannot use is an error, not silently left out.</summary>
internal sealed class NrpCoreOptionsValidator : IValidateOptions<NrpCoreOptions>
{
    public ValidateOptionsResult Validate(string? name, NrpCoreOptions options) =>
        string.IsNullOrWhiteSpace(options.MqttBroker) || MqttBrokerAddress.TryParse(options.MqttBroker, out _)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                $"NrpHost:NrpCore:MqttBroker '{options.MqttBroker}' must be host:port, [IPv6]:port or a host name (port 1883), for example localhost:1883.");
}
