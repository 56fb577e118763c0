using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using NrpHost.DependencyInjection;
using NrpHost.Hosting;
using NrpHost.Messaging;
using NrpHost.NrpCore;
using NrpHost.Python;
using NrpHost.Simulation;
using NrpHost.Storage;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers NrpHost.Core in a service collection.</summary>
public static class NrpHostServiceCollectionExtensions
{
    /// <summary>
    /// Adds the embedded Python runtime and the simulation manager with every option at its default (experiments from
    /// the local <c>experiments/</c> folder, the embedded nrp-core runtime). Logging must be registered by the host.
    /// </summary>
    public static INrpHostBuilder AddNrpHost(this IServiceCollection services) => services.AddNrpHost(configuration: null);

    /// <summary>
    /// Adds the embedded Python runtime and the simulation manager. Options are bound from
    /// <paramref name="configuration"/> (sections <c>NrpHost:*</c>) when it is given. Registrations use
    /// <c>TryAdd</c>, so the application's own registrations win. Logging must be registered by the host
    /// (any <c>Host</c> builder does; otherwise call <c>services.AddLogging()</c>).
    /// </summary>
    public static INrpHostBuilder AddNrpHost(this IServiceCollection services, IConfiguration? configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        var python = services.AddOptions<PythonOptions>().ValidateDataAnnotations().ValidateOnStart();
        if (configuration is not null)
        {
            python.Bind(configuration.GetSection(PythonOptions.SectionName));
        }

        Bind<SimulationOptions>(services, configuration, SimulationOptions.SectionName);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SimulationOptions>, SimulationOptionsValidator>());
        Bind<NrpCoreOptions>(services, configuration, NrpCoreOptions.SectionName);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<NrpCoreOptions>, NrpCoreOptionsValidator>());
        Bind<LocalStorageOptions>(services, configuration, LocalStorageOptions.SectionName);
        Bind<ProxyStorageOptions>(services, configuration, ProxyStorageOptions.SectionName);
        Bind<MqttOptions>(services, configuration, MqttOptions.SectionName);
        Bind<HostIdentityOptions>(services, configuration, HostIdentityOptions.SectionName);

        // The host id, resolved once: the configured one (or the machine name) made safe for topics and file names.
        services.PostConfigure<HostIdentityOptions>(host => host.HostId = HostIds.Resolve(host.HostId));

        // The topic prefix, resolved once for the publisher, the REST MQTTPrefix and nrp-core: when it is not set, the
        // host id with an external broker (which other hosts may share), none with the embedded broker.
        services.AddOptions<MqttOptions>().PostConfigure<IOptions<HostIdentityOptions>>(
            (mqtt, host) => mqtt.Prefix ??= string.IsNullOrWhiteSpace(mqtt.Broker) ? string.Empty : host.Value.HostId);

        // nrp-core's data-transfer engine publishes on the same broker and prefix as the status messages.
        services.AddSingleton<IPostConfigureOptions<NrpCoreOptions>>(sp => new PostConfigureOptions<NrpCoreOptions, IOptions<MqttOptions>>(
            Microsoft.Extensions.Options.Options.DefaultName,
            sp.GetRequiredService<IOptions<MqttOptions>>(),
            (nrpCore, mqtt) =>
            {
                if (string.IsNullOrEmpty(nrpCore.MqttPrefix))
                {
                    nrpCore.MqttPrefix = mqtt.Value.Prefix ?? string.Empty;
                }

                nrpCore.MqttBroker ??= mqtt.Value.Broker;
            }));

        var builder = new NrpHostBuilder(services, configuration);

        // A configured NRP Storage Proxy replaces the local experiments folder.
        if (!string.IsNullOrWhiteSpace(configuration?[ProxyStorageOptions.SectionName + ":" + nameof(ProxyStorageOptions.ProxyUrl)]))
        {
            builder.AddProxyStorage();
        }

        services.TryAddSingleton<PythonRuntime>();
        services.TryAddSingleton<IPythonRuntime>(sp => sp.GetRequiredService<PythonRuntime>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, PythonStartupService>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, SimulationShutdownService>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, SimulationRecoveryService>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, NrpHost.Isolation.WorkerPoolService>());
        services.TryAddSingleton<IExperimentStorage, LocalExperimentStorage>();
        services.TryAddSingleton<IUserDirectory, LocalUserDirectory>();
        services.TryAddSingleton<SimulationManager>();
        services.TryAddSingleton<ISimulationManager>(sp => sp.GetRequiredService<SimulationManager>());
        AddHealthChecks(services);
        return builder;
    }

    /// <summary>
    /// Adds NrpHost as <see cref="AddNrpHost(IServiceCollection, IConfiguration?)"/> does, with settings given in code
    /// instead of a configuration: <paramref name="configure"/> runs once, now, on an <see cref="NrpHostOptions"/>
    /// that holds every section's defaults, and what it leaves there are the options (validated at start-up as usual).
    /// A <see cref="ProxyStorageOptions.ProxyUrl"/> set there uses the NRP Storage Proxy. To combine configuration and
    /// code, call the configuration overload and then <c>services.Configure&lt;SimulationOptions&gt;(…)</c>.
    /// </summary>
    /// <example>
    /// <code>
    /// services.AddNrpHost(options =>
    /// {
    ///     options.LocalStorage.LocalRoot = "/srv/experiments";
    ///     options.Simulation.MaxActiveSimulations = 2;
    /// }).AddMqttStatus();
    /// </code>
    /// </example>
    public static INrpHostBuilder AddNrpHost(this IServiceCollection services, Action<NrpHostOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new NrpHostOptions();
        configure(options);
        var builder = services.AddNrpHost(configuration: null);
        services.Configure<PythonOptions>(o => NrpHostOptions.Copy(options.Python, o));
        services.Configure<SimulationOptions>(o => NrpHostOptions.Copy(options.Simulation, o));
        services.Configure<NrpCoreOptions>(o => NrpHostOptions.Copy(options.NrpCore, o));
        services.Configure<LocalStorageOptions>(o => NrpHostOptions.Copy(options.LocalStorage, o));
        services.Configure<ProxyStorageOptions>(o => NrpHostOptions.Copy(options.ProxyStorage, o));
        services.Configure<MqttOptions>(o => NrpHostOptions.Copy(options.Mqtt, o));
        services.Configure<HostIdentityOptions>(o => o.HostId = options.HostId);
        if (options.ProxyStorage.IsProxyConfigured)
        {
            builder.AddProxyStorage();
        }

        return builder;
    }

    /// <summary>The parts' health checks (<c>python</c>, <c>simulations</c>, <c>storage</c>), once.</summary>
    private static void AddHealthChecks(IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(HealthCheckMarker)))
        {
            return;
        }

        services.AddSingleton<HealthCheckMarker>();
        services.AddHealthChecks()
            .AddCheck<PythonHealthCheck>("python")
            .Add(new HealthCheckRegistration("simulations", sp => new SimulationHealthCheck(sp.GetRequiredService<SimulationManager>()), null, null))
            .AddCheck<StorageHealthCheck>("storage");
    }

    private sealed class HealthCheckMarker;

    private static void Bind<TOptions>(IServiceCollection services, IConfiguration? configuration, string section)
        where TOptions : class
    {
        var builder = services.AddOptions<TOptions>().ValidateDataAnnotations().ValidateOnStart();
        if (configuration is not null)
        {
            builder.Bind(configuration.GetSection(section));
        }
    }
}
