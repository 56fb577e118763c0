using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NrpHost.DependencyInjection;
using NrpHost.Simulation;

namespace NrpHost.Tests.Infrastructure;

/// <summary>A NrpHost.Core service provider over a temporary storage root and work directory.</summary>
public sealed class CoreHost : IAsyncDisposable
{
    private readonly TempDirectory _temp = new("core");
    private readonly ServiceProvider _provider;

    public CoreHost(PythonFixture python, bool fakeClient = true, Action<Dictionary<string, string?>>? configure = null)
    {
        Python = python;
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
        var services = new ServiceCollection();
        services.AddSingleton(python.LoggerFactory);
        services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        services.AddNrpHost(configuration);
        _provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        Manager = _provider.GetRequiredService<ISimulationManager>();
    }

    public PythonFixture Python { get; }

    public string StorageRoot => _temp.Combine("experiments");

    public string WorkDirectory => _temp.Combine("work");

    public string Scratch => _temp.Path;

    public ISimulationManager Manager { get; }

    public IServiceProvider Services => _provider;

    public ExperimentBuilder Experiment(string name = "exp") => new(StorageRoot, name);

    public async Task<SimulationSnapshot> CreatePausedAsync(string experiment = "exp")
    {
        var result = await Manager.CreateAsync(new SimulationRequest(experiment));
        Assert.True(result.Status == CreateSimulationStatus.Created, $"create failed: {result.Status} {result.Message}");
        Assert.Equal(SimulationState.Paused, result.Simulation!.State);
        return result.Simulation;
    }

    public async Task<SimulationSnapshot> WaitForStateAsync(int id, SimulationState state, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (DateTime.UtcNow < deadline)
        {
            var snapshot = Manager.Find(id)!;
            if (snapshot.State == state)
            {
                return snapshot;
            }

            await Task.Delay(5);
        }

        throw new TimeoutException($"simulation {id} is {Manager.Find(id)?.State}, expected {state}");
    }

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
        await _provider.DisposeAsync();
        _temp.Dispose();
    }
}
