using System.Collections.Concurrent;
using System.Text.Json;
using NrpHost.Simulation;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.NrpCore;

[Collection(PythonCollection.Name)]
public sealed class NrpCoreClientSelectionTests
{
    private const string FakeClient = """
        import json, os

        class NrpCore:
            def __init__(self, address, experiment_folder="", config_file="simulation_config.json", args="", **kw):
                with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), JOURNAL), "a") as f:
                    f.write(json.dumps({"module": __name__, "address": address, "config_file": config_file, "args": args}) + "\n")
            def initialize(self):
                pass
            def run_loop(self, n, json_data=None):
                return None
            def shutdown(self):
                pass
        """;

    [Theory]
    [InlineData("nrp_client:NrpCore", "nrp_client/__init__.py", "nrp_client")]
    [InlineData("nrp_core.client:NrpCore", "nrp_core/client.py", "nrp_core.client")]
    public async Task ExternalMode_ConstructsTheInstalledClientAsTheNrpBackendDoes(string client, string file, string module)
    {
        using var install = new TempDirectory("nrpcore-install");
        var path = install.Combine(file);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var depth = file.Count(c => c == '/');
        File.WriteAllText(path, $"JOURNAL = {JsonSerializer.Serialize(string.Concat(Enumerable.Repeat("../", depth)) + "journal.jsonl")}\n" + FakeClient);
        if (file.StartsWith("nrp_core/", StringComparison.Ordinal))
        {
            File.WriteAllText(install.Combine("nrp_core", "__init__.py"), string.Empty);
        }

        var journal = install.Combine("journal.jsonl");
        await using var host = new CoreHost(fakeClient: false, configure: s =>
        {
            s["NrpHost:NrpCore:Mode"] = "External";
            s["NrpHost:NrpCore:Client"] = client;
            s["NrpHost:NrpCore:PythonPath:0"] = install.Path;
            s["NrpHost:Mqtt:Broker"] = "broker.example:1884";
        });
        host.Experiment().Build();

        var sim = await host.CreatePausedAsync();
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForStateAsync(sim.Id, SimulationState.Completed);

        using var entry = JsonDocument.Parse(File.ReadLines(journal).Single());
        Assert.Equal(module, entry.RootElement.GetProperty("module").GetString());
        Assert.Equal("localhost:5345", entry.RootElement.GetProperty("address").GetString());
        Assert.Equal("simulation_config.json", entry.RootElement.GetProperty("config_file").GetString());
        Assert.Equal(
            $"-o EngineConfigs.1.simulationID=\"0\" -o EngineConfigs.1.MQTTBroker=\"broker.example:1884\" -o EngineConfigs.1.MQTTPrefix=\"{host.HostId}\"",
            entry.RootElement.GetProperty("args").GetString());
    }

    [Fact]
    public async Task EmbeddedMode_RefusesEnginesThatNeedARealNrpCore()
    {
        await using var host = new CoreHost(fakeClient: false);
        var errors = new ConcurrentQueue<SimulationError>();
        host.Manager.RuntimeError += (_, e) => errors.Enqueue(e.Error);
        host.Experiment().WithConfig(raw: """
            {"SimulationTimeout": 1, "EngineConfigs": [{"EngineName": "world", "EngineType": "gazebo_grpc"}]}
            """).Build();

        var result = await host.Manager.CreateAsync(new SimulationRequest("exp"));

        Assert.Equal(CreateSimulationStatus.Failed, result.Status);
        var error = Assert.Single(errors);
        Assert.Equal("Loading", error.ErrorType);
        Assert.Contains("gazebo_grpc", error.Message, StringComparison.Ordinal);
        Assert.Contains("External", error.Message, StringComparison.Ordinal);
    }
}
