using System.Text.Json;

namespace NrpHost.Tests.Infrastructure;

/// <summary>Writes small experiments for tests into a storage root.</summary>
public sealed class ExperimentBuilder(string storageRoot, string name)
{
    private readonly Dictionary<string, string> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, object?> _fake = new(StringComparer.Ordinal);

    public string Name { get; } = name;

    public string Directory => Path.Combine(storageRoot, Name);

    /// <summary>A python_json engine (for the embedded runtime) that does nothing.</summary>
    public const string NoOpEngine =
        """
        from nrp_core.engines.python_json import EngineScript


        class Script(EngineScript):
            def initialize(self):
                pass

            def runLoop(self, timestep_ns):
                pass

            def shutdown(self):
                pass
        """;

    public static string LoopScript =>
        """
        while True:
            try:
                nrp.run_loop()
            except NRPSimulationTimeout:
                break
        """;

    public ExperimentBuilder WithConfig(double timeout = 1.0, double timestep = 0.01, bool dataTransfer = true, string? raw = null)
    {
        if (raw is not null)
        {
            _files["simulation_config.json"] = raw;
            return this;
        }

        var engines = new List<object>
        {
            new Dictionary<string, object> { ["EngineName"] = "engine", ["EngineType"] = "python_json", ["PythonFileName"] = "engine.py" },
        };
        if (dataTransfer)
        {
            engines.Add(new Dictionary<string, object> { ["EngineName"] = "datatransfer_engine", ["EngineType"] = "datatransfer_grpc_engine", ["MQTTBroker"] = "localhost:1883" });
        }

        _files["simulation_config.json"] = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["SimulationName"] = Name,
            ["SimulationTimeout"] = timeout,
            ["SimulationTimestep"] = timestep,
            ["EngineConfigs"] = engines,
        });
        return this;
    }

    public ExperimentBuilder WithScript(string source, string name = "main_script.py")
    {
        _files[name] = source;
        return this;
    }

    public ExperimentBuilder WithFile(string relativePath, string content)
    {
        _files[relativePath] = content;
        return this;
    }

    /// <summary>Behaviour of the fake nrp-core client (see fake_nrp_client.py).</summary>
    public ExperimentBuilder WithFakeClient(string key, object? value)
    {
        _fake[key] = value;
        return this;
    }

    public ExperimentBuilder Build()
    {
        System.IO.Directory.CreateDirectory(Directory);
        if (!_files.ContainsKey("simulation_config.json"))
        {
            WithConfig();
        }

        if (!_files.ContainsKey("main_script.py"))
        {
            WithScript(LoopScript);
        }

        foreach (var (path, content) in _files)
        {
            var full = Path.Combine(Directory, path);
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, content);
        }

        if (_fake.Count > 0)
        {
            File.WriteAllText(Path.Combine(Directory, "fake_client.json"), JsonSerializer.Serialize(_fake));
        }

        return this;
    }
}
