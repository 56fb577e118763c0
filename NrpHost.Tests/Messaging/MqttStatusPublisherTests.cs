using Microsoft.Extensions.DependencyInjection;
using NrpHost.Messaging;
using NrpHost.Simulation;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Messaging;

/// <summary>
/// The status publisher end to end: a real subscriber on the embedded MQTTnet broker or on Mosquitto sees the
/// messages of the frontend contract (M01–M10) for real simulations.
/// </summary>
[Collection(PythonCollection.Name)]
public sealed class MqttStatusPublisherTests
{
    private static readonly string[] States = ["created", "paused", "started", "completed", "stopped", "failed"];

    private static void AssertStatusContract(MqttStatusRig rig, IEnumerable<ReceivedMessage> messages)
    {
        foreach (var message in messages)
        {
            // M10: the topic starts with the prefix (or with nrp_simulation when it is empty), never with a slash.
            Assert.False(message.Topic.StartsWith('/'), message.Topic);
            Assert.StartsWith(rig.Topic(0, string.Empty)[..^"0/".Length], message.Topic, StringComparison.Ordinal);
            if (!message.Topic.EndsWith("/status", StringComparison.Ordinal))
            {
                continue;
            }

            var json = message.Json;
            if (json.TryGetProperty("progress", out var progress))
            {
                // M07: progress messages carry no state.
                Assert.False(json.TryGetProperty("state", out _), message.Payload);
                Assert.Equal("Shutting down Simulation", progress.GetProperty("task").GetString());
                continue;
            }

            // M01/M09: four keys, a known state, three non-null numbers.
            Assert.Contains(json.GetProperty("state").GetString(), States);
            foreach (var key in new[] { "realTime", "simulationTime", "simulationTimeLeft" })
            {
                Assert.Equal(System.Text.Json.JsonValueKind.Number, json.GetProperty(key).ValueKind);
            }

            Assert.Equal(4, json.EnumerateObject().Count());
        }
    }

    [Theory]
    [InlineData(BrokerKind.Embedded, "")]
    [InlineData(BrokerKind.Embedded, "nrp_test")]
    [InlineData(BrokerKind.Mosquitto, "")]
    [InlineData(BrokerKind.Mosquitto, "nrp_test")]
    public async Task FullRun_PublishesEveryStateAtOnce_TicksEverySecond_AndShutdownProgress(BrokerKind kind, string prefix)
    {
        await using var rig = await MqttStatusRig.StartAsync(kind, prefix);
        rig.Host.Experiment().WithConfig(timeout: 3.0).WithFakeClient("step_seconds", 0.01).Build();
        var status = rig.Topic(0, "status");
        var recorder = rig.Recorder;

        var sim = await rig.Host.CreatePausedAsync();
        var created = await recorder.WaitForAsync(status, m => m.State == "created");
        var paused = await recorder.WaitForAsync(status, m => m.State == "paused", created.Sequence); // M02

        await rig.Host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        var started = await recorder.WaitForAsync(status, m => m.State == "started", paused.Sequence); // M03
        await rig.Host.WaitForAsync(sim.Id, s => s.Clock.Iterations > 10);

        await rig.Host.Manager.RequestStateAsync(sim.Id, SimulationState.Paused);
        var pausedAgain = await recorder.WaitForAsync(status, m => m.State == "paused", started.Sequence); // M04

        await rig.Host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        var resumed = await recorder.WaitForAsync(status, m => m.State == "started", pausedAgain.Sequence); // M03 (resume)

        // M01: periodic messages while it runs, with its clock moving.
        var tick = await recorder.WaitForAsync(status, m => m.State == "started", resumed.Sequence);
        var nextTick = await recorder.WaitForAsync(status, m => m.State == "started", tick.Sequence);
        Assert.True(nextTick.Json.GetProperty("simulationTime").GetDouble() > tick.Json.GetProperty("simulationTime").GetDouble());

        var completed = await recorder.WaitForAsync(status, m => m.State == "completed", nextTick.Sequence); // M05
        Assert.Equal(0.0, completed.Json.GetProperty("simulationTimeLeft").GetDouble(), 6);
        await recorder.WaitForAsync(status, m => m.State == "completed", completed.Sequence); // still ticking: not final

        await rig.Host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);
        var shutdown = await recorder.WaitForAsync(status, m => m.Json.TryGetProperty("progress", out var p) && !p.TryGetProperty("done", out _)); // M07
        Assert.Equal("""{"progress":{"task":"Shutting down Simulation","subtask":"","number_of_subtasks":0,"subtask_index":0,"block_ui":true}}""", shutdown.Payload);
        var stopped = await recorder.WaitForAsync(status, m => m.State == "stopped", shutdown.Sequence);
        var done = await recorder.WaitForAsync(status, m => m.Json.TryGetProperty("progress", out var p) && p.TryGetProperty("done", out _), stopped.Sequence);
        Assert.Equal("""{"progress":{"task":"Shutting down Simulation","done":true}}""", done.Payload);

