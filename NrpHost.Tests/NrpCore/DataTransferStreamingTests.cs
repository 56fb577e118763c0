using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using MQTTnet;
using MQTTnet.Formatter;
using NrpHost.Tests.Infrastructure;
using NrpHost.Tests.Messaging;
using NrpHost.Tests.Protos.EngineGrpc;
using NrpHost.Tests.Protos.Wrappers;
using DumpString = NrpHost.Tests.Protos.Dump.String;

namespace NrpHost.Tests.NrpCore;

/// <summary>
/// The embedded DataTransfer engine streams over MQTT as nrp-core's does: topics, the retained topic list, payloads
/// (decoded with Google.Protobuf), <c>reset</c>, on the embedded MQTTnet broker and on Mosquitto.
/// </summary>
[Collection(PythonCollection.Name)]
public sealed class DataTransferStreamingTests(PythonFixture python)
{
    public enum BrokerKind
    {
        Embedded,
        Mosquitto,
    }

    /// <summary>A python_json engine with one datapack (the stream's source).</summary>
    internal const string Engine = """
        from nrp_core.engines.python_json import EngineScript


        class Script(EngineScript):
            def initialize(self):
                self._registerDataPack("d")
                self._setDataPack("d", {"time": 0})
        """;

    /// <summary>A transceiver function that streams <c>text</c> (Dump.String) and <c>number</c> (Wrappers.DoubleValue) to engine <c>dt</c>.</summary>
    internal const string Tf = """
        from nrp_core import *
        from nrp_core.data.nrp_protobuf import DumpStringDataPack, WrappersDoubleValueDataPack


        @SimulationIteration(keyword="i")
        @TransceiverFunction("dt")
        def stream(i):
            text = DumpStringDataPack("text", "dt")
            text.data.string_stream = f"step {i}"
            number = WrappersDoubleValueDataPack("number", "dt")
            number.data.value = i / 4
            return [text, number]
        """;

    /// <summary>A subscriber to <c>#</c> that keeps every message's bytes and retain flag.</summary>
    internal sealed class Subscriber : IAsyncDisposable
    {
        private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
        private readonly ConcurrentQueue<(string Topic, byte[] Payload, bool Retain)> _messages = new();
        private readonly Changes _received = new();

        public IReadOnlyList<(string Topic, byte[] Payload, bool Retain)> Messages => _messages.ToArray();

        public static async Task<Subscriber> ConnectAsync(int port)
        {
            var subscriber = new Subscriber();
            subscriber._client.ApplicationMessageReceivedAsync += e =>
            {
                subscriber._messages.Enqueue((e.ApplicationMessage.Topic, System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload), e.ApplicationMessage.Retain));
                subscriber._received.Notify();
                return Task.CompletedTask;
            };
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await subscriber._client.ConnectAsync(
                new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithProtocolVersion(MqttProtocolVersion.V311)
                    .WithClientId("test_" + Guid.NewGuid().ToString("N")).WithCleanSession(true).Build(),
                timeout.Token);
            await subscriber._client.SubscribeAsync(new MqttClientFactory().CreateSubscribeOptionsBuilder().WithTopicFilter("#").Build(), timeout.Token);
            return subscriber;
        }

        public Task<IReadOnlyList<(string Topic, byte[] Payload, bool Retain)>> WaitForAsync(
            Func<IReadOnlyList<(string Topic, byte[] Payload, bool Retain)>, bool> condition) =>
            _received.WaitAsync(
                () => Messages is var seen && condition(seen) ? seen : null,
                TimeSpan.FromSeconds(20),
                () => "seen: " + string.Join(" | ", Messages.Select(m => m.Topic + " " + Convert.ToHexString(m.Payload))));

