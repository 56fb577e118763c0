using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Jobs;
using NrpHost.Isolation;
using NrpHost.Simulation;

namespace NrpHost.Benchmarks;

/// <summary>
/// What a worker process per simulation costs against the in-process runner in controlling it: creating (POST →
/// paused, with the warm spare), resuming (PUT started → the script's next step), pausing and stopping, measured the
/// same way in both modes. The step itself: <see cref="IsolationStepBenchmark"/>.
/// </summary>
[Config(typeof(LatencyConfig))]
public class IsolationBenchmark
{
    /// <summary>Writes one byte to <c>resume.fifo</c> at the first step after a pause (a gap of over 50 ms), so the resume is seen at once in either mode.</summary>
    private const string ResumeScript = """
        import os, time
        fd = os.open("resume.fifo", os.O_WRONLY)
        last = time.monotonic()
        while True:
            nrp.run_loop()
            now = time.monotonic()
            if now - last > 0.05:
                os.write(fd, b"x")
            last = now
            time.sleep(0.001)
        """;

    private const string LoopScript = """
        import time
        while True:
            nrp.run_loop()
            time.sleep(0.001)
        """;

    private PythonHost.Host? _control;
    private PythonHost.Host? _loop;
    private FileStream? _fifo;
    private int _id;

    [Params(SimulationIsolation.InProcess, SimulationIsolation.Process)]
    public SimulationIsolation Isolation { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _control = new PythonHost.Host(ResumeScript, isolation: Isolation);
        _loop = new PythonHost.Host(LoopScript, isolation: Isolation);
        _control.WarmUp();
        _loop.WarmUp();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _fifo?.Dispose();
        _control?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _loop?.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    // --- create ---------------------------------------------------------------------------------------------------

    [IterationSetup(Target = nameof(Create))]
    public void ReadyToCreate()
    {
        _control!.StopAll();
        _control!.WaitForSpare();
    }

    [Benchmark(Description = "create: POST -> paused")]
    public void Create() => _id = _control!.CreateAsync().GetAwaiter().GetResult();

    // --- resume ---------------------------------------------------------------------------------------------------

    [IterationSetup(Target = nameof(Resume))]
    public void ParkForResume()
    {
        if (_fifo is not null && _control!.Manager.Find(_id)?.State is SimulationState.Started)
        {
            _control!.Request(_id, SimulationState.Paused);
        }
        else
        {
            _control!.StopAll();
            _control!.WaitForSpare();
            _id = _control.CreateAsync().GetAwaiter().GetResult();
            _control.WaitForSpare(); // the next spare starting does not share the machine with the measurement
            var fifo = Path.Combine(((SimulationManager)_control.Manager).DirectoryOf(_id)!, "resume.fifo");
            if (!File.Exists(fifo))
            {
                System.Diagnostics.Process.Start("mkfifo", [fifo])!.WaitForExit();
            }

            _fifo?.Dispose();
            _fifo = new FileStream(fifo, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1);
            _control!.Request(_id, SimulationState.Started);
            _control!.WaitFor(_id, s => s.Clock.Iterations > 5);
            _control!.Request(_id, SimulationState.Paused);
        }

        // The script parks at its next run_loop; the pause lasts long enough for its next step to write its byte.
        Thread.Sleep(100);
    }

    [Benchmark(Description = "resume: PUT started -> the script's next step")]
    public void Resume()
    {
        _control!.Request(_id, SimulationState.Started);
        _fifo!.ReadByte();
    }

    // --- pause and stop -------------------------------------------------------------------------------------------

    [IterationSetup(Targets = [nameof(Pause), nameof(StopRunning)])]
    public void Run()
    {
        _loop!.StopAll();
        _loop!.WaitForSpare();
        _id = _loop.CreateAsync().GetAwaiter().GetResult();
        _loop.WaitForSpare(); // the next spare starting does not share the machine with the measurement
        _loop!.Request(_id, SimulationState.Started);
        _loop!.WaitFor(_id, s => s.Clock.Iterations > 5);
    }

    [Benchmark(Description = "pause: PUT paused returns")]
    public void Pause() => _loop!.Request(_id, SimulationState.Paused);

    [Benchmark(Description = "stop: PUT stopped while running, returns")]
    public void StopRunning() => _loop!.Request(_id, SimulationState.Stopped);

}

/// <summary>
/// The step inside the simulation's process against in-process: an <c>nrp.run_loop()</c> of one no-op engine, and an FTI
/// cycle of the two-engine exchange. Each iteration runs a fresh simulation for 100,000 steps, from PUT started to
/// completed, so its fixed costs (the start, the completion) add well under a nanosecond per step.
/// </summary>
[Config(typeof(StepConfig))]
public class IsolationStepBenchmark
{
    /// <summary>Steps per measured run.</summary>
    private const int Steps = 100_000;