        // A final state ends the ticking: a second simulation ticks twice while the first stays silent.
        rig.Host.Experiment().Build();
        var second = await rig.Host.CreatePausedAsync();
        var secondStatus = rig.Topic(second.Id, "status");
        var first = await recorder.WaitForAsync(secondStatus, m => m.State == "paused");
        await recorder.WaitForAsync(secondStatus, m => m.State == "paused", first.Sequence);
        Assert.DoesNotContain(recorder.Messages, m => m.Topic == status && m.Sequence > done.Sequence);

        var all = recorder.Messages;
        AssertStatusContract(rig, all);
        var states = all.Where(m => m.Topic == status && m.State is not null).Select(m => m.State!).ToList();
        Assert.Equal(["created", "paused", "started", "paused", "started", "completed", "stopped"], Collapse(states));
        Assert.DoesNotContain(all, m => m.Topic == rig.Topic(sim.Id, "runtime_error"));
    }

    /// <summary>Consecutive repeats of a state folded into one (the periodic messages between changes).</summary>
    private static List<string> Collapse(List<string> states) =>
        states.Where((s, i) => i == 0 || states[i - 1] != s).ToList();

    [Theory]
    [InlineData(BrokerKind.Embedded, "")]
    [InlineData(BrokerKind.Mosquitto, "nrp_test")]
    public async Task FailingScript_PublishesRuntimeError_AndCompletes(BrokerKind kind, string prefix)
    {
        await using var rig = await MqttStatusRig.StartAsync(kind, prefix);
        rig.Host.Experiment().WithScript("nrp.run_loop()\nraise ValueError('boom')\n").Build();
        var sim = await rig.Host.CreatePausedAsync();

        await rig.Host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);

        var error = await rig.Recorder.WaitForAsync(rig.Topic(sim.Id, "runtime_error"), _ => true); // M08
        var json = error.Json;
        Assert.Equal("0", json.GetProperty("sim_id").GetString());
        Assert.Equal("Runtime", json.GetProperty("error_type").GetString());
        Assert.Contains("boom", json.GetProperty("msg").GetString(), StringComparison.Ordinal);
        Assert.Equal("main_script.py", json.GetProperty("fileName").GetString());
        Assert.Equal(2, json.GetProperty("line_number").GetInt32());
        Assert.Equal(System.Text.Json.JsonValueKind.Number, json.GetProperty("offset").ValueKind);
        Assert.Equal("raise ValueError('boom')", json.GetProperty("line_text").GetString());
        Assert.Equal(
            ["sim_id", "msg", "error_type", "fileName", "line_number", "offset", "line_text"],
            json.EnumerateObject().Select(p => p.Name).ToArray());
        await rig.Recorder.WaitForAsync(rig.Topic(sim.Id, "status"), m => m.State == "completed");
        AssertStatusContract(rig, rig.Recorder.Messages);
    }

    [Theory]
    [InlineData(BrokerKind.Embedded, "nrp_test")]
    [InlineData(BrokerKind.Mosquitto, "")]
    public async Task ScriptThatDoesNotCompile_PublishesCompileError_AndFailed(BrokerKind kind, string prefix)
    {
        await using var rig = await MqttStatusRig.StartAsync(kind, prefix);
        rig.Host.Experiment().WithScript("x = 1\nif x\n    pass\n").Build();

        var result = await rig.Host.Manager.CreateAsync(new SimulationRequest("exp"));

        Assert.Equal(CreateSimulationStatus.Failed, result.Status);
        var error = await rig.Recorder.WaitForAsync(rig.Topic(0, "runtime_error"), _ => true); // M08
        Assert.Equal("Compile", error.Json.GetProperty("error_type").GetString());
        Assert.Equal(2, error.Json.GetProperty("line_number").GetInt32());
        Assert.Equal("if x", error.Json.GetProperty("line_text").GetString());
        await rig.Recorder.WaitForAsync(rig.Topic(0, "status"), m => m.State == "failed"); // M06
        AssertStatusContract(rig, rig.Recorder.Messages);
    }

    [Fact]
    public async Task TwoHostsOnOneBroker_HaveDistinctClientIds_AndBothKeepPublishing()
    {
        await using var mosquitto = await MosquittoBroker.StartAsync();
        await using var a = await MqttStatusRig.StartAsync(BrokerKind.Mosquitto, "", mosquitto);
        await using var b = await MqttStatusRig.StartAsync(BrokerKind.Mosquitto, "", mosquitto);
        Assert.NotEqual(a.Publisher.ClientId, b.Publisher.ClientId);
        a.Host.Experiment().WithConfig(timeout: 1000).WithFakeClient("step_seconds", 0.01).Build();
        b.Host.Experiment().Build();
        var running = await a.Host.CreatePausedAsync();
        await a.Host.Manager.RequestStateAsync(running.Id, SimulationState.Started);
        await b.Host.CreatePausedAsync();

        // Both simulations have id 0 in their own host: the shared topic carries both hosts' ticks, several each.
        var status = a.Topic(0, "status");
        var mark = a.Recorder.LastSequence;
        for (var i = 0; i < 3; i++)
        {
            mark = (await a.Recorder.WaitForAsync(status, m => m.State == "started", mark)).Sequence;
        }

        mark = a.Recorder.LastSequence;
        for (var i = 0; i < 3; i++)
        {
            mark = (await a.Recorder.WaitForAsync(status, m => m.State == "paused", mark)).Sequence;
        }

        Assert.True(a.Publisher.IsConnected);
        Assert.True(b.Publisher.IsConnected);
        Assert.DoesNotContain(a.Host.Logs.Entries.Concat(b.Host.Logs.Entries), e => e.Message.Contains("lost its connection to ", StringComparison.Ordinal));

        // With no prefix they share one topic space, and each host says so at start-up.
        Assert.All(new[] { a, b }, rig => Assert.Contains(rig.Host.Logs.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning
            && e.Message.Contains("NrpHost:Mqtt:Prefix is set empty", StringComparison.Ordinal) && e.Message.Contains(mosquitto.Address, StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData(BrokerKind.Embedded)]
    [InlineData(BrokerKind.Mosquitto)]
    public async Task BrokerGoneMidRun_SimulationKeepsRunning_AndStatusResumesWhenItIsBack(BrokerKind kind)
    {
        await using var rig = await MqttStatusRig.StartAsync(kind, "nrp_test");
        rig.Host.Experiment().WithConfig(timeout: 1000).WithFakeClient("step_seconds", 0.005).Build();
        var sim = await rig.Host.CreatePausedAsync();
        await rig.Host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        var status = rig.Topic(sim.Id, "status");
        await rig.Recorder.WaitForAsync(status, m => m.State == "started");

        var broker = rig.Host.Services.GetRequiredService<EmbeddedMqttBroker>();
        if (rig.Mosquitto is { } mosquitto)
        {
            await mosquitto.StopAsync();
        }
        else
        {
            await broker.StopAsync(CancellationToken.None);
        }

        await Eventually.TrueAsync(() => !rig.Publisher.IsConnected, "the publisher did not notice the broker is gone");
        var atLoss = rig.Host.Manager.Find(sim.Id)!.Clock;
        var whileAway = await rig.Host.WaitForAsync(sim.Id, s => s.Clock.Iterations > atLoss.Iterations + 200);
        Assert.Equal(SimulationState.Started, whileAway.State);

        var mark = rig.Recorder.LastSequence;
        if (rig.Mosquitto is { } again)
        {
            await again.StartAgainAsync();
        }
        else
        {
            await broker.StartAsync(CancellationToken.None);
        }

        var resumed = await rig.Recorder.WaitForAsync(status, m => m.State == "started", mark, TimeSpan.FromSeconds(30));
        Assert.True(resumed.Json.GetProperty("simulationTime").GetDouble() >= whileAway.Clock.SimulationTime);
        Assert.True(rig.Publisher.IsConnected);

        var stop = await rig.Host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);
        Assert.Equal(StateChangeStatus.Changed, stop.Status);
        await rig.Recorder.WaitForAsync(status, m => m.State == "stopped", resumed.Sequence);
    }

    [Fact]
    public async Task BrokerUnreachable_SimulationLifecycleIsUnaffected()
    {
        var nothing = FreePort.Next();
        await using var host = new CoreHost(
            configure: s => s["NrpHost:Mqtt:Broker"] = $"127.0.0.1:{nothing}",
            services: b => b.AddMqttStatus());
        await host.StartHostedServicesAsync();
        host.Experiment().WithConfig(timeout: 1000).WithFakeClient("step_seconds", 0.001).Build();
        var health = host.Services.GetRequiredService<IMessagingHealth>();

        var sim = await host.CreatePausedAsync();
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForAsync(sim.Id, s => s.Clock.Iterations > 20);
        var stop = await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);

        Assert.Equal(StateChangeStatus.Changed, stop.Status);
        Assert.False(health.IsConnected);
        Assert.False(health.IsEmbeddedBroker);
        Assert.Equal($"127.0.0.1:{nothing}", health.Broker);
        Assert.Contains(host.Logs.Entries, e => e.Message.Contains($"cannot reach 127.0.0.1:{nothing}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task EmbeddedBroker_IsGivenToNrpCoreAsTheDataTransferBroker()
    {
        var port = FreePort.Next();
        await using var host = new CoreHost(
            configure: s => s["NrpHost:Mqtt:EmbeddedPort"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            services: b => b.AddMqttStatus());

        var nrpCore = host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<global::NrpHost.NrpCore.NrpCoreOptions>>().Value;

        Assert.Equal($"127.0.0.1:{port}", nrpCore.MqttBroker);
    }
}
