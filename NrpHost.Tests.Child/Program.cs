using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NrpHost.Api;
using NrpHost.DependencyInjection;
using NrpHost.Python;
using NrpHost.Simulation;
using Python.Runtime;

// Scenarios run in a fresh process by NrpHost.Tests; each prints one JSON line with what it saw.
return args.FirstOrDefault() switch
{
    "init-from-8-threads" => InitFrom8Threads(),
    "restore-fails" when args.Length == 3 => await RestoreFailsAsync(args[1], args[2]),
    "compress-without-descriptors" when args.Length == 3 => CompressWithoutDescriptors(args[1] == "host", args[2]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: NrpHost.Tests.Child init-from-8-threads | restore-fails <experiments folder> <work directory> | compress-without-descriptors host|bare <work directory>");
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

// The NrpHost API in this process, over real HTTP, with closing a simulation's session made to fail: the interpreter can
// no longer be trusted, so /health and the next POST must say so (and nothing may run in it).
static async Task<int> RestoreFailsAsync(string experiments, string work)
{
    var app = NrpHostApi.Build([], builder =>
    {
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["NrpHost:Storage:LocalRoot"] = experiments,
            ["NrpHost:Simulation:WorkDirectory"] = work,
            // What is restored after a simulation is the shared interpreter's, so this needs the in-process mode.
            ["NrpHost:Simulation:Isolation"] = "InProcess",
            ["NrpHost:Mqtt:EmbeddedPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(new SimulationFaultInjection(phase =>
        {
            if (phase == SimulationPhase.Restore)
            {
                throw new InvalidOperationException("the interpreter could not be given back");
            }
        }));
    });
    await app.StartAsync();
    var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    using var http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(60) };

    async Task<object> Send(HttpMethod method, string path, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        return new { code = (int)response.StatusCode, body = await response.Content.ReadAsStringAsync() };
    }

    var created = await Send(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""");
    var stopped = await Send(HttpMethod.Put, "/simulation/0/state", """{"state":"stopped"}""");
    var health = await Send(HttpMethod.Get, "/health");
    var next = await Send(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""");
    var list = await Send(HttpMethod.Get, "/simulation");
    Console.WriteLine(JsonSerializer.Serialize(new { created, stopped, health, next, list }));
    await app.StopAsync();
    return 0;
}

// Compressing once no descriptor is free (a script used them all): with the host's services made first ("host"), or in a
// bare process ("bare", which shows what the host must avoid: the compression library is loaded on first use, and that
// needs a descriptor).
static int CompressWithoutDescriptors(bool host, string work)
{
    ServiceProvider? services = null;
    if (host)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["NrpHost:Simulation:WorkDirectory"] = work,
            ["NrpHost:Simulation:Isolation"] = "InProcess",
        }).Build();
        var collection = new ServiceCollection();
        collection.AddLogging();
        collection.AddNrpHost(configuration);
        services = collection.BuildServiceProvider();
        services.GetRequiredService<ISimulationManager>();
    }

    // What this scenario itself needs afterwards is loaded now: an assembly that fails to load is not tried again.
    Console.WriteLine(JsonSerializer.Serialize(new { taken = 0, compressed = 0L, error = "not yet" }));

    // Every descriptor below the limit taken, and the limit set just above the highest one in use.
    var highest = Directory.GetFiles("/proc/self/fd").Select(f => int.Parse(Path.GetFileName(f), System.Globalization.CultureInfo.InvariantCulture)).Max();
    var taken = new List<SafeHandle>();
    NrpHost.Isolation.Libc.SetLimit(NrpHost.Isolation.Libc.Resource.OpenFiles, (ulong)highest + 8);
    try
    {
        while (true)
        {
            taken.Add(File.OpenHandle("/dev/null"));
        }
    }
    catch (IOException)
    {
        // None left.
    }

    string? error = null;
    var compressed = 0L;
    try
    {
        var buffer = new MemoryStream();
        using (var zip = new System.IO.Compression.ZipArchive(buffer, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
        using (var entry = new StreamWriter(zip.CreateEntry("simulation_0.log", System.IO.Compression.CompressionLevel.Optimal).Open()))
        {
            entry.Write(string.Concat(Enumerable.Repeat("a line of the simulation log\n", 1000)));
        }

        compressed = buffer.Length;
    }
    catch (Exception ex) when (ex is DllNotFoundException or TypeInitializationException or IOException)
    {
        error = ex.GetType().Name + ": " + ex.Message;
    }

    var free = 0;
    foreach (var handle in taken)
    {
        handle.Dispose();
        free++;
    }

    Console.WriteLine(JsonSerializer.Serialize(new { taken = free, compressed, error }));
    services?.Dispose();
    return 0;
}

static int FreePort()
{
    using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}
