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
    public async Task EnsureInitialized_From8ThreadsAtOnce_InitialisesOnce()
    {
        // CPython is already initialised in this test process, so the race only exists in a fresh one.
        var seen = await ChildProcess.RunAsync("init-from-8-threads");

        Assert.False(seen.GetProperty("initialisedBefore").GetBoolean());
        Assert.Empty(seen.GetProperty("failures").EnumerateArray());
        Assert.All(seen.GetProperty("states").EnumerateArray(), s => Assert.Equal("Ready", s.GetString()));

        // The host's packages were put on sys.path exactly once: a second initialisation would add them again.
        Assert.Equal(1, seen.GetProperty("packagesOnPath").GetInt32());
        Assert.StartsWith("3.", seen.GetProperty("version").GetString(), StringComparison.Ordinal);
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
