using BenchmarkDotNet.Attributes;
using NrpHost.Simulation;
using Python.Runtime;

namespace NrpHost.Benchmarks;

/// <summary>
/// What the host adds per <c>nrp.run_loop(1)</c>: a script loop calling the host's <c>nrp</c> object against the same
/// loop calling the nrp-core client directly (a no-op client, so only the host's part differs).
/// </summary>
[InProcess]
public class RunLoopBenchmark
{
    private const int Steps = 20_000;
    private ControlBlock? _control;
    private PyModule? _scope;
    private PyObject? _direct;
    private PyObject? _host;

    [GlobalSetup]
    public void Setup()
    {
        _ = PythonHost.Runtime;
        _control = new ControlBlock();
        using (Py.GIL())
        {
            _scope = Py.CreateScope();
            _scope.Set("address", (long)_control.Address);
            _scope.Exec("""
                from nrphost import runner

                class NoopClient:
                    def run_loop(self, num_iterations, json_data=None):
                        return None

                client = NoopClient()
                nrp = runner.Nrp(client, runner.control_block(address), lambda: None, 10**15)

                def direct(n):
                    for _ in range(n):
                        client.run_loop(1, None)

                def host(n):
                    for _ in range(n):
                        nrp.run_loop()
                """);
            _direct = _scope.Get("direct");
            _host = _scope.Get("host");
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Steps, Description = "client.run_loop(1) called directly")]
    public void Direct() => Call(_direct!);

    [Benchmark(OperationsPerInvoke = Steps, Description = "nrp.run_loop() through the host")]
    public void Host() => Call(_host!);

    private static void Call(PyObject loop)
    {
        using (Py.GIL())
        {
            using var n = new PyInt(Steps);
            loop.Invoke(n).Dispose();
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        using (Py.GIL())
        {
            _direct?.Dispose();
            _host?.Dispose();
            _scope?.Dispose();
        }

        _control?.Dispose();
    }
}
