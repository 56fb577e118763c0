using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NrpHost.Python;
using NrpHost.Tests.Infrastructure;
using Python.Runtime;

namespace NrpHost.Tests.Python;

[Collection(PythonCollection.Name)]
public sealed class PythonRuntimeTests(PythonFixture python)
{
    [Fact]
    public void EnsureInitialized_From8ThreadsAtOnce_InitialisesOnce()
    {
        using var start = new Barrier(8);
        var runtimes = Enumerable.Range(0, 8).Select(_ => new PythonRuntime(new PythonOptions(), NullLoggerFactory.Instance, Environment.GetEnvironmentVariable)).ToArray();
        var threads = runtimes.Select(r => new Thread(() =>
        {
            start.SignalAndWait();
            r.EnsureInitialized();
        })).ToArray();

        foreach (var t in threads)
        {
            t.Start();
        }

        foreach (var t in threads)
        {
            t.Join();
        }

        using (Py.GIL())
        {
            // The host's packages were put on sys.path exactly once: a second initialisation would add them again.
            using var sys = Py.Import("sys");
            using var path = sys.GetAttr("path");
            var entries = Enumerable.Range(0, (int)path.Length()).Select(i => path[i].As<string>()).ToList();
            Assert.Single(entries, e => e.EndsWith("nrphost-python", StringComparison.Ordinal));
        }

        Assert.All(runtimes, r => Assert.Equal(PythonRuntimeState.Ready, r.GetStatus().State));
        foreach (var r in runtimes)
        {
            r.Dispose();
        }
    }

    [Fact]
    public async Task PythonFunction_CalledFromThreadPoolThread_Works()
    {
        var result = await Task.Run(() =>
        {
            using (Py.GIL())
            {
                using var math = Py.Import("math");
                using var value = math.InvokeMethod("factorial", new PyInt(10));
                return value.As<long>();
            }
        });

        Assert.Equal(3628800, result);
    }

    [Fact]
    public void SysExecutable_PointsAtTheMatchingInterpreter()
    {
        using (Py.GIL())
        {
            using var sys = Py.Import("sys");
            var executable = sys.GetAttr("executable").As<string>();
            var version = sys.GetAttr("version_info");
            Assert.True(File.Exists(executable), executable);
            Assert.Contains($"python{version[0]}", Path.GetFileName(executable), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task PrintAndLogging_ArriveInTheLogger()
    {
        var marker = Guid.NewGuid().ToString("N");
        using (Py.GIL())
        {
            using var scope = Py.CreateScope();
            scope.Exec($"""
                import logging, sys
                print("hello {marker}")
                print("warn {marker}", file=sys.stderr)
                logging.getLogger("experiment").warning("logged {marker}")
                """);
        }

        var printed = await python.Logs.WaitForAsync(e => e.Message == $"hello {marker}");
        var warned = await python.Logs.WaitForAsync(e => e.Message == $"warn {marker}");
        var logged = await python.Logs.WaitForAsync(e => e.Message == $"logged {marker}");

        Assert.Equal("NrpHost.Python", printed.Category);
        Assert.Equal(LogLevel.Information, printed.Level);
        Assert.Equal(LogLevel.Warning, warned.Level);
        Assert.Equal("NrpHost.Python.experiment", logged.Category);
        Assert.Equal(LogLevel.Warning, logged.Level);
    }

    [Fact]
    public void Print_DoesNotCallIntoDotNet()
    {
        using (Py.GIL())
        {
            using var scope = Py.CreateScope();
            scope.Exec("""
                import sys
                stream = sys.stdout
                kind = type(stream).__module__
                """);
            // The stream is pure Python (buffered in nrphost._output), not a .NET object.
            Assert.Equal("nrphost._output", scope.Get("kind").As<string>());
        }
    }
}
