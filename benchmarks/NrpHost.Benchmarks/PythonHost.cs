using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NrpHost.Python;
using NrpHost.Simulation;
using Python.Runtime;

namespace NrpHost.Benchmarks;

/// <summary>The embedded interpreter and NrpHost services shared by the benchmarks of this process.</summary>
public static class PythonHost
{
    private static readonly Lock Gate = new();
    private static PythonRuntime? s_runtime;

    internal static PythonRuntime Runtime
    {
        get
        {
            lock (Gate)
            {
                if (s_runtime is null)
                {
                    s_runtime = new PythonRuntime(new PythonOptions(), NullLoggerFactory.Instance, Environment.GetEnvironmentVariable);
                    s_runtime.EnsureInitialized();
                }

                return s_runtime;
            }
        }
    }

    /// <summary>A TCP port free on loopback right now.</summary>
    internal static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// Puts the embedded nrp-core runtime and the benchmarks' own Python files (<c>bench_fti.py</c>) first on
    /// <c>sys.path</c>. The caller holds the GIL.
    /// </summary>
    internal static void AddBenchmarkPaths()
    {
        using var sys = Py.Import("sys");
        using var path = sys.GetAttr("path");
        foreach (var entry in new[] { Path.Combine(Runtime.PackagesPath, "embedded"), Path.Combine(AppContext.BaseDirectory, "python") })
        {
            using var item = new PyString(entry);
            using var zero = new PyInt(0);
            path.InvokeMethod("insert", zero, item).Dispose();
        }
    }

    /// <summary>The engine of the benchmark experiment: a python_json engine that does nothing.</summary>
    public const string NoOpEngine = """
        from nrp_core.engines.python_json import EngineScript

        class Script(EngineScript):
            def initialize(self):
                pass

            def runLoop(self, timestep_ns):
                pass

            def shutdown(self):
                pass
        """;

    /// <summary>Writes the experiment <c>bench</c> (one engine, <paramref name="script"/>) under <c>&lt;root&gt;/experiments</c>.</summary>
    internal static void WriteExperiment(string root, string script, double timeout = 1e6, string? engine = null)
    {
        var experiment = Path.Combine(root, "experiments", "bench");
        Directory.CreateDirectory(experiment);
        File.WriteAllText(Path.Combine(experiment, "main_script.py"), script);
        File.WriteAllText(Path.Combine(experiment, "engine.py"), engine ?? NoOpEngine);
        File.WriteAllText(Path.Combine(experiment, "simulation_config.json"), string.Create(System.Globalization.CultureInfo.InvariantCulture, $$"""
            {"SimulationTimeout": {{timeout}}, "SimulationTimestep": 0.01,
             "EngineConfigs": [{"EngineName": "engine", "EngineType": "python_json", "PythonFileName": "engine.py", "EngineTimestep": 0.01}]}
            """));
    }

    /// <summary>
    /// Turns the experiment at <paramref name="folder"/> into the two-engine exchange: engine <c>python_1</c> sets a
    /// datapack every step, the transceiver function forwards it to <c>python_2</c>, which reads it (nothing printed).
    /// </summary>
    internal static void WriteExchange(string folder, double timeout)
    {
        File.WriteAllText(Path.Combine(folder, "engine_1.py"), """
            from nrp_core.engines.python_json import EngineScript

            class Script(EngineScript):
                def initialize(self):
                    self._registerDataPack("datapack1")
                    self._setDataPack("datapack1", {"time": 0})

                def runLoop(self, timestep_ns):
                    self._setDataPack("datapack1", {"time": self._time_ns})

                def shutdown(self):
                    pass
            """);
        File.WriteAllText(Path.Combine(folder, "engine_2.py"), """
            from nrp_core.engines.python_json import EngineScript

            class Script(EngineScript):
                def initialize(self):
                    self._registerDataPack("rec_datapack1")
                    self._setDataPack("rec_datapack1", {})

                def runLoop(self, timestep_ns):
                    self.received = self._getDataPack("rec_datapack1")

                def shutdown(self):
                    pass
            """);
        File.WriteAllText(Path.Combine(folder, "tf_1.py"), """
            from nrp_core import *
            from nrp_core.data.nrp_json import *

            @EngineDataPack(keyword="datapack1", id=DataPackIdentifier("datapack1", "python_1"))
            @TransceiverFunction("python_2")
            def tf_1(datapack1):
                forwarded = JsonDataPack("rec_datapack1", "python_2")
                forwarded.data["time"] = datapack1.data["time"]
                return [forwarded]
            """);
        File.WriteAllText(Path.Combine(folder, "simulation_config.json"), string.Create(System.Globalization.CultureInfo.InvariantCulture, $$"""
            {"SimulationTimeout": {{timeout}}, "SimulationTimestep": 0.01,
             "EngineConfigs": [
               {"EngineName": "python_1", "EngineType": "python_json", "PythonFileName": "engine_1.py", "EngineTimestep": 0.01},
               {"EngineName": "python_2", "EngineType": "python_json", "PythonFileName": "engine_2.py", "EngineTimestep": 0.01}],
             "DataPackProcessingFunctions": [{"Name": "tf_1", "FileName": "tf_1.py"}]}
            """));
    }

