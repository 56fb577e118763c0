using BenchmarkDotNet.Attributes;
using Python.Runtime;

namespace NrpHost.Benchmarks;

/// <summary>
/// One FTI cycle of the embedded runtime on the two-engine exchange (two python_json engines and one transceiver
/// function), against the same engine and function calls made in a plain Python loop.
/// </summary>
[InProcess]
public class FtiCycleBenchmark
{
    private const int Cycles = 2_000;
    private string? _directory;
    private PyObject? _module;
    private PyObject? _plain;
    private PyObject? _client;
    private PyObject? _close;

    [GlobalSetup]
    public void Setup()
    {
        _ = PythonHost.Runtime;
        _directory = Path.Combine(Path.GetTempPath(), "nrphost-fti-" + Guid.NewGuid().ToString("N")[..8]);
        using (Py.GIL())
        {
            PythonHost.AddBenchmarkPaths();

            _module = Py.Import("bench_fti");
            using var dir = new PyString(_directory);
            _module.InvokeMethod("make_exchange_experiment", dir).Dispose();
            _plain = _module.InvokeMethod("make_plain_runner", dir);
            using var pair = _module.InvokeMethod("make_client_runner", dir);
            _client = pair[0];
            _close = pair[1];
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Cycles, Description = "plain loop: same engine and function calls")]
    public void Plain() => Run(_plain!);

    [Benchmark(OperationsPerInvoke = Cycles, Description = "embedded client run_loop(1): one FTI cycle")]
    public void Client() => Run(_client!);

    private static void Run(PyObject loop)
    {
        using (Py.GIL())
        {
            using var n = new PyInt(Cycles);
            loop.Invoke(n).Dispose();
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        using (Py.GIL())
        {
            _close?.Invoke().Dispose();
            _plain?.Dispose();
            _client?.Dispose();
            _close?.Dispose();
            _module?.Dispose();
        }

        try
        {
            Directory.Delete(_directory!, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
