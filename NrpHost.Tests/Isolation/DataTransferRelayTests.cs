using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using NrpHost.Simulation;
using NrpHost.Tests.Infrastructure;
using NrpHost.Tests.Messaging;
using NrpHost.Tests.NrpCore;

namespace NrpHost.Tests.Isolation;

/// <summary>
/// A data-transfer engine in a worker process hands its MQTT messages to the host, which publishes them on its own
/// connection: a sandboxed worker has no network, and a worker may publish only its own simulation's data topics.
/// </summary>
[Collection(PythonCollection.Name)]
public sealed class DataTransferRelayTests
{
    private const string Engine =
        """
        from nrp_core.engines.python_json import EngineScript


        class Script(EngineScript):
            def initialize(self):
                self._registerDataPack("d")
                self._setDataPack("d", {"time": 0})
        """;

    private const string Tf =
        """
        from nrp_core import *
        from nrp_core.data.nrp_protobuf import DumpStringDataPack


        @SimulationIteration(keyword="i")
        @TransceiverFunction("dt")
        def stream(i):
            text = DumpStringDataPack("text", "dt")
            text.data.string_stream = f"step {i}"
            return [text]
        """;

    [Theory]
    [InlineData("Process")]
    [InlineData("Sandbox")]
    public async Task TheDataTransferEngineOfAWorker_StreamsThroughTheHost(string isolation)
    {
        var (host, port) = await StartAsync(isolation);
        await using var _ = host;
        await using var subscriber = await DataTransferStreamingTests.Subscriber.ConnectAsync(port);
        Experiment(host, "while True:\n    try:\n        nrp.run_loop()\n    except NRPSimulationTimeout:\n        break\n");

        var sim = await host.CreatePausedAsync();
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForStateAsync(sim.Id, SimulationState.Completed);

        var topic = $"nrp_simulation/{sim.Id}/data/text";
        var seen = await subscriber.WaitForAsync(messages => messages.Count(m => m.Topic == topic) >= 3);
        Assert.Contains(seen, m => m.Topic == $"nrp_simulation/{sim.Id}/data" && Encoding.UTF8.GetString(m.Payload).Contains(topic, StringComparison.Ordinal));
        Assert.Equal(StateChangeStatus.Changed, (await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped)).Status);
    }

    [Fact]
    public async Task AWorker_PublishesNothingOutsideItsOwnDataTopics_ThroughTheRelay()
    {
        var (host, port) = await StartAsync("Process");
        await using var _ = host;
        await using var subscriber = await DataTransferStreamingTests.Subscriber.ConnectAsync(port);
        Experiment(host, """
            from nrp_core._embedded import mqtt
            relay = mqtt._relay
            relay("nrp_simulation/0/status", b"forged status", True)
            relay("nrp_simulation/0/runtime_error", b"forged error", False)
            relay("nrp_simulation/99/data/x", b"another simulation", False)
            relay("elsewhere", b"outside", False)
            relay("nrp_simulation/0/data/#", b"wildcard", False)
            relay("nrp_simulation/0/data/marker", b"the last one", False)
            nrp.run_loop()
            """);

        var sim = await host.CreatePausedAsync();
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForStateAsync(sim.Id, SimulationState.Completed);

        // Published in the order they were handed over: once the marker is in, the refused ones would have been too.
        var seen = await subscriber.WaitForAsync(messages => messages.Any(m => m.Topic == "nrp_simulation/0/data/marker"));
        var payloads = seen.Select(m => Encoding.UTF8.GetString(m.Payload)).ToList();
        foreach (var refused in new[] { "forged status", "forged error", "another simulation", "outside", "wildcard" })
        {
            Assert.DoesNotContain(refused, payloads);
        }

        await host.WaitForLogAsync(sim.Id, e => e.Message.Contains("'nrp_simulation/0/status' was not published", StringComparison.Ordinal));
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);
    }

    private static async Task<(CoreHost Host, int Port)> StartAsync(string isolation)
    {
        var port = FreePort.Next();
        var host = new CoreHost(
            fakeClient: false,
            configure: s =>
            {
                s["NrpHost:Simulation:Isolation"] = isolation;
                s["NrpHost:Mqtt:EmbeddedPort"] = port.ToString(CultureInfo.InvariantCulture);
            },
            services: b => b.AddMqttStatus());
        await host.StartHostedServicesAsync();
        return (host, port);
    }

    private static void Experiment(CoreHost host, string script) =>
        host.Experiment()
            .WithFile("engine.py", Engine)
            .WithFile("tf.py", Tf)
            .WithConfig(raw: JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["SimulationTimeout"] = 0.05,
                ["EngineConfigs"] = new object[]
                {
                    new Dictionary<string, object> { ["EngineType"] = "python_json", ["EngineName"] = "python_1", ["PythonFileName"] = "engine.py" },
                    new Dictionary<string, object>
                    {
                        ["EngineType"] = "datatransfer_grpc_engine",
                        ["EngineName"] = "dt",
                        ["dumps"] = new object[] { new Dictionary<string, object> { ["name"] = "text", ["network"] = true } },
                    },
                },
                ["DataPackProcessingFunctions"] = new object[] { new Dictionary<string, object> { ["Name"] = "stream", ["FileName"] = "tf.py" } },
            }))
            .WithScript(script)
            .Build();
}