        /// <summary>Publishes at QoS 1: done once the broker has taken the message (a retained one is stored by then).</summary>
        public Task PublishAsync(string topic, string payload, bool retain) =>
            _client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithRetainFlag(retain)
                .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build());

        public async ValueTask DisposeAsync()
        {
            if (_client.IsConnected)
            {
                await _client.TryDisconnectAsync();
            }

            _client.Dispose();
        }
    }

    /// <summary>The broker under test: the host's embedded MQTTnet broker, or Mosquitto.</summary>
    private sealed class Broker : IAsyncDisposable
    {
        private CoreHost? _host;
        private MosquittoBroker? _mosquitto;

        public int Port { get; private init; }

        /// <summary>The embedded broker lets other clients publish only under the host's own prefix, so it is given the one the data uses.</summary>
        public static async Task<Broker> StartAsync(BrokerKind kind, string prefix = "")
        {
            if (kind == BrokerKind.Mosquitto)
            {
                var mosquitto = await MosquittoBroker.StartAsync();
                return new Broker { _mosquitto = mosquitto, Port = mosquitto.Port };
            }

            var port = FreePort.Next();
            var host = new CoreHost(
                configure: s =>
                {
                    s["NrpHost:Mqtt:EmbeddedPort"] = port.ToString(CultureInfo.InvariantCulture);
                    s["NrpHost:Mqtt:Prefix"] = prefix;
                },
                services: b => b.AddMqttStatus());
            await host.StartHostedServicesAsync();
            return new Broker { _host = host, Port = port };
        }

        public async ValueTask DisposeAsync()
        {
            if (_host is not null)
            {
                await _host.DisposeAsync();
            }

            if (_mosquitto is not null)
            {
                await _mosquitto.DisposeAsync();
            }
        }
    }

    private static string WriteExperiment(TempDirectory directory, bool streamDataPackMessage)
    {
        File.WriteAllText(directory.Combine("engine.py"), Engine);
        File.WriteAllText(directory.Combine("tf.py"), Tf);
        File.WriteAllText(directory.Combine("simulation_config.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["SimulationTimeout"] = 1,
            ["EngineConfigs"] = new object[]
            {
                new Dictionary<string, object> { ["EngineType"] = "python_json", ["EngineName"] = "python_1", ["PythonFileName"] = "engine.py" },
                new Dictionary<string, object>
                {
                    ["EngineType"] = "datatransfer_grpc_engine",
                    ["EngineName"] = "dt",
                    ["streamDataPackMessage"] = streamDataPackMessage,
                    ["dumps"] = new object[]
                    {
                        new Dictionary<string, object> { ["name"] = "text", ["network"] = true, ["file"] = true },
                        new Dictionary<string, object> { ["name"] = "number", ["network"] = true, ["file"] = true },
                    },
                },
            },
            ["DataPackProcessingFunctions"] = new object[] { new Dictionary<string, object> { ["Name"] = "stream", ["FileName"] = "tf.py" } },
        }));
        return directory.Path;
    }

    [Theory]
    [InlineData(BrokerKind.Embedded, true, "")]
    [InlineData(BrokerKind.Mosquitto, true, "lab")]
    [InlineData(BrokerKind.Embedded, false, "lab")]
    [InlineData(BrokerKind.Mosquitto, false, "")]
    public async Task DataPacks_AreStreamedToTheirTopics_WithTheTopicListRetained_AndResetAnnounced(BrokerKind kind, bool envelope, string prefix)
    {
        await using var broker = await Broker.StartAsync(kind, prefix);
        await using var subscriber = await Subscriber.ConnectAsync(broker.Port);
        using var experiment = new TempDirectory("dt-stream");
        using var session = new EmbeddedPython(python);
        var args = $"-o EngineConfigs.1.simulationID=\"7\" -o EngineConfigs.1.MQTTBroker=\"127.0.0.1:{broker.Port}\" -o EngineConfigs.1.MQTTPrefix=\"{prefix}\"";
        var variables = new Dictionary<string, object> { ["folder"] = WriteExperiment(experiment, envelope), ["args"] = args };
        var basis = (prefix.Length > 0 ? prefix + "/" : string.Empty) + "nrp_simulation/7/data";
        var type = envelope ? "EngineGrpc.DataPackMessage" : "Dump.String";

        session.Run("""
            from nrp_client import NrpCore
            client = NrpCore("localhost:5345", experiment_folder=folder, args=args)
            client.initialize()
            client.run_loop(3)
            """, variables);

        // the topic list is retained: once the broker has the list with its types, a subscriber that comes later gets it
        await subscriber.WaitForAsync(m => m.Any(x => x.Topic == basis && Encoding.UTF8.GetString(x.Payload).Contains(type, StringComparison.Ordinal)));
        await using (var late = await Subscriber.ConnectAsync(broker.Port))
        {
            var list = (await late.WaitForAsync(m => m.Any(x => x.Topic == basis && x.Retain))).First(x => x.Topic == basis && x.Retain);
            var entries = JsonDocument.Parse(list.Payload).RootElement.EnumerateArray()
                .Select(e => (e.GetProperty("topic").GetString(), e.GetProperty("type").GetString())).ToList();
            Assert.Equal([(basis + "/text", type), (basis + "/number", envelope ? type : "Wrappers.DoubleValue")], entries);
        }

        session.Run("""
            client.reset()
            client.run_loop(1)
            client.shutdown()
            """);

        var seen = await subscriber.WaitForAsync(m => m.Count(x => x.Topic == basis && Encoding.UTF8.GetString(x.Payload) == "[]") == 1);
        var texts = seen.Where(m => m.Topic == basis + "/text").Select(m => m.Payload).ToList();
        // 3 steps, "reset", then the step after the reset (the datapack pending at the reset is not streamed, as in nrp-core)
        Assert.Equal(5, texts.Count);
        Assert.Equal("reset", Encoding.UTF8.GetString(texts[3]));
        var decoded = texts.Where((_, i) => i != 3).Select(payload => Decode(payload, envelope)).ToList();
        Assert.Equal(["step 0", "step 1", "step 2", "step 3"], decoded.Select(d => d.StringStream));
        var numbers = seen.Where(m => m.Topic == basis + "/number" && m.Payload is not [(byte)'r', (byte)'e', (byte)'s', (byte)'e', (byte)'t'])
            .Select(m => envelope ? DataPackMessage.Parser.ParseFrom(m.Payload).Data.Unpack<DoubleValue>().Value : DoubleValue.Parser.ParseFrom(m.Payload).Value);
        Assert.Equal([0, 0.25, 0.5, 0.75], numbers);
        Assert.Contains(seen, m => m.Topic == basis + "/number" && Encoding.UTF8.GetString(m.Payload) == "reset");
        // the live list went from empty types to the streamed type, and is an empty list at shutdown
        var lists = seen.Where(m => m.Topic == basis).Select(m => Encoding.UTF8.GetString(m.Payload)).ToList();
        Assert.Contains("\"type\":\"\"", lists[0], StringComparison.Ordinal);
        Assert.Equal("[]", lists[^1]);
        Assert.All(lists, list => JsonDocument.Parse(list).Dispose()); // as the NRP Frontend parses each one
        Assert.DoesNotContain(seen, m => m.Topic.StartsWith(basis, StringComparison.Ordinal) is false && m.Topic.Contains("nrp_simulation", StringComparison.Ordinal));
    }

    private static DumpString Decode(byte[] payload, bool envelope)
    {
        if (!envelope)
        {
            return DumpString.Parser.ParseFrom(payload);
        }

        var message = DataPackMessage.Parser.ParseFrom(payload);
        Assert.Equal(("text", "dt", "N4Dump6StringE"), (message.DataPackId.DataPackName, message.DataPackId.EngineName, message.DataPackId.DataPackType));
        return message.Data.Unpack<DumpString>();
    }

    [Fact]
    public async Task Files_AreInATimestampAndPidFolder_WithTheFieldNamesInTheFirstFileOnly_AndNoRowForAReset()
    {
        using var experiment = new TempDirectory("dt-files");
        using var session = new EmbeddedPython(python);
        var listing = session.Run("""
            import os
            from nrp_client import NrpCore
            client = NrpCore("localhost:5345", experiment_folder=folder, args=args)
            client.initialize()
            client.run_loop(3)
            client.reset()
            client.run_loop(1)
            client.shutdown()
            (stamp,) = os.listdir(os.path.join(folder, "data"))
            parts = [stamp]
            for name in ("number-0.data", "number-1.data", "text-0.data", "text-1.data"):
                with open(os.path.join(folder, "data", stamp, name), encoding="utf-8") as f:
                    parts.append("|".join(f.read().splitlines()))
            result = "\n".join(parts)
            """, new Dictionary<string, object>
            {
                ["folder"] = WriteExperiment(experiment, streamDataPackMessage: true),
                ["args"] = $"-o EngineConfigs.1.MQTTBroker=\"127.0.0.1:{FreePort.Next()}\"", // no broker: files only
            }).Split('\n');

        // <yyyyMMdd-HHmmss>-<pid of the process that runs the simulation's Python>, as nrp-core names it
        Assert.Matches($@"^\d{{8}}-\d{{6}}-{Environment.ProcessId}$", listing[0]);
        var (numbers, numbersAfterReset, texts, textsAfterReset) = (listing[1].Split('|'), listing[2].Split('|'), listing[3].Split('|'), listing[4].Split('|'));
        Assert.Equal("sim_time,value", numbers[0]);
        Assert.Equal(4, numbers.Length); // the field names, then the 3 steps: nothing for the datapack pending at the reset
        Assert.Single(numbersAfterReset); // one step, no field names
        Assert.DoesNotContain(numbersAfterReset, line => line.StartsWith("sim_time", StringComparison.Ordinal));
        Assert.Equal(3, texts.Length);
        Assert.Single(textsAfterReset);
    }

    [Fact]
    public async Task WithoutABroker_TheSimulationRuns_AndTheFilesAreWritten()
    {
        using var experiment = new TempDirectory("dt-nobroker");
        using var session = new EmbeddedPython(python);
        var port = FreePort.Next(); // nothing listens there
        var lines = session.Run("""
            import contextlib, io, os
            from nrp_client import NrpCore
            client = NrpCore("localhost:5345", experiment_folder=folder, args=args)
            warnings = io.StringIO()
            with contextlib.redirect_stderr(warnings):
                client.initialize()
                client.run_loop(50)
                client.shutdown()
            (stamp,) = os.listdir(os.path.join(folder, "data"))
            with open(os.path.join(folder, "data", stamp, "text-0.data"), encoding="utf-8") as f:
                count = len(f.read().splitlines())
            result = f"{count} {warnings.getvalue().count('cannot connect to the MQTT broker')}"
            """, new Dictionary<string, object>
            {
                ["folder"] = WriteExperiment(experiment, streamDataPackMessage: true),
                ["args"] = $"-o EngineConfigs.1.MQTTBroker=\"127.0.0.1:{port}\"",
            });

        Assert.Equal("50 1", lines);
    }
}
