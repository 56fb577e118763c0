using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NrpHost.DependencyInjection;
using NrpHost.Simulation;

namespace NrpHost.Benchmarks.Storage;

/// <summary>
/// A whole <c>CreateAsync</c> (what <c>POST /simulation</c> does) against a proxy that hangs on every call: how long
/// until it fails cleanly with <see cref="SimulationFault.StorageUnavailable"/> (configured timeout 2 s).
/// </summary>
[Config(typeof(CreateBenchmarkConfig))]
public class CreateAgainstHungProxyBenchmark
{
    private HungProxy _proxy = null!;
    private ServiceProvider _provider = null!;
    private ISimulationManager _manager = null!;
    private string _work = null!;

    [GlobalSetup]
    public void Setup()
    {
        _proxy = new HungProxy();
        _work = Path.Combine(Path.GetTempPath(), "nrphost-bench-" + Guid.NewGuid().ToString("N")[..8]);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["NrpHost:Storage:ProxyUrl"] = _proxy.Url,
            ["NrpHost:Storage:TimeoutSeconds"] = "2",
            ["NrpHost:Storage:AttemptTimeoutSeconds"] = "1",
            ["NrpHost:Simulation:WorkDirectory"] = _work,
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Critical));
        services.AddNrpHost(configuration);
        _provider = services.BuildServiceProvider();
        _manager = _provider.GetRequiredService<ISimulationManager>();
    }

    [Benchmark]
    public async Task<SimulationFault?> CreateAgainstHungProxy()
    {
        var result = await _manager.CreateAsync(new SimulationRequest("exp_0") { Token = "token" });
        if (result.Status != CreateSimulationStatus.Failed || result.Fault != SimulationFault.StorageUnavailable)
        {
            throw new InvalidOperationException($"expected a StorageUnavailable failure, got {result.Status} {result.Fault}: {result.Message}");
        }

        return result.Fault;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _provider.Dispose();
        _proxy.Dispose();
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
