using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NrpHost.Messaging;
using NrpHost.Tests.Infrastructure;
using NrpHost.Tests.Messaging;
using NrpHost.Tests.NrpCore;

namespace NrpHost.Tests.Api;

/// <summary>
/// The NRP Frontend survives the end of a data-transfer stream: it subscribes to <c>#</c> and runs <c>JSON.parse</c> on
/// every <c>…/data</c> payload, and one it cannot parse stops its MQTT client for good. Launch, start, stop and launch
/// again, as a user does in one workbench, through the real server, on the embedded broker and on Mosquitto.
/// </summary>
public sealed class FrontendRelaunchTests
{
    private const string Config = """
        {
          "SimulationTimeout": 1000,
          "EngineConfigs": [
            {"EngineType": "python_json", "EngineName": "e", "PythonFileName": "engine.py"},
            {"EngineType": "datatransfer_grpc_engine", "EngineName": "dt", "MQTTBroker": "localhost:1883", "simulationID": "0",
             "dumps": [{"name": "text", "network": true, "file": false}, {"name": "number", "network": true, "file": false}]}
          ],
          "DataPackProcessingFunctions": [{"Name": "stream", "FileName": "tf.py"}]
        }
        """;

    [Theory]
    [InlineData("InProcess", false)]
    [InlineData("Process", false)]
    [InlineData("Process", true)]
    public async Task EveryTopicListParses_AndASecondLaunchStreamsAgain(string isolation, bool mosquitto)
    {
        await using var external = mosquitto ? await MosquittoBroker.StartAsync() : null;
        await using var host = await ApiHost.StartAsync(s =>
        {
            s["NrpHost:Simulation:Isolation"] = isolation;
            s["NrpHost:NrpCore:Mode"] = "Embedded";
            s["NrpHost:NrpCore:Client"] = "nrp_client:NrpCore";
            s.Remove("NrpHost:NrpCore:PythonPath:0");
            s["NrpHost:Mqtt:Prefix"] = string.Empty;
            if (external is not null)
            {
                s["NrpHost:Mqtt:Broker"] = external.Address;
            }
        });
        host.Experiment("streamed").WithConfig(raw: Config).WithFile("engine.py", DataTransferStreamingTests.Engine).WithFile("tf.py", DataTransferStreamingTests.Tf)
            .WithScript("while True:\n    nrp.run_loop(1)\n").Build();
        var port = external?.Port ?? host.Services.GetRequiredService<IOptions<MqttOptions>>().Value.EmbeddedPort;
        await using var frontend = await DataTransferStreamingTests.Subscriber.ConnectAsync(port);

        for (var launch = 0; launch < 2; launch++)
        {
            var list = $"nrp_simulation/{launch}/data";
            Assert.Equal(201, (await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"streamed"}""")).Code);
            Assert.Equal(200, (await host.PutStateAsync(launch, "started")).Code);
            await frontend.WaitForAsync(m => m.Any(x => x.Topic == list + "/text"));
            Assert.Equal(200, (await host.PutStateAsync(launch, "stopped")).Code);
            await frontend.WaitForAsync(m => m.Any(x => x.Topic == list && Encoding.UTF8.GetString(x.Payload) == "[]"));
        }

        // Every topic list the frontend got is JSON; the last of each launch is the empty list, live.
        var lists = frontend.Messages.Where(m => m.Topic.EndsWith("/data", StringComparison.Ordinal)).ToList();
        Assert.All(lists, m => JsonDocument.Parse(m.Payload).Dispose());
        Assert.All(new[] { 0, 1 }, id => Assert.Contains(lists, m => m.Topic == $"nrp_simulation/{id}/data" && m.Payload.Length > 2));

        // A frontend that opens the workbench now gets no stale list of a stopped simulation: none on the embedded broker,
        // an empty one on an external broker. (A list of the test's own, retained, says when the retained ones are in.)
        await using (var sentinel = await DataTransferStreamingTests.Subscriber.ConnectAsync(port))
        {
            await sentinel.PublishAsync("nrp_simulation/99/data", """[{"topic":"nrp_simulation/99/data/x","type":""}]""", retain: true);
        }

        await using var late = await DataTransferStreamingTests.Subscriber.ConnectAsync(port);
        await late.WaitForAsync(m => m.Any(x => x.Topic == "nrp_simulation/99/data" && x.Retain));
        var retained = late.Messages.Where(m => m.Retain && m.Topic is "nrp_simulation/0/data" or "nrp_simulation/1/data").ToList();
        Assert.All(retained, m => Assert.Equal("[]", Encoding.UTF8.GetString(m.Payload)));
        if (!mosquitto)
        {
            Assert.Empty(retained);
        }
    }
}
