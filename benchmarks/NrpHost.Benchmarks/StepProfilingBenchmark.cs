using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using NrpHost.Profiling;
using NrpHost.Simulation;
using Python.Runtime;

namespace NrpHost.Benchmarks;

/// <summary>
/// What step-latency profiling costs per step, in one run so that the machine's noise hits every figure alike:
/// <list type="bullet">
/// <item><c>nrp.run_loop()</c> over a no-op client (as <see cref="RunLoopBenchmark"/>): calling the client directly
/// (baseline), through the host with profiling off, and on;</item>
/// <item>one FTI cycle of the two-engine exchange (as <see cref="FtiCycleBenchmark"/>): the same calls in a plain
/// Python loop (baseline), <c>nrp.run_loop()</c> over the embedded client with profiling off, and on (every phase,
/// engine and function stamped; the host's reader thread turning the stamps into histograms and time-log files
/// meanwhile, as in a profiled simulation).</item>
/// </list>
/// </summary>
[InProcess]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class StepProfilingBenchmark
{
    private const int Steps = 20_000;
    private const int Cycles = 2_000;
    private readonly List<ControlBlock> _controls = [];
    private readonly List<StepProfiler> _profilers = [];
    private string? _directory;
    private PyModule? _scope;
    private PyObject? _direct;
    private PyObject? _hostOff;
    private PyObject? _hostOn;
    private PyObject? _plain;
    private PyObject? _ftiOff;
    private PyObject? _ftiOn;

    [GlobalSetup]
    public void Setup()
    {
        _ = PythonHost.Runtime;
        _directory = Path.Combine(Path.GetTempPath(), "nrphost-profiling-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_directory);
        using (Py.GIL())
        {
            PythonHost.AddBenchmarkPaths();

            _scope = Py.CreateScope();
            _scope.Set("directory", _directory);
            _scope.Exec("""
                import os, types
                import bench_fti
                from nrp_client import NrpCore
                from nrphost import profiling, runner

                class NoopClient:
                    def run_loop(self, num_iterations, json_data=None):
                        return None

                def session(client):
                    return types.SimpleNamespace(client=client, profile=None)

                def exchange_client(name):
                    folder = os.path.join(directory, name)
                    bench_fti.make_exchange_experiment(folder)
                    client = NrpCore("localhost:5345", experiment_folder=folder)
                    client.initialize()
                    return client

                def steps(nrp):
                    run_loop = nrp.run_loop
                    def run(n):
                        for _ in range(n):
                            run_loop()
                    return run

                noop = NoopClient()
                def direct(n):
                    for _ in range(n):
                        noop.run_loop(1, None)
                """);
            _direct = _scope.Get("direct");
            _hostOff = Nrp(Session("noop"), profiled: false);
            _hostOn = Nrp(Session("noop"), profiled: true);
            _scope.Exec("bench_fti.make_exchange_experiment(os.path.join(directory, 'plain'))");
            _plain = _scope.Eval("bench_fti.make_plain_runner(os.path.join(directory, 'plain'))");
            _ftiOff = Nrp(Session("exchange_client('off')"), profiled: false);
            _ftiOn = Nrp(Session("exchange_client('on')"), profiled: true);
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Steps, Description = "no-op client: client.run_loop(1) directly")]
    [BenchmarkCategory("nrp.run_loop, no-op client")]
    public void RunLoopDirect() => Run(_direct!, Steps);

    [Benchmark(OperationsPerInvoke = Steps, Description = "no-op client: nrp.run_loop(), profiling off")]
    [BenchmarkCategory("nrp.run_loop, no-op client")]
    public void RunLoopOff() => Run(_hostOff!, Steps);

    [Benchmark(OperationsPerInvoke = Steps, Description = "no-op client: nrp.run_loop(), profiling on")]
    [BenchmarkCategory("nrp.run_loop, no-op client")]
    public void RunLoopOn() => Run(_hostOn!, Steps);

    [Benchmark(Baseline = true, OperationsPerInvoke = Cycles, Description = "FTI cycle: plain Python loop, same calls")]
    [BenchmarkCategory("FTI cycle, two engines + one TF")]
    public void FtiPlain() => Run(_plain!, Cycles);

    [Benchmark(OperationsPerInvoke = Cycles, Description = "FTI cycle: nrp.run_loop(), profiling off")]
    [BenchmarkCategory("FTI cycle, two engines + one TF")]
    public void FtiOff() => Run(_ftiOff!, Cycles);

    [Benchmark(OperationsPerInvoke = Cycles, Description = "FTI cycle: nrp.run_loop(), profiling on")]
    [BenchmarkCategory("FTI cycle, two engines + one TF")]
    public void FtiOn() => Run(_ftiOn!, Cycles);

    private static void Run(PyObject loop, int count)
    {
        using (Py.GIL())
        {
            using var n = new PyInt(count);
            loop.Invoke(n).Dispose();
        }
    }

    private PyObject Session(string client) => _scope!.Eval($"session({client})");

    /// <summary>A stepping function over an <c>nrp</c> object for <paramref name="session"/>, profiled as NrpHost profiles a simulation.</summary>
    private PyObject Nrp(PyObject session, bool profiled)
    {
        var control = new ControlBlock();
        _controls.Add(control);
        using var profiling = Py.Import("nrphost.profiling");
        using var runner = Py.Import("nrphost.runner");
        if (profiled)
        {
            using var description = profiling.InvokeMethod("describe", session);
            var engines = description[1].As<string[]>();
            var functions = description[2].As<string[]>();
            var profiler = new StepProfiler(_profilers.Count, description[0].As<int>(), engines, functions);
            _profilers.Add(profiler);
            using var origin = profiling.InvokeMethod("attach", session,
                new PyInt((long)profiler.HostRing.Address), new PyInt(profiler.HostRing.Records),
                new PyInt((long)(profiler.CycleRing?.Address ?? 0)), new PyInt(profiler.CycleRing?.Records ?? 0));
            profiler.Begin(_directory!, DateTimeOffset.Now, origin.As<double>(), TimeSpan.Zero);
        }

        using var block = runner.InvokeMethod("control_block", new PyInt((long)control.Address));
        using var wait = _scope!.Eval("lambda: None");
        using var max = new PyInt(long.MaxValue / 2);
        using var client = session.GetAttr("client");
        using var recorder = session.GetAttr("profile");
        using var nrp = runner.InvokeMethod("Nrp", client, block, wait, max, recorder);
        using var steps = _scope.Get("steps");
        return steps.Invoke(nrp);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var profiler in _profilers)
        {
            profiler.StopReading();
            profiler.Finish(shutdown: null, TimeSpan.Zero);
        }

        using (Py.GIL())
        {
            foreach (var loop in new[] { _direct, _hostOff, _hostOn, _plain, _ftiOff, _ftiOn })
            {
                loop?.Dispose();
            }

            _scope?.Dispose();
        }

        // The rings and control blocks stay allocated: the Python objects that write them live as long as the process.
        try
        {
            Directory.Delete(_directory!, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
