using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NrpHost.DependencyInjection;
using NrpHost.Simulation;

namespace NrpHost.Tests.Infrastructure;

/// <summary>
/// A NrpHost.Core service provider over a temporary storage root and work directory, logging into a log of its own (so
/// hosts of tests that run at the same time never see each other's lines). A test whose simulations run in this process
/// belongs to <see cref="PythonCollection"/>, which runs one test at a time; one whose simulations run in worker
/// processes need not.
/// </summary>
public sealed class CoreHost : IAsyncDisposable
{
    private readonly TempDirectory _temp = new("core");
    private readonly ILoggerFactory _loggerFactory;
    private readonly ServiceProvider _provider;
    private readonly List<IHostedService> _started = [];

    public CoreHost(
        bool fakeClient = true,
        Action<Dictionary<string, string?>>? configure = null,
        Action<INrpHostBuilder>? services = null)
    {
        _loggerFactory = LoggerFactory.Create(b => b.AddProvider(Logs).SetMinimumLevel(LogLevel.Trace));
        Directory.CreateDirectory(StorageRoot);
        var settings = new Dictionary<string, string?>
        {
            ["NrpHost:Storage:LocalRoot"] = StorageRoot,
            ["NrpHost:Simulation:WorkDirectory"] = WorkDirectory,

            // In worker processes: none started ahead (see ApiHost).
            ["NrpHost:Simulation:Worker:WarmSpare"] = "false",
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
        collection.AddSingleton(_loggerFactory);
        collection.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        var builder = collection.AddNrpHost(configuration);
        services?.Invoke(builder);
        _provider = collection.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        Manager = _provider.GetRequiredService<ISimulationManager>();
    }

    /// <summary>Everything this host logged (its simulations' Python output included).</summary>
    public CapturingLoggerProvider Logs { get; } = new();

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

    /// <summary>
    /// Waits (on the manager's events) until the simulation is in <paramref name="state"/>; fails when it ends elsewhere,
    /// or does not get there in time, with the host's last log lines.
    /// </summary>
    public async Task<SimulationSnapshot> WaitForStateAsync(int id, SimulationState state, TimeSpan? timeout = null)
    {
        SimulationSnapshot? snapshot;
        try
        {
            snapshot = await Manager.WaitForStateAsync(id, state, timeout ?? TimeSpan.FromSeconds(15));
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(ex.Message + "\nhost log:\n" + string.Join('\n', Logs.Entries.TakeLast(30)), ex);
        }

        Assert.True(snapshot?.State == state, $"simulation {id} is {snapshot?.State}, expected {state}\nhost log:\n" + string.Join('\n', Logs.Entries.TakeLast(30)));
        return snapshot!;
    }

    /// <summary>Log entries of this host's simulation <paramref name="id"/> (its own lines and its Python output).</summary>
    public Task<CapturingLoggerProvider.LogEntry> WaitForLogAsync(int id, Func<CapturingLoggerProvider.LogEntry, bool> predicate, TimeSpan? timeout = null) =>
        Logs.WaitForAsync(e => e.Concerns(id) && predicate(e), timeout);

    /// <summary>Waits until the simulation's snapshot (its clock: read on demand, it raises no event) satisfies <paramref name="condition"/>.</summary>
    public Task<SimulationSnapshot> WaitForAsync(int id, Func<SimulationSnapshot, bool> condition, TimeSpan? timeout = null) =>
        Eventually.ValueAsync(
            () => Task.FromResult(Manager.Find(id) is { } snapshot && condition(snapshot) ? snapshot : null),
            () => $"condition not met; simulation {id} is {Manager.Find(id)}",
            timeout ?? TimeSpan.FromSeconds(15));

    public async ValueTask DisposeAsync()
    {
        for (var i = _started.Count - 1; i >= 0; i--)
        {
            await _started[i].StopAsync(CancellationToken.None);
        }

        await _provider.DisposeAsync();
        _loggerFactory.Dispose();
        _temp.Dispose();
    }
}
