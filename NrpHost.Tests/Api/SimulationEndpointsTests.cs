using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using NrpHost.Storage;
using NrpHost.Simulation;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Api;

/// <summary>The NRP backend contract over real HTTP: the B and A rows of the compatibility table (nrp-peers §7).</summary>
public abstract partial class SimulationEndpointsTests(string isolation)
{
    /// <summary>The API with its simulations in this class's isolation mode (in worker processes: with the server's warm spare).</summary>
    private Task<ApiHost> StartApiAsync(Action<IServiceCollection>? services = null) =>
        ApiHost.StartAsync(
            s =>
            {
                s["NrpHost:Simulation:Isolation"] = isolation;
                s["NrpHost:Simulation:Worker:WarmSpare"] = "true";
            },
            services);

    private static readonly string[] NineKeys =
        ["MQTTPrefix", "creationDate", "ctxId", "experimentConfiguration", "experimentID", "mainScript", "owner", "simulationID", "state"];

    [Fact]
    public async Task List_WithBearerFalseAndNoSimulations_ReturnsEmptyArray() // B01, A01
    {
        await using var host = await StartApiAsync();

        var response = await host.GetAsync("/simulation", token: "false");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("application/json", response.MediaType);
        Assert.Equal(JsonValueKind.Array, response.Json.ValueKind);
        Assert.Equal(0, response.Json.GetArrayLength());
        Assert.True(IsAvailableToProxy(response.Json));
    }

    [Fact]
    public async Task List_WithoutAuthorization_ReturnsArray() // B02
    {
        await using var host = await StartApiAsync();

        var response = await host.GetAsync("/simulation");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal(JsonValueKind.Array, response.Json.ValueKind);
    }

    [Fact]
    public async Task Create_WithFrontendBody_Returns201WithNineKeysDefaultsAndLocation() // B04, B05
    {
        await using var host = await StartApiAsync();
        host.Experiment("exp_0").Build();

        var response = await host.SendAsync(HttpMethod.Post, "/simulation",
            """{"experimentID":"exp_0","experimentConfiguration":"simulation_config.json","state":"created","private":true}""", token: "no-token");

        Assert.Equal(HttpStatusCode.Created, response.Status);
        Assert.Equal("application/json", response.MediaType);
        Assert.Equal("/simulation/0", response.Location);
        var body = response.Json;
        Assert.Equal(NineKeys, body.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(0, body.GetProperty("simulationID").GetInt32());
        Assert.Equal("paused", body.GetProperty("state").GetString());
        Assert.Equal("exp_0", body.GetProperty("experimentID").GetString());
        Assert.Equal("simulation_config.json", body.GetProperty("experimentConfiguration").GetString());
        Assert.Equal("main_script.py", body.GetProperty("mainScript").GetString());
        Assert.Equal("default-owner", body.GetProperty("owner").GetString());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("ctxId").ValueKind);
        Assert.Equal(string.Empty, body.GetProperty("MQTTPrefix").GetString());
        var creationDate = body.GetProperty("creationDate").GetString()!;
        Assert.Matches(IsoWithMicroseconds(), creationDate);
        Assert.True(DateTimeOffset.TryParse(creationDate, out _));
    }

    [Fact]
    public async Task Create_WithScriptConfigurationAndContext_UsesThem()
    {
        await using var host = await StartApiAsync();
        host.Experiment().WithConfig(raw: """{"SimulationTimeout": 1, "SimulationTimestep": 0.01, "EngineConfigs": []}""")
            .WithFile("other_config.json", """{"SimulationTimeout": 1, "SimulationTimestep": 0.01, "EngineConfigs": []}""")
            .WithScript(ExperimentBuilder.LoopScript, "scripts/run.py").Build();

        var response = await host.SendAsync(HttpMethod.Post, "/simulation",
            """{"experimentID":"exp","experimentConfiguration":"other_config.json","mainScript":"scripts/run.py","ctxId":"ctx-1"}""");

        Assert.Equal(HttpStatusCode.Created, response.Status);
        Assert.Equal("other_config.json", response.Json.GetProperty("experimentConfiguration").GetString());
        Assert.Equal("scripts/run.py", response.Json.GetProperty("mainScript").GetString());
        Assert.Equal("ctx-1", response.Json.GetProperty("ctxId").GetString());
    }