    /// <summary>A simulation manager over a temporary storage root holding one experiment.</summary>
    public sealed class Host : IAsyncDisposable
    {
        private readonly ServiceProvider _provider;

        public Host(string script, double timeout = 1e6, string? engine = null, Isolation.SimulationIsolation isolation = Isolation.SimulationIsolation.InProcess, bool exchange = false)
        {
            if (isolation == Isolation.SimulationIsolation.InProcess)
            {
                _ = Runtime;
            }

            Root = Path.Combine(Path.GetTempPath(), "nrphost-bench-" + Guid.NewGuid().ToString("N")[..8]);
            WriteExperiment(Root, script, timeout, engine);
            if (exchange)
            {
                WriteExchange(Path.Combine(Root, "experiments", "bench"), timeout);
            }

            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["NrpHost:Storage:LocalRoot"] = Path.Combine(Root, "experiments"),
                ["NrpHost:Simulation:WorkDirectory"] = Path.Combine(Root, "work"),
                ["NrpHost:Simulation:Isolation"] = isolation.ToString(),
            }).Build();
            var services = new ServiceCollection();
            services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
            services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
            services.AddNrpHost(configuration);
            _provider = services.BuildServiceProvider();
            Manager = _provider.GetRequiredService<ISimulationManager>();
        }

        public string Root { get; }

        /// <summary>Stops every simulation that is not final yet.</summary>
        public void StopAll()
        {
            foreach (var s in Manager.List().Where(s => !s.State.IsFinal()))
            {
                Manager.RequestStateAsync(s.Id, SimulationState.Stopped).GetAwaiter().GetResult();
            }
        }

        /// <summary>Asks simulation <paramref name="id"/> for <paramref name="state"/>; throws when that does not succeed.</summary>
        public void Request(int id, SimulationState state)
        {
            var result = Manager.RequestStateAsync(id, state).GetAwaiter().GetResult();
            if (!result.Succeeded)
            {
                throw new InvalidOperationException($"{state}: {result.Status} {result.Message}");
            }
        }

        /// <summary>Polls simulation <paramref name="id"/> until <paramref name="condition"/> holds (10 s at most).</summary>
        public void WaitFor(int id, Func<SimulationSnapshot, bool> condition)
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (!condition(Manager.Find(id)!))
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"simulation {id}: {Manager.Find(id)}");
                }

                Thread.Sleep(1);
            }
        }

        /// <summary>Starts the warm spare worker (Process isolation).</summary>
        public void WarmUp() => ((SimulationManager)Manager).WarmUp();

        /// <summary>Waits until the warm spare is ready (Process isolation; at once otherwise).</summary>
        public void WaitForSpare()
        {
            var workers = ((SimulationManager)Manager).Workers;
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (workers is not null && !workers.HasReadySpare)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException("no warm spare worker: " + workers.LastFailure);
                }

                Thread.Sleep(5);
            }
        }

        public ISimulationManager Manager { get; }

        public async Task<int> CreateAsync()
        {
            var result = await Manager.CreateAsync(new SimulationRequest("bench"));
            if (result.Status != CreateSimulationStatus.Ready)
            {
                throw new InvalidOperationException($"{result.Status}: {result.Message}");
            }

            return result.Simulation!.Id;
        }

        public async ValueTask DisposeAsync()
        {
            await _provider.DisposeAsync();
            try
            {
                Directory.Delete(Root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
