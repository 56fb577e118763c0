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
        _paced!.StopAll();
        _id = _paced!.CreateAsync().GetAwaiter().GetResult();
        _paced!.Request(_id, SimulationState.Started);
        _paced!.WaitFor(_id, s => s.Clock.Iterations > 2);
        _paced!.Request(_id, SimulationState.Paused);
        Thread.Sleep(20); // the step in flight ends and the script parks at the gate
    }

    [Benchmark(Description = "resume: PUT started -> script leaves the gate")]
    public void Resume()
    {
        var manager = (SimulationManager)_paced!.Manager;
        var before = manager.ResumedAt(_id);
        _paced!.Request(_id, SimulationState.Started);
        while (manager.ResumedAt(_id) == before)
        {
            Thread.Yield();
        }
    }

    // --- pause: from PUT paused to the last step ----------------------------------------------------------------

    [IterationSetup(Target = nameof(Pause))]
    public void RunForPause()
    {
        _loop!.StopAll();
        _id = _loop!.CreateAsync().GetAwaiter().GetResult();
        _loop!.Request(_id, SimulationState.Started);
        _loop!.WaitFor(_id, s => s.Clock.Iterations > 10);
    }

    [Benchmark(Description = "pause: PUT paused returns")]
    public void Pause() => _loop!.Request(_id, SimulationState.Paused);

    // --- stop ---------------------------------------------------------------------------------------------------

    [IterationSetup(Target = nameof(StopPausedNeverStarted))]
    public void CreateForStop()
    {
        _loop!.StopAll();
        _id = _loop!.CreateAsync().GetAwaiter().GetResult();
    }

    [Benchmark(Description = "stop: paused, never started")]
    public void StopPausedNeverStarted() => _loop!.Request(_id, SimulationState.Stopped);

    [IterationSetup(Target = nameof(StopPausedAfterRunning))]
    public void RunThenPauseForStop()
    {
        _loop!.StopAll();
        _id = _loop!.CreateAsync().GetAwaiter().GetResult();
        _loop!.Request(_id, SimulationState.Started);
        _loop!.WaitFor(_id, s => s.Clock.Iterations > 10);
        _loop!.Request(_id, SimulationState.Paused);
    }

    [Benchmark(Description = "stop: paused after running")]
    public void StopPausedAfterRunning() => _loop!.Request(_id, SimulationState.Stopped);

    [IterationSetup(Target = nameof(StopRunning))]
    public void RunForStop()
    {
        _loop!.StopAll();
        _id = _loop!.CreateAsync().GetAwaiter().GetResult();
        _loop!.Request(_id, SimulationState.Started);
        _loop!.WaitFor(_id, s => s.Clock.Iterations > 10);
    }

    [Benchmark(Description = "stop: running (step loop)")]
    public void StopRunning() => _loop!.Request(_id, SimulationState.Stopped);

    [IterationSetup(Target = nameof(StopRunaway))]
    public void RunRunaway()
    {
        _runaway!.StopAll();
        _id = _runaway!.CreateAsync().GetAwaiter().GetResult();
        _runaway!.Request(_id, SimulationState.Started);
        Thread.Sleep(20);
    }

    [Benchmark(Description = "stop: runaway script (never calls run_loop)")]
    public void StopRunaway() => _runaway!.Request(_id, SimulationState.Stopped);

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
