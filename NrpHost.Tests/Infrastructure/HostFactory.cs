using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NrpHost.DependencyInjection;
using NrpHost.Simulation;

namespace NrpHost.Tests.Infrastructure;

/// <summary>A NrpHost.Core service provider over a temporary storage root and work directory.</summary>
public sealed class CoreHost : IAsyncDisposable
{
    private readonly TempDirectory _temp = new("core");
    private readonly ServiceProvider _provider;
    private readonly List<IHostedService> _started = [];
    private readonly int _logMark;

    public CoreHost(
        PythonFixture python,
        bool fakeClient = true,
        Action<Dictionary<string, string?>>? configure = null,
        Action<INrpHostBuilder>? services = null)
    {
        Python = python;
        _logMark = python.Logs.Mark;
        Directory.CreateDirectory(StorageRoot);
        var settings = new Dictionary<string, string?>
        {
            ["NrpHost:Storage:LocalRoot"] = StorageRoot,
            ["NrpHost:Simulation:WorkDirectory"] = WorkDirectory,
        };
        if (fakeClient)
        {
            settings["NrpHost:NrpCore:Mode"] = "External";
            settings["NrpHost:NrpCore:Client"] = "fake_nrp_client:NrpCore";
            settings["NrpHost:NrpCore:PythonPath:0"] = Path.Combine(AppContext.BaseDirectory, "Simulation", "python");
        }

        configure?.Invoke(settings);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var collection = new ServiceCollection();
        collection.AddSingleton(python.LoggerFactory);
        collection.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        var builder = collection.AddNrpHost(configuration);
        services?.Invoke(builder);
        _provider = collection.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        Manager = _provider.GetRequiredService<ISimulationManager>();
    }

    public PythonFixture Python { get; }

    public string StorageRoot => _temp.Combine("experiments");

    public string WorkDirectory => _temp.Combine("work");

    public string Scratch => _temp.Path;

    /// <summary>The host id the options resolved (<c>NrpHost:HostId</c> made safe, or the machine name).</summary>
    public string HostId => _provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<global::NrpHost.Hosting.HostIdentityOptions>>().Value.HostId!;

    public ISimulationManager Manager { get; }

    public IServiceProvider Services => _provider;

    /// <summary>Starts the registered hosted services (as a Host would); they are stopped on dispose.</summary>
    public async Task StartHostedServicesAsync()
    {
        foreach (var service in _provider.GetServices<IHostedService>())
        {
            await service.StartAsync(CancellationToken.None);
            _started.Add(service);
        }
    }

    public ExperimentBuilder Experiment(string name = "exp") => new(StorageRoot, name);

    public async Task<SimulationSnapshot> CreatePausedAsync(string experiment = "exp")
    {
        var result = await Manager.CreateAsync(new SimulationRequest(experiment));
        Assert.True(result.Status == CreateSimulationStatus.Ready, $"create failed: {result.Status} {result.Message}");
        Assert.Equal(SimulationState.Paused, result.Simulation!.State);
        return result.Simulation;
    }

    /// <summary>Waits (on the manager's events) until the simulation is in <paramref name="state"/>; fails when it ends elsewhere.</summary>
    public async Task<SimulationSnapshot> WaitForStateAsync(int id, SimulationState state, TimeSpan? timeout = null)
    {
        var snapshot = await Manager.WaitForStateAsync(id, state, timeout ?? TimeSpan.FromSeconds(15));
        Assert.True(snapshot?.State == state, $"simulation {id} is {snapshot?.State}, expected {state}");
        return snapshot!;
    }

    /// <summary>Log entries of this host's simulation <paramref name="id"/> (its own lines and its Python output), since the host was made.</summary>
    public Task<CapturingLoggerProvider.LogEntry> WaitForLogAsync(int id, Func<CapturingLoggerProvider.LogEntry, bool> predicate, TimeSpan? timeout = null) =>
        Python.Logs.WaitForAsync(e => e.Concerns(id) && predicate(e), timeout, _logMark);

    public async Task<SimulationSnapshot> WaitForAsync(int id, Func<SimulationSnapshot, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (DateTime.UtcNow < deadline)
        {
            var snapshot = Manager.Find(id)!;
            if (condition(snapshot))
            {
                return snapshot;
            }

            await Task.Delay(5);
        }

        throw new TimeoutException($"condition not met; simulation {id} is {Manager.Find(id)}");
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _started.Count - 1; i >= 0; i--)
        {
            await _started[i].StopAsync(CancellationToken.None);
        }

        await _provider.DisposeAsync();
        _temp.Dispose();
    }
}