    private const string StepScript = """
        try:
            while True:
                nrp.run_loop()
        except NRPSimulationTimeout:
            pass
        """;

    private PythonHost.Host? _noOp;
    private PythonHost.Host? _exchange;
    private int _id;

    [Params(SimulationIsolation.InProcess, SimulationIsolation.Process)]
    public SimulationIsolation Isolation { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _noOp = new PythonHost.Host(StepScript, timeout: Steps * 0.01, isolation: Isolation);
        _exchange = new PythonHost.Host(StepScript, timeout: Steps * 0.01, isolation: Isolation, exchange: true);
        _noOp.WarmUp();
        _exchange.WarmUp();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _noOp?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _exchange?.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    // --- steps ----------------------------------------------------------------------------------------------------

    [IterationSetup(Target = nameof(NoOpStep))]
    public void CreateNoOp() => _id = Fresh(_noOp!);

    [Benchmark(OperationsPerInvoke = Steps, Description = "step: nrp.run_loop(), one no-op engine")]
    public void NoOpStep() => RunToCompletion(_noOp!);

    [IterationSetup(Target = nameof(ExchangeStep))]
    public void CreateExchange() => _id = Fresh(_exchange!);

    [Benchmark(OperationsPerInvoke = Steps, Description = "step: nrp.run_loop(), FTI cycle of two engines and a function")]
    public void ExchangeStep() => RunToCompletion(_exchange!);

    private void RunToCompletion(PythonHost.Host host)
    {
        var completed = host.Manager.WaitForStateAsync(_id, SimulationState.Completed, TimeSpan.FromMinutes(2));
        host.Request(_id, SimulationState.Started);
        if (completed.GetAwaiter().GetResult()?.State != SimulationState.Completed)
        {
            throw new InvalidOperationException($"simulation {_id} did not complete: {host.Manager.Find(_id)}");
        }
    }

    private static int Fresh(PythonHost.Host host)
    {
        host.StopAll();
        host.WaitForSpare();
        var id = host.CreateAsync().GetAwaiter().GetResult();
        host.WaitForSpare(); // the next spare starting does not share the machine with the measurement

        // Nor the last simulation's process ending, nor the runtime of a just-started one compiling its hot methods again.
        Thread.Sleep(1000);
        return id;
    }
}

/// <summary>As <see cref="LatencyConfig"/>, with fewer iterations: each one runs a whole simulation.</summary>
public sealed class StepConfig : BenchmarkDotNet.Configs.ManualConfig
{
    public StepConfig()
    {
        AddJob(BenchmarkDotNet.Jobs.Job.Default
            .WithToolchain(BenchmarkDotNet.Toolchains.InProcess.Emit.InProcessEmitToolchain.Instance)
            .WithStrategy(BenchmarkDotNet.Engines.RunStrategy.Monitoring)
            .WithWarmupCount(2)
            .WithIterationCount(20)
            .WithInvocationCount(1)
            .WithUnrollFactor(1));
        AddColumn(BenchmarkDotNet.Columns.StatisticColumn.Median, BenchmarkDotNet.Columns.StatisticColumn.Max);
    }
}