    [Fact]
    public async Task Create_WithoutExperimentId_Returns400AndStoresNothing() // B06
    {
        await using var host = await StartApiAsync();

        var response = await host.SendAsync(HttpMethod.Post, "/simulation", "{}");

        response.AssertNrpError(400, "experimentID not given.", "Client error");
        Assert.Equal(JsonValueKind.Null, response.Json.GetProperty("data").ValueKind);
        Assert.Empty(host.Manager.List());
    }

    [Fact]
    public async Task Create_WhileAnotherIsPausedOrStarted_Returns409() // B07
    {
        await using var host = await StartApiAsync();
        host.LongExperiment().Build();
        await host.CreateAsync();

        var whilePaused = await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""");
        Assert.Equal(200, (await host.PutStateAsync(0, "started")).Code);
        var whileStarted = await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""");

        whilePaused.AssertNrpError(409, "Another simulation is already running on the server", "Client error");
        whileStarted.AssertNrpError(409, "Another simulation is already running on the server", "Client error");
        Assert.Single(host.Manager.List());
    }

    [Fact]
    public async Task List_WhileASimulationRuns_ShowsItAndTheServerIsNotAvailable() // B08, A02
    {
        await using var host = await StartApiAsync();
        host.LongExperiment("exp_0").Build();
        await host.CreateAsync("exp_0");

        var response = await host.GetAsync("/simulation", token: "false");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var element = Assert.Single(response.Json.EnumerateArray());
        Assert.Equal(NineKeys, element.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(0, element.GetProperty("simulationID").GetInt32());
        Assert.Equal("exp_0", element.GetProperty("experimentID").GetString());
        Assert.Equal("paused", element.GetProperty("state").GetString());
        Assert.False(IsAvailableToProxy(response.Json));
        Assert.Equal(0, RunningSimulation(response.Json)!.Value.GetProperty("simulationID").GetInt32());
    }

    [Fact]
    public async Task GetAndGetState_ReturnTheSimulationAndItsState() // B09, B10
    {
        await using var host = await StartApiAsync();
        host.LongExperiment().Build();
        var created = await host.CreateAsync();

        var simulation = await host.GetAsync("/simulation/0", token: "owner-token");
        var state = await host.GetAsync("/simulation/0/state");

        Assert.Equal(HttpStatusCode.OK, simulation.Status);
        Assert.Equal(NineKeys, simulation.Json.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(created.GetProperty("creationDate").GetString(), simulation.Json.GetProperty("creationDate").GetString());
        Assert.Equal("paused", simulation.Json.GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.OK, state.Status);
        Assert.Equal("""{"state":"paused"}""", state.Text);
    }

    [Theory]
    [InlineData("GET", "/simulation/9999")]
    [InlineData("GET", "/simulation/9999/state")]
    [InlineData("PUT", "/simulation/9999/state")]
    public async Task UnknownId_Returns404WithTheNotFoundMessage(string method, string path) // B11
    {
        await using var host = await StartApiAsync();

        var response = await host.SendAsync(new HttpMethod(method), path, method == "PUT" ? "not even json" : null);

        response.AssertNrpError(404, "The simulation with the given ID was not found", "Client error");
    }

    [Fact]
    public async Task Walk_StartPauseResumeStop_AnswersEachStateThenFreesTheServerAndCountsOn() // B12–B15, B21, B22, A03
    {
        await using var host = await StartApiAsync();
        host.LongExperiment().Build();
        var first = await host.CreateAsync();
        Assert.Equal("paused", first.GetProperty("state").GetString());

        var started = await host.PutStateAsync(0, "started");
        await Eventually.TrueAsync(() => host.Manager.Find(0)!.Clock.Iterations >= 3, "the simulation did not step");
        var paused = await host.PutStateAsync(0, "paused");
        var resumed = await host.PutStateAsync(0, "started");
        var stopped = await host.PutStateAsync(0, "stopped");

        Assert.Equal((200, """{"state":"started"}"""), (started.Code, started.Text));
        Assert.Equal((200, """{"state":"paused"}"""), (paused.Code, paused.Text));
        Assert.Equal((200, """{"state":"started"}"""), (resumed.Code, resumed.Text));
        Assert.Equal((200, """{"state":"stopped"}"""), (stopped.Code, stopped.Text));
        Assert.Equal("""{"state":"stopped"}""", (await host.GetAsync("/simulation/0/state")).Text);

        var list = await host.GetAsync("/simulation", token: "false");
        Assert.True(IsAvailableToProxy(list.Json));
        Assert.Null(RunningSimulation(list.Json));

        var second = await host.CreateAsync();
        Assert.Equal(1, second.GetProperty("simulationID").GetInt32());
        Assert.Equal(1, (await host.GetAsync("/simulation/1")).Json.GetProperty("simulationID").GetInt32());
        await host.PutStateAsync(1, "stopped");
    }

    [Fact]
    public async Task PutStopped_WhenCompleted_AnswersStopped() // B15 from completed
    {
        await using var host = await StartApiAsync();
        host.Experiment().WithConfig(timeout: 0.05).Build();
        await host.CreateAsync();
        Assert.Equal(200, (await host.PutStateAsync(0, "started")).Code);
        Assert.Equal(SimulationState.Completed, (await host.Manager.WaitForStateAsync(0, SimulationState.Completed, TimeSpan.FromSeconds(15)))!.State);

        var stopped = await host.PutStateAsync(0, "stopped");

        Assert.Equal((200, """{"state":"stopped"}"""), (stopped.Code, stopped.Text));
    }

    [Fact]
    public async Task PutState_SameState_IsAnIdempotent200()
    {
        await using var host = await StartApiAsync();
        host.LongExperiment().Build();
        await host.CreateAsync();

        var paused = await host.PutStateAsync(0, "paused");
        await host.PutStateAsync(0, "started");
        var startedAgain = await host.PutStateAsync(0, "started");

        Assert.Equal((200, """{"state":"paused"}"""), (paused.Code, paused.Text));
        Assert.Equal((200, """{"state":"started"}"""), (startedAgain.Code, startedAgain.Text));
        await host.PutStateAsync(0, "stopped");
    }

    [Theory]
    [InlineData("stopped")]
    [InlineData("failed")]
    public async Task PutState_AfterFinal_Returns400Finalized(string final) // B16
    {
        await using var host = await StartApiAsync();
        host.LongExperiment().Build();
        await host.CreateAsync();
        Assert.Equal(200, (await host.PutStateAsync(0, final)).Code);

        var again = await host.PutStateAsync(0, "started");
        var empty = await host.SendAsync(HttpMethod.Put, "/simulation/0/state", "{}");

        again.AssertNrpError(400, "The state transition is invalid (The simulation requested is finalized)", "State Transition error");
        empty.AssertNrpError(400, "The state transition is invalid (The simulation requested is finalized)", "State Transition error");
    }

    [Theory]
    [InlineData("""{"state":"foo"}""", "Invalid state requested: (foo)", "State Transition error")] // B17
    [InlineData("""{"state":"initialized"}""", "Invalid state requested: (initialized)", "State Transition error")]
    [InlineData("""{"state":3}""", "Invalid state requested: (3)", "State Transition error")]
    [InlineData("""{"state":"Started"}""", "Invalid state requested: (Started)", "State Transition error")]
    [InlineData("{}", "state not given.", "Client error")] // B18
    [InlineData("""{"state":null}""", "state not given.", "Client error")]
    [InlineData("""{"state":"created"}""", "The state transition is invalid ('paused' -> 'created')", "State Transition error")]
    [InlineData("""{"state":"completed"}""", "The state transition is invalid ('paused' -> 'completed')", "State Transition error")]
    public async Task PutState_BadRequests_Return400AndLeaveTheSimulationPaused(string body, string message, string type)
    {
        await using var host = await StartApiAsync();
        host.LongExperiment().Build();
        await host.CreateAsync();

        var response = await host.SendAsync(HttpMethod.Put, "/simulation/0/state", body);

        response.AssertNrpError(400, message, type);
        Assert.Equal("""{"state":"paused"}""", (await host.GetAsync("/simulation/0/state")).Text);
    }

    [Fact]
    public async Task Create_WhenTheExperimentDoesNotExist_Returns404AndWritesNothing()
    {
        await using var host = await StartApiAsync();
        host.Experiment().Build();
        var mark = host.Logs.Mark;

        for (var i = 0; i < 20; i++)
        {
            var response = await host.SendAsync(HttpMethod.Post, "/simulation", $$"""{"experimentID":"missing-{{i}}"}""");

            response.AssertNrpError(404, $"The experiment 'missing-{i}' was not found in the local experiment folder", "Client error");
            Assert.DoesNotContain(host.StorageRoot, response.Text, StringComparison.Ordinal);
        }

        // Nothing listed, nothing in the work directory or unsent-logs, nothing logged as a failure, no id used up.
        Assert.Equal("[]", (await host.GetAsync("/simulation")).Text);
        Assert.Empty(Directory.Exists(host.WorkDirectory) ? Directory.GetFileSystemEntries(host.WorkDirectory, "*", SearchOption.AllDirectories).Where(e => !e.Contains("unsent-logs", StringComparison.Ordinal) || File.Exists(e)) : []);
        Assert.DoesNotContain(host.Logs.Since(mark), e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Warning && e.Message.Contains("missing-", StringComparison.Ordinal));
        var created = await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""");
        Assert.Equal(201, created.Code);
        Assert.Equal(0, created.Json.GetProperty("simulationID").GetInt32());
    }

    [Fact]
    public async Task Create_WhenInitialisationFails_Returns500StartErrorAndTheSimulationIsFailed()
    {
        await using var host = await StartApiAsync();
        host.Experiment().WithFakeClient("fail_initialize", "engine exploded").Build();

        var response = await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""");

        var error = response.AssertNrpError(500, type: "Server Error");
        Assert.StartsWith("Error starting the simulation. (\"", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.EndsWith("\") An exception has occurred", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("engine exploded", error.GetProperty("data").GetString(), StringComparison.Ordinal);
        Assert.Equal("failed", (await host.GetAsync("/simulation/0/state")).Json.GetProperty("state").GetString());
        Assert.Equal(500, (await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""")).Code); // a failed one does not block
    }

    [Theory]
    [InlineData("""{"EngineName": "world", "EngineType": "gazebo_grpc"}""", "", "Engine type \"gazebo_grpc\" (engine \"world\")", 4)]
    [InlineData("""{"EngineName": "one", "EngineType": "python_json", "PythonFileName": "engine.py"}""", "\"SimulationLoop\": \"EventLoop\",", "SimulationLoop \"EventLoop\"", 2)]
    public async Task Create_WithAConfigurationTheRuntimeRefuses_Returns422NamingTheConfigurationFileAndLine(
        string engine, string loop, string refused, int line)
    {
        await using var host = await ApiHost.StartAsync(s =>
        {
            s["NrpHost:Simulation:Isolation"] = isolation;
            // The embedded runtime, not the fake client.
            s["NrpHost:NrpCore:Mode"] = "Embedded";
            s["NrpHost:NrpCore:Client"] = "nrp_client:NrpCore";
            s.Remove("NrpHost:NrpCore:PythonPath:0");
        });
        host.Experiment("refused").WithConfig(raw: $$"""
            {
              {{loop}}
              "SimulationTimeout": 1,
              "EngineConfigs": [{{engine}}]
            }
            """).Build();
        var errors = new System.Collections.Concurrent.ConcurrentQueue<SimulationError>();
        host.Manager.RuntimeError += (_, e) => errors.Enqueue(e.Error);

        var response = await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"refused"}""");

        // The user's configuration, not a fault of the server: 422 with the NRP error body, naming the file and line.
        var error = response.AssertNrpError(422, type: "Client error");
        var message = error.GetProperty("message").GetString()!;
        Assert.StartsWith("The experiment 'refused' cannot be run as configured: ", message, StringComparison.Ordinal);
        Assert.Contains(refused, message, StringComparison.Ordinal);
        Assert.EndsWith($"(simulation_config.json, line {line})", message, StringComparison.Ordinal);
        Assert.Equal("failed", (await host.GetAsync("/simulation/0/state")).Json.GetProperty("state").GetString());
        var reported = Assert.Single(errors); // the runtime_error, as published
        Assert.Equal("simulation_config.json", reported.FileName);
        Assert.Equal(line, reported.LineNumber);
    }

    [Theory]
    [InlineData("""{"experimentID":"exp","mainScript":"../outside.py"}""")]
    [InlineData("""{"experimentID":"exp","experimentConfiguration":"/etc/passwd"}""")]
    public async Task Create_WithAPathOutsideTheExperiment_Returns400(string body)
    {
        await using var host = await StartApiAsync();
        host.Experiment().Build();

        var response = await host.SendAsync(HttpMethod.Post, "/simulation", body);

        response.AssertNrpError(400, type: "Client error");
        Assert.Empty(host.Manager.List());
    }

    [Theory]
    [InlineData(ExperimentStorageError.Unavailable, 502, "Server Error")]
    [InlineData(ExperimentStorageError.Unauthorized, 401, "Client error")]
    [InlineData(ExperimentStorageError.Forbidden, 403, "Client error")]
    public async Task Create_WhenStorageRefusesOrFails_MapsTheFault(ExperimentStorageError error, int status, string type)
    {
        var storage = new FailingStorage(error);
        await using var host = await StartApiAsync(s => s.AddSingleton<IExperimentStorage>(storage));

        var response = await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""");

        var body = response.AssertNrpError(status, type: type);
        Assert.Contains("local experiment folder", body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("storage says no", body.GetProperty("data").GetString());
    }

    /// <summary>The NRP Proxy's rule: a server is available iff every simulation is stopped or failed.</summary>
    private static bool IsAvailableToProxy(JsonElement list) => RunningSimulation(list) is null;

    private static JsonElement? RunningSimulation(JsonElement list)
    {
        foreach (var element in list.EnumerateArray())
        {
            if (element.GetProperty("state").GetString() is not ("stopped" or "failed"))
            {
                return element;
            }
        }

        return null;
    }

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d$")]
    private static partial Regex IsoWithMicroseconds();

    private sealed class FailingStorage(ExperimentStorageError error) : IExperimentStorage
    {
        public Task StageAsync(ExperimentLocation experiment, string targetDirectory, CancellationToken cancellationToken = default) =>
            throw new ExperimentStorageException(error, "storage says no");

        public Task<string> UploadAsync(ExperimentLocation experiment, string fileName, Stream content, CancellationToken cancellationToken = default) =>
            Task.FromResult(fileName);

        public Task<IReadOnlyList<ExperimentSummary>> ListAsync(string? token, CancellationToken cancellationToken = default) =>
            throw new ExperimentStorageException(error, "storage says no");
    }
}

[Collection(PythonCollection.Name)]
public sealed class SimulationEndpointsInProcessTests() : SimulationEndpointsTests("InProcess");

public sealed class SimulationEndpointsProcessTests() : SimulationEndpointsTests("Process");
