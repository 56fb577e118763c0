using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NrpHost.DependencyInjection;
using NrpHost.Messaging;
using NrpHost.NrpCore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds MQTT status publishing to NrpHost.</summary>
public static class MqttStatusBuilderExtensions
{
    /// <summary>
    /// Publishes every simulation's <c>status</c> and <c>runtime_error</c> messages for the NRP Frontend over MQTT
    /// (options <c>NrpHost:Mqtt</c>). Without <c>NrpHost:Mqtt:Broker</c> an embedded broker is started with the host
    /// (TCP on <c>EmbeddedPort</c>), and nrp-core's data-transfer engine is pointed at it. The publisher and broker are
    /// <see cref="IHostedService"/>s; <see cref="IMessagingHealth"/> tells whether the publisher is connected, and the
    /// health check <c>mqtt</c> (<see cref="MqttHealthCheck"/>) reports it.
    /// </summary>
    public static INrpHostBuilder AddMqttStatus(this INrpHostBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MqttOptions>, MqttOptionsValidator>());
        services.TryAddSingleton<MqttPublisherIdentity>();
        services.TryAddSingleton<DataTransferRelay>();
        services.TryAddSingleton<EmbeddedMqttBroker>();
        services.TryAddSingleton<MqttStatusPublisher>();
        services.TryAddSingleton<IMessagingHealth>(sp => sp.GetRequiredService<MqttStatusPublisher>());
        if (!services.Any(d => d.ServiceType == typeof(MqttHealthCheck)))
        {
            services.AddSingleton<MqttHealthCheck>();
            services.AddHealthChecks().AddCheck<MqttHealthCheck>("mqtt");
        }

        // The broker first: hosts start services in registration order (and stop them in reverse).
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, EmbeddedMqttBroker>(sp => sp.GetRequiredService<EmbeddedMqttBroker>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, MqttStatusPublisher>(sp => sp.GetRequiredService<MqttStatusPublisher>()));

        // nrp-core's data-transfer engine publishes on the embedded broker when no external one is configured.
        services.AddOptions<NrpCoreOptions>().PostConfigure<IOptions<MqttOptions>>((nrpCore, mqtt) =>
        {
            if (string.IsNullOrWhiteSpace(nrpCore.MqttBroker) && string.IsNullOrWhiteSpace(mqtt.Value.Broker)
                && MqttBrokerAddress.TryParse(MqttBrokerAddress.From(mqtt.Value).ToString(), out var embedded))
            {
                nrpCore.MqttBroker = embedded.ToString();
            }
        });
        return builder;
    }
}
