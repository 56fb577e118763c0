using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Microsoft.Extensions.DependencyInjection;
using NrpHost.Simulation;

namespace NrpHost.Benchmarks.Storage;

/// <summary>
/// The NRP Storage Proxy hangs on every call. <see cref="List"/> is what <c>GET /simulation</c> does: one call per
/// iteration (so the percentiles are per call), either with no creation in flight or while a <c>CreateAsync</c> is
/// blocked staging from the hung proxy. <see cref="CreateAgainstHungProxy"/> is a whole <c>POST /simulation</c>: it
/// must fail with <see cref="SimulationFault.StorageUnavailable"/> once the configured timeout has passed.
/// </summary>
[Config(typeof(StorageBenchmarkConfig))]
public class HungProxyBenchmark
{
    /// <summary>The proxy timeout of this run (NrpHost:Storage:TimeoutSeconds).</summary>
    public const double TimeoutSeconds = 2;

    private HungProxy _proxy = null!;
    private ServiceProvider _provider = null!;
    private ISimulationManager _manager = null!;
    private CancellationTokenSource _stopCreating = null!;
    private Task _creating = Task.CompletedTask;
    private string _work = null!;

    /// <summary>Whether a CreateAsync against the hung proxy is in flight during the List calls.</summary>
    [Params(false, true)]
    public bool CreateInFlight { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _proxy = new HungProxy();
        _work = Path.Combine(Path.GetTempPath(), "nrphost-bench-" + Guid.NewGuid().ToString("N")[..8]);
        _provider = _proxy.BuildServices(_work, TimeoutSeconds);
        _manager = _provider.GetRequiredService<ISimulationManager>();
        _stopCreating = new CancellationTokenSource();
        if (CreateInFlight)
        {
            _creating = Task.Run(KeepCreatingAsync);
            SpinWait.SpinUntil(() => _manager.List().Count > 0, TimeSpan.FromSeconds(10));
        }
    }

    private async Task KeepCreatingAsync()
    {
        while (!_stopCreating.IsCancellationRequested)
        {
            await _manager.CreateAsync(new SimulationRequest("exp_0") { Token = "token" });
        }
    }

    [Benchmark]
    public int List() => _manager.List().Count;

    [GlobalCleanup]
    public void Cleanup()
    {
        _stopCreating.Cancel();
        _creating.Wait(TimeSpan.FromSeconds(TimeoutSeconds * 3));
        _provider.Dispose();
        _proxy.Dispose();
        _stopCreating.Dispose();
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
