using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
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
        _provider = _proxy.BuildServices(_work, 2);
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
