using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NrpHost.Python;
using Python.Runtime;

// Scenarios run in a fresh process by NrpHost.Tests; each prints one JSON line with what it saw.
return args.FirstOrDefault() switch
{
    "init-from-8-threads" => InitFrom8Threads(),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: NrpHost.Tests.Child init-from-8-threads");
    return 2;
}

// Eight runtimes on eight threads released at once by a barrier, with CPython not initialised yet in this process.
static int InitFrom8Threads()
{
    var initialisedBefore = PythonEngine.IsInitialized;
    using var start = new Barrier(8);
    var runtimes = Enumerable.Range(0, 8)
        .Select(_ => new PythonRuntime(new PythonOptions(), NullLoggerFactory.Instance, Environment.GetEnvironmentVariable))
        .ToArray();
    var failures = new List<string>();
    var threads = runtimes.Select(r => new Thread(() =>
    {
        start.SignalAndWait();
        try
        {
            r.EnsureInitialized();
        }
        catch (Exception ex) when (ex is PythonNotAvailableException or InvalidOperationException)
        {
            lock (failures)
            {
                failures.Add(ex.Message);
            }
        }
    })).ToArray();
    foreach (var thread in threads)
    {
        thread.Start();
    }

    foreach (var thread in threads)
    {
        thread.Join();
    }

    int packagesOnPath;
    string version;
    using (Py.GIL())
    {
        using var sys = Py.Import("sys");
        using var path = sys.GetAttr("path");
        packagesOnPath = Enumerable.Range(0, (int)path.Length()).Count(i => path[i].As<string>().EndsWith("nrphost-python", StringComparison.Ordinal));
        using var info = sys.GetAttr("version");
        version = info.As<string>();
    }

    Console.WriteLine(JsonSerializer.Serialize(new
    {
        initialisedBefore,
        failures,
        states = runtimes.Select(r => r.GetStatus().State.ToString()).ToArray(),
        packagesOnPath,
        version,
    }));
    return 0;
}
