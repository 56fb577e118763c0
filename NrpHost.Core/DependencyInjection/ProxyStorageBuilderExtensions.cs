using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using NrpHost.DependencyInjection;
using NrpHost.Storage;
using Refit;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the NRP Storage Proxy as experiment storage and user directory.</summary>
public static class ProxyStorageBuilderExtensions
{
    /// <summary>
    /// Uses the NRP Storage Proxy at <see cref="ProxyStorageOptions.ProxyUrl"/> (<c>NrpHost:Storage:ProxyUrl</c>)
    /// instead of the local experiments folder: staging, log upload, token identity and view checks. Every call has a
    /// total timeout and idempotent reads are retried (<see cref="ProxyStorageOptions"/>). The local storage and user
    /// directory registered by <c>AddNrpHost</c> are replaced; an application's own registrations are kept.
    /// <c>AddNrpHost</c> calls this by itself when the configuration has a <c>ProxyUrl</c>.
    /// </summary>
    public static INrpHostBuilder AddProxyStorage(this INrpHostBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(StorageProxyClient)))
        {
            return builder;
        }

        services.AddOptions<ProxyStorageOptions>()
            .Validate(o => o.IsProxyConfigured, "NrpHost:Storage:ProxyUrl must be set to use the NRP Storage Proxy (e.g. http://localhost:9000/storage).")
            .ValidateOnStart();

        services.AddRefitGeneratedClient<IStorageProxyApi>(new RefitSettings(), StorageProxyClient.HttpClientName)
            .ConfigureHttpClient((sp, client) =>
            {
                var options = sp.GetRequiredService<IOptions<ProxyStorageOptions>>().Value;
                client.BaseAddress = ProxyStorageOptions.TryGetBaseUri(options.ProxyUrl);

                // The resilience handler owns timeouts; this only catches what it cannot (a body read on its own).
                client.Timeout = TimeSpan.FromSeconds(options.TimeoutSeconds) + TimeSpan.FromSeconds(5);
            })
            .AddStandardResilienceHandler()
            .Configure((resilience, sp) => ConfigureResilience(resilience, sp.GetRequiredService<IOptions<ProxyStorageOptions>>().Value));

        services.TryAddSingleton<StorageProxyClient>();
        services.TryAddSingleton<ProxyExperimentStorage>();
        services.TryAddSingleton<ProxyUserDirectory>();
        ReplaceLocal<IExperimentStorage, LocalExperimentStorage>(services, sp => sp.GetRequiredService<ProxyExperimentStorage>());
        ReplaceLocal<IUserDirectory, LocalUserDirectory>(services, sp => sp.GetRequiredService<ProxyUserDirectory>());
        return builder;
    }

    private static void ConfigureResilience(HttpStandardResilienceOptions resilience, ProxyStorageOptions options)
    {
        var total = TimeSpan.FromSeconds(options.TimeoutSeconds);
        var attempt = TimeSpan.FromSeconds(Math.Min(options.AttemptTimeoutSeconds, options.TimeoutSeconds));
        resilience.TotalRequestTimeout.Timeout = total;
        resilience.AttemptTimeout.Timeout = attempt;
        resilience.Retry.MaxRetryAttempts = Math.Max(options.MaxRetries, 1);
        resilience.Retry.Delay = TimeSpan.FromMilliseconds(options.RetryDelayMilliseconds);
        resilience.Retry.UseJitter = true;
        if (options.MaxRetries == 0)
        {
            resilience.Retry.ShouldHandle = static _ => ValueTask.FromResult(false);
        }

        // A POST (the log upload) is sent once: a retried upload could append or overwrite twice.
        resilience.Retry.DisableForUnsafeHttpMethods();

        // The breaker's window must be at least twice an attempt; it opens only under sustained failure.
        var sampling = TimeSpan.FromTicks(Math.Max(attempt.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
        resilience.CircuitBreaker.SamplingDuration = sampling;
    }

    /// <summary>Swaps the registration AddNrpHost made (the local implementation) for the proxy one; keeps others.</summary>
    private static void ReplaceLocal<TService, TLocal>(IServiceCollection services, Func<IServiceProvider, TService> factory)
        where TService : class
    {
        services.RemoveAll<TService>(d => d.ImplementationType == typeof(TLocal));
        services.TryAddSingleton(factory);
    }

    private static void RemoveAll<TService>(this IServiceCollection services, Func<ServiceDescriptor, bool> match)
    {
        for (var i = services.Count - 1; i >= 0; i--)
        {
            if (services[i].ServiceType == typeof(TService) && match(services[i]))
            {
                services.RemoveAt(i);
            }
        }
    }
}
