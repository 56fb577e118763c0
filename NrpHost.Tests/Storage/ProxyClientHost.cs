using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NrpHost.Storage;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Storage;

/// <summary>A Core service provider configured with <c>NrpHost:Storage:ProxyUrl</c>, for storage tests without Python.</summary>
internal sealed class ProxyClientHost : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    public ProxyClientHost(string proxyUrl, Action<Dictionary<string, string?>>? configure = null)
    {
        Logs = new CapturingLoggerProvider();
        var settings = new Dictionary<string, string?>
        {
            ["NrpHost:Storage:ProxyUrl"] = proxyUrl,
            ["NrpHost:Storage:TimeoutSeconds"] = "5",
            ["NrpHost:Storage:AttemptTimeoutSeconds"] = "2",
            ["NrpHost:Storage:RetryDelayMilliseconds"] = "10",
        };
        configure?.Invoke(settings);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(Logs).SetMinimumLevel(LogLevel.Debug));
        services.AddNrpHost(configuration);
        _provider = services.BuildServiceProvider();
    }

    public CapturingLoggerProvider Logs { get; }

    public IServiceProvider Services => _provider;

    public IExperimentStorage Storage => _provider.GetRequiredService<IExperimentStorage>();

    public IUserDirectory Users => _provider.GetRequiredService<IUserDirectory>();

    /// <summary>A user directory over the same proxy client, with its own clock for the caches.</summary>
    public IUserDirectory UsersWithClock(TimeProvider time) =>
        new ProxyUserDirectory(_provider.GetRequiredService<StorageProxyClient>(), time, _provider.GetRequiredService<ILoggerFactory>());

    public ValueTask DisposeAsync() => _provider.DisposeAsync();
}
