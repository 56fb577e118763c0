using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using NrpHost.Simulation;

namespace NrpHost.Benchmarks;

/// <summary>
/// How fast pause, resume and stop act on a running simulation (embedded runtime, one no-op engine). Each iteration
/// is one measured operation; setup (creating, starting, parking the script) is outside the measurement.
/// </summary>
[Config(typeof(LatencyConfig))]
public class ControlLatencyBenchmark
{
    private const string LoopScript = "while True:\n    nrp.run_loop()\n";
    private const string RunawayScript = "x = 0\nwhile True:\n    x += 1\n";
    private PythonHost.Host? _loop;
    private PythonHost.Host? _paced;
    private PythonHost.Host? _runaway;
    private int _id;

    [GlobalSetup]
    public void Setup()
    {
        _loop = new PythonHost.Host(LoopScript);
        _runaway = new PythonHost.Host(RunawayScript);

        // For resume: an engine whose step takes 5 ms without the CPU (as an engine waiting on a simulator would).
        // A CPU-bound script would compete with the measuring thread for the machine's two vCPUs and measure the
        // scheduler instead of the host.
        _paced = new PythonHost.Host(LoopScript, engine: """
            import time
            from nrp_core.engines.python_json import EngineScript

            class Script(EngineScript):
                def initialize(self):
                    pass

                def runLoop(self, timestep_ns):
                    time.sleep(0.005)

                def shutdown(self):
                    pass
            """);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _loop?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _paced?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _runaway?.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    // --- resume: from PUT started to the script leaving the pause gate ---------------------------------------------

    [IterationSetup(Target = nameof(Resume))]
    public void ParkForResume()
    {
        StopCurrent(_paced!);
        _id = _paced!.CreateAsync().GetAwaiter().GetResult();
        Request(_paced, SimulationState.Started);
        WaitFor(_paced, s => s.Clock.Iterations > 2);
        Request(_paced, SimulationState.Paused);
        Thread.Sleep(20); // the step in flight ends and the script parks at the gate
    }

    [Benchmark(Description = "resume: PUT started -> script leaves the gate")]
    public void Resume()
    {
        var manager = (SimulationManager)_paced!.Manager;
        var before = manager.ResumedAt(_id);
        Request(_paced, SimulationState.Started);
        while (manager.ResumedAt(_id) == before)
        {
            Thread.Yield();
        }
    }

    // --- pause: from PUT paused to the last step ----------------------------------------------------------------

    [IterationSetup(Target = nameof(Pause))]
    public void RunForPause()
    {
        StopCurrent(_loop!);
        _id = _loop!.CreateAsync().GetAwaiter().GetResult();
        Request(_loop, SimulationState.Started);
        WaitFor(_loop, s => s.Clock.Iterations > 10);
    }

    [Benchmark(Description = "pause: PUT paused returns")]
    public void Pause() => Request(_loop!, SimulationState.Paused);

    // --- stop ---------------------------------------------------------------------------------------------------

    [IterationSetup(Target = nameof(StopPausedNeverStarted))]
    public void CreateForStop()
    {
        StopCurrent(_loop!);
        _id = _loop!.CreateAsync().GetAwaiter().GetResult();
    }

    [Benchmark(Description = "stop: paused, never started")]
    public void StopPausedNeverStarted() => Request(_loop!, SimulationState.Stopped);

    [IterationSetup(Target = nameof(StopPausedAfterRunning))]
    public void RunThenPauseForStop()
    {
        StopCurrent(_loop!);
        _id = _loop!.CreateAsync().GetAwaiter().GetResult();
        Request(_loop, SimulationState.Started);
        WaitFor(_loop, s => s.Clock.Iterations > 10);
        Request(_loop, SimulationState.Paused);
    }

    [Benchmark(Description = "stop: paused after running")]
    public void StopPausedAfterRunning() => Request(_loop!, SimulationState.Stopped);

    [IterationSetup(Target = nameof(StopRunning))]
    public void RunForStop()
    {
        StopCurrent(_loop!);
        _id = _loop!.CreateAsync().GetAwaiter().GetResult();
        Request(_loop, SimulationState.Started);
        WaitFor(_loop, s => s.Clock.Iterations > 10);
    }

    [Benchmark(Description = "stop: running (step loop)")]
    public void StopRunning() => Request(_loop!, SimulationState.Stopped);

    [IterationSetup(Target = nameof(StopRunaway))]
    public void RunRunaway()
    {
        StopCurrent(_runaway!);
        _id = _runaway!.CreateAsync().GetAwaiter().GetResult();
        Request(_runaway, SimulationState.Started);
        Thread.Sleep(20);
    }

    [Benchmark(Description = "stop: runaway script (never calls run_loop)")]
    public void StopRunaway() => Request(_runaway!, SimulationState.Stopped);

    private void StopCurrent(PythonHost.Host host)
    {
        foreach (var s in host.Manager.List().Where(s => !s.State.IsFinal()))
        {
            host.Manager.RequestStateAsync(s.Id, SimulationState.Stopped).GetAwaiter().GetResult();
        }
    }

    private void Request(PythonHost.Host host, SimulationState state)
    {
        var result = host.Manager.RequestStateAsync(_id, state).GetAwaiter().GetResult();
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"{state}: {result.Status} {result.Message}");
        }
    }

    private void WaitFor(PythonHost.Host host, Func<SimulationSnapshot, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition(host.Manager.Find(_id)!))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"simulation {_id}: {host.Manager.Find(_id)}");
            }

            Thread.Sleep(1);
        }
    }
}

/// <summary>
/// Latency benchmarks: in this process (CPython is initialised once per process), one operation per iteration,
/// with the median, 95th and 99th percentiles and the maximum.
/// </summary>
public sealed class LatencyConfig : BenchmarkDotNet.Configs.ManualConfig
{
    public LatencyConfig()
    {
        AddJob(Job.Default
            .WithToolchain(BenchmarkDotNet.Toolchains.InProcess.Emit.InProcessEmitToolchain.Instance)
            .WithStrategy(RunStrategy.Monitoring)
            .WithWarmupCount(3)
            .WithIterationCount(100)
            .WithInvocationCount(1)
            .WithUnrollFactor(1));
        AddColumn(BenchmarkDotNet.Columns.StatisticColumn.Median, BenchmarkDotNet.Columns.StatisticColumn.P95, new P99Column(), BenchmarkDotNet.Columns.StatisticColumn.Max);
    }
}
