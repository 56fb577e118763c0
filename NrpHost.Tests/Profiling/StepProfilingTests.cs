using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using NrpHost.Profiling;
using NrpHost.Simulation;
using NrpHost.Telemetry;
using NrpHost.Tests.Infrastructure;
using NrpHost.Tests.NrpCore;
using Python.Runtime;

namespace NrpHost.Tests.Profiling;

/// <summary>
/// Step-latency profiling end to end on the shipped <c>tf_exchange</c> example (two python_json engines, one transceiver
/// function, one DataTransfer engine, 100 steps): the REST profile, nrp-core's time-log files in the log archive,
/// the summary in the simulation log, the meter; and that nothing of it exists when profiling is off.
/// </summary>
[Collection(PythonCollection.Name)]
public sealed class StepProfilingTests(PythonFixture python)
{
    private const string Example = "tf_exchange";

    [Fact]
    public async Task ProfiledExample_WritesOneStepDurationLinePerStep_AndSubStepFilesInOrder_AndTheJsonMatchesThem()
    {
        await using var api = await StartEmbeddedApiAsync();

        // Available after completion, until the stop.
        var (id, json) = await RunProfiledExampleAsync(api);
        await api.Manager.RequestStateAsync(id, SimulationState.Stopped);
        var files = ReadTimeLogs(api.StorageRoot, json.GetProperty("timeLogs").GetString()!);

        // One line per step (100 steps: SimulationTimeout 1 s, timestep 0.01 s), in every per-step file.
        Assert.Equal(100, json.GetProperty("steps").GetInt64());
        Assert.Equal(100, json.GetProperty("runLoopCalls").GetInt64());
        Assert.Equal(0, json.GetProperty("lostSteps").GetInt64());
        foreach (var file in TimeLogs.CycleFiles)
        {
            Assert.Equal(100, files[file].Length);
        }

        // Each timestamp is at or after the previous phase's, and a step starts at or after the previous one's end.
        string[] order = ["step_start", "after_wait_for_engines", "after_get_datapacks", "after_run_tfs", "after_send_datapacks", "after_restart_engines"];
        for (var step = 0; step < 100; step++)
        {
            for (var phase = 1; phase < order.Length; phase++)
            {
                Assert.True(files[order[phase]][step] >= files[order[phase - 1]][step], $"step {step}: {order[phase]} before {order[phase - 1]}");
            }

            if (step > 0)
            {
                Assert.True(files["step_start"][step] >= files["after_restart_engines"][step - 1], $"step {step} starts before step {step - 1} ended");
            }

            Assert.InRange(files["step_duration"][step] - (files["after_restart_engines"][step] - files["step_start"][step]), -1, 1);
        }

        // The JSON says what the files say.
        var phases = json.GetProperty("phases");
        AssertMatches(phases.GetProperty("step"), files["step_duration"]);
        AssertMatches(phases.GetProperty("get_datapacks"), Differences(files["after_get_datapacks"], files["after_wait_for_engines"]));
        AssertMatches(phases.GetProperty("run_functions"), Differences(files["after_run_tfs"], files["after_get_datapacks"]));
        AssertMatches(phases.GetProperty("send_datapacks"), Differences(files["after_send_datapacks"], files["after_run_tfs"]));
        AssertMatches(phases.GetProperty("restart_engines"), Differences(files["after_restart_engines"], files["after_send_datapacks"]));
        Assert.Equal(100, phases.GetProperty("run_loop").GetProperty("count").GetInt64());
        Assert.Equal(100, phases.GetProperty("host").GetProperty("count").GetInt64());
        Assert.True(phases.GetProperty("run_loop").GetProperty("mean").GetDouble() >= phases.GetProperty("step").GetProperty("mean").GetDouble());
        foreach (var engine in new[] { "python_1", "python_2", "datatransfer_engine" })
        {
            Assert.Equal(100, json.GetProperty("engines").GetProperty(engine).GetProperty("count").GetInt64());
        }

        Assert.Equal(100, json.GetProperty("functions").GetProperty("tf_1").GetProperty("count").GetInt64());

        // nrp-core's experiment_stats.log: the initialisation, one line per run request, the shutdown, the total last.
        var labels = ReadTimeLog(api.StorageRoot, json.GetProperty("timeLogs").GetString()!, "experiment_stats.log")
            .Select(line => line[..(line.LastIndexOf(' ') + 1)]).ToList();
        Assert.Equal(["Initializing Simulation: ", .. Enumerable.Repeat("Running Simulation: ", 100), "Shutting down Simulation: ", "NRPCoreSim execution time: "], labels);
        var stats = files["experiment_stats"];
        Assert.True(stats[^1] >= stats[..^1].Sum());
        Assert.Equal(100, stats[1..^2].Length);
        Assert.Matches(@"^time_logs/\d{8}-\d{6}-\d+$", json.GetProperty("timeLogs").GetString());

        // Gone once stopped.
        using var after = await api.Client.GetAsync($"/simulation/{id}/profile");
        Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
        Assert.Contains("has no step-latency profile", await after.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [PlotSimLoopFact]
    public async Task NrpCoresPlotTool_ReadsTheTimeLogFolder_Unchanged()
    {
        await using var api = await StartEmbeddedApiAsync();
        var (id, json) = await RunProfiledExampleAsync(api);
        await api.Manager.RequestStateAsync(id, SimulationState.Stopped);
        using var temp = new TempDirectory("plot-sim-loop");
        var folder = json.GetProperty("timeLogs").GetString()!;
        using (var zip = ZipFile.OpenRead(Assert.Single(Directory.GetFiles(Path.Combine(api.StorageRoot, Example), "*.log.zip"))))
        {
            foreach (var entry in zip.Entries.Where(e => e.FullName.StartsWith(folder + "/", StringComparison.Ordinal)))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(temp.Combine(entry.FullName))!);
                entry.ExtractToFile(temp.Combine(entry.FullName));
            }
        }

        var (code, output) = PlotSimLoop.Run(temp.Combine(folder));

        // It read every file: the stats with their labels, and the mean of each phase.
        Assert.True(code == 0, output);
        Assert.Contains("NRPCoreSim execution time: ", output, StringComparison.Ordinal);
        Assert.Contains("Initializing Simulation: ", output, StringComparison.Ordinal);
        Assert.Matches(@"loop step duration \(mean\): [0-9.e-]+ \(ms\)", output);
        Assert.Matches(@"restart engines \(mean\): [0-9.e-]+ \(ms\)", output);
    }

    [Fact]
    public async Task ProfilingOff_CreatesNoTimeLogs_HasNoProfile_AndRunsTheUntimedLoop()
    {
        await using var api = await StartEmbeddedApiAsync();
        File.WriteAllText(Path.Combine(api.StorageRoot, Example, "main_script.py"), """
            with open("run_loop.txt", "w") as f:
                f.write(nrp.run_loop.__code__.co_name)
            while True:
                try:
                    nrp.run_loop()
                except NRPSimulationTimeout:
                    break
            """);
        var id = await CreateAsync(api, """{"experimentID":"tf_exchange","profile":false}""");
        var directory = ((SimulationManager)api.Manager).DirectoryOf(id)!;
        await api.Manager.RequestStateAsync(id, SimulationState.Started);
        await api.Manager.WaitForStateAsync(id, SimulationState.Completed, TimeSpan.FromSeconds(60));

        Assert.Equal("run_loop", File.ReadAllText(Path.Combine(directory, "run_loop.txt")));
        Assert.Empty(Directory.GetDirectories(directory, "time_logs*"));
        Assert.Null(api.Manager.FindProfile(id));
        using var response = await api.Client.GetAsync($"/simulation/{id}/profile");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var error = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains($"Simulation {id} has no step-latency profile", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        await api.Manager.RequestStateAsync(id, SimulationState.Stopped);
        using var zip = ZipFile.OpenRead(Assert.Single(Directory.GetFiles(Path.Combine(api.StorageRoot, Example), "*.log.zip")));
        Assert.DoesNotContain(zip.Entries, e => e.FullName.StartsWith("time_logs", StringComparison.Ordinal));
        Assert.DoesNotContain("Step-latency profile", ReadEntry(zip, $"simulation_{id}.log"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProfiledSimulation_PutsTheSummaryTableInItsLog_AndMeasuresOnTheNrpHostMeter()
    {
        var phases = new HashSet<string>();
        var engines = new HashSet<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == NrpHostTelemetry.MeterName && instrument.Name == "nrphost.step.duration")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
        {
            lock (phases)
            {
                foreach (var tag in tags)
                {
                    (tag.Key == "engine" ? engines : tag.Key == "phase" ? phases : null)?.Add((string)tag.Value!);
                }
            }
        });
        listener.Start();

        await using var host = new CoreHost(fakeClient: false, configure: s => s["NrpHost:Simulation:Profile"] = "true");
        ExampleExperimentTests.CopyDirectory(Path.Combine(ExampleExperimentTests.RepositoryExperiments(), Example), Path.Combine(host.StorageRoot, Example));
        var sim = await host.CreatePausedAsync(Example);
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForStateAsync(sim.Id, SimulationState.Completed, TimeSpan.FromSeconds(60));
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);

        using var zip = ZipFile.OpenRead(Assert.Single(Directory.GetFiles(Path.Combine(host.StorageRoot, Example), "*.log.zip")));
        var log = ReadEntry(zip, $"simulation_{sim.Id}.log");
        Assert.Contains($"Step-latency profile of simulation {sim.Id}: 100 steps, 100 nrp.run_loop calls", log, StringComparison.Ordinal);
        Assert.Matches(@"step \(FTI cycle\)\s+100\s", log);
        Assert.Matches(@"function tf_1\s+100\s", log);
        await host.WaitForLogAsync(sim.Id, e => e.Message.Contains("Step-latency profile", StringComparison.Ordinal));
        lock (phases)
        {
            Assert.Superset(new HashSet<string> { StepPhases.Step, StepPhases.GetDatapacks, StepPhases.RunFunctions, StepPhases.SendDatapacks, StepPhases.RestartEngines, StepPhases.RunLoop, StepPhases.Host, StepPhases.Engine, StepPhases.Function }, phases);
            Assert.Superset(new HashSet<string> { "python_1", "python_2" }, engines);
        }
    }

    [Fact]
    public async Task ProfiledSimulation_WithAClientOfItsOwn_TimesRunLoopOnly()
    {
        await using var host = new CoreHost();
        host.Experiment().WithConfig(timeout: 0.2).Build();
        var result = await host.Manager.CreateAsync(new SimulationRequest("exp") { Profile = true });
        var sim = result.Simulation!;
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForStateAsync(sim.Id, SimulationState.Completed);

        var profile = host.Manager.FindProfile(sim.Id)!;
        Assert.Equal(20, profile.Steps);
        Assert.Equal(20, profile.RunLoopCalls);
        Assert.Equal([StepPhases.Host, StepPhases.RunLoop], profile.Phases.Keys.Order(StringComparer.Ordinal));
        Assert.Empty(profile.Engines);
        var directory = ((SimulationManager)host.Manager).DirectoryOf(sim.Id)!;
        Assert.Equal(["experiment_stats.log"], Directory.GetFiles(Path.Combine(directory, profile.TimeLogs!)).Select(Path.GetFileName));
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);
        using var zip = ZipFile.OpenRead(Assert.Single(Directory.GetFiles(Path.Combine(host.StorageRoot, "exp"), "*.log.zip")));
        Assert.Equal([profile.TimeLogs + "/experiment_stats.log"], zip.Entries.Select(e => e.FullName).Where(n => n.StartsWith("time_logs", StringComparison.Ordinal)));
        Assert.Null(host.Manager.FindProfile(sim.Id));
    }

    [Fact]
    public void TheBuildShipsTheNativeStamps_AndProfilesWriteWithThem()
    {
        Assert.NotNull(python.Runtime);
        var module = Path.Combine(python.Runtime.PackagesPath, "nrphost", "_stamp.abi3.so");
        Assert.True(File.Exists(module), $"{module} was not built: eng/build-stamp.sh needs a C compiler and CPython's headers");
        using (Py.GIL())
        {
            using var profiling = Py.Import("nrphost.profiling");
            using var stamps = profiling.GetAttr("STAMPS");
            Assert.Equal("native", stamps.As<string>());
        }
    }

    [Fact]
    public async Task AScriptThatReachesItsRing_CannotWriteOutsideIt_AndTheNextProfileIsWhole()
    {
        await using var host = new CoreHost();
        host.Experiment().WithConfig(timeout: 0.2).WithScript("""
            stamp = next(c.cell_contents for c in nrp.run_loop.__closure__ if getattr(c.cell_contents, "__name__", "") == "stamp")
            nrp.run_loop()
            stamp(1 << 20)
            """).Build();
        var errors = new ConcurrentQueue<SimulationError>();
        host.Manager.RuntimeError += (_, e) => errors.Enqueue(e.Error);
        var sim = (await host.Manager.CreateAsync(new SimulationRequest("exp") { Profile = true })).Simulation!;
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForAsync(sim.Id, s => s.State is SimulationState.Completed or SimulationState.Failed);

        var error = Assert.Single(errors);
        Assert.Contains("slot 1048576 is outside the record (3 slots)", error.Message, StringComparison.Ordinal);
        Assert.Equal(3, error.LineNumber);
        Assert.Equal(1, host.Manager.FindProfile(sim.Id)!.RunLoopCalls);
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);

        File.WriteAllText(Path.Combine(host.StorageRoot, "exp", "main_script.py"), "for _ in range(20):\n    nrp.run_loop()\n");
        var next = (await host.Manager.CreateAsync(new SimulationRequest("exp") { Profile = true })).Simulation!;
        await host.Manager.RequestStateAsync(next.Id, SimulationState.Started);
        await host.WaitForStateAsync(next.Id, SimulationState.Completed);
        var profile = host.Manager.FindProfile(next.Id)!;
        Assert.Equal((20, 0L), (profile.RunLoopCalls, profile.LostSteps));
        Assert.Single(errors);
    }

    [Fact]
    public async Task AScriptThatForgesRecordsInItsRings_GetsItsOwnProfileWrong_AndNothingElse()
    {
        await using var api = await StartEmbeddedApiAsync();
        File.WriteAllText(Path.Combine(api.StorageRoot, Example, "main_script.py"), """
            def ring_of(function):
                return next(c.cell_contents for c in function.__closure__ if getattr(c.cell_contents, "__name__", "") == "stamp").__self__

            client = next(c.cell_contents for c in nrp.run_loop.__closure__ if getattr(c.cell_contents, "__name__", "") == "run_loop").__self__
            host, cycles = ring_of(nrp.run_loop), ring_of(client._sim.loop._run_batch)
            nrp.run_loop()
            # layouts that claim more functions and engines than a record holds, or that do not add up in 32 bits
            cycles.record([-1, 2**31 - 2, 1])
            cycles.record([-2, 2**31 - 1, 2**31 - 1])
            cycles.record([-3, -5, 2])
            # stamps that are no time at all, for a real plan and for none
            cycles.record([0, float("nan"), float("inf"), float("-inf"), 1e300, -1e300])
            cycles.commit(float("nan"))
            host.record([float("inf"), float("nan"), -1e300])
            for _ in range(20):
                nrp.run_loop()
            """);
        var (id, json) = await RunProfiledExampleAsync(api);

        // the 21 real calls and cycles are all there, with what the script forged beside them (its own to get wrong)
        Assert.True(json.GetProperty("steps").GetInt64() >= 21, json.ToString());
        Assert.Equal(22, json.GetProperty("runLoopCalls").GetInt64());
        Assert.Equal(SimulationState.Completed, api.Manager.Find(id)!.State);
        await api.Manager.RequestStateAsync(id, SimulationState.Stopped);

        // The host goes on: the example itself, profiled, after it.
        File.Copy(Path.Combine(ExampleExperimentTests.RepositoryExperiments(), Example, "main_script.py"), Path.Combine(api.StorageRoot, Example, "main_script.py"), overwrite: true);
        var (_, next) = await RunProfiledExampleAsync(api);
        Assert.Equal((100, 0L), (next.GetProperty("steps").GetInt64(), next.GetProperty("lostSteps").GetInt64()));
    }

    [Fact]
    public async Task TimeSpentPaused_IsNotCountedAsTheHostsPart()
    {
        await using var host = new CoreHost();
        host.Experiment().WithConfig(timeout: 100_000).WithFakeClient("step_seconds", 0.001).Build();
        var sim = (await host.Manager.CreateAsync(new SimulationRequest("exp") { Profile = true })).Simulation!;
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        var before = (await host.WaitForAsync(sim.Id, s => s.Clock.Iterations > 5)).Clock.Iterations;
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Paused);
        await Task.Delay(TimeSpan.FromMilliseconds(600)); // the pause being measured
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForAsync(sim.Id, s => s.Clock.Iterations > before + 10);
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Paused);

        var profile = host.Manager.FindProfile(sim.Id)!;
        Assert.True(profile.RunLoopCalls > before + 10);
        Assert.True(profile.Phases[StepPhases.Host].Max < 300_000, $"the host's part includes the pause: max {profile.Phases[StepPhases.Host].Max} µs");
        Assert.True(profile.Phases[StepPhases.RunLoop].Max < 300_000, $"the client's part includes the pause: max {profile.Phases[StepPhases.RunLoop].Max} µs");
    }

    [Theory]
    [InlineData("\"yes\"")]
    [InlineData("1")]
    [InlineData("{}")]
    public async Task Create_WithAProfileThatIsNotABoolean_Is400(string value)
    {
        await using var api = await ApiHost.StartAsync();
        using var response = await api.Client.PostAsync("/simulation",
            new StringContent("{\"experimentID\":\"exp\",\"profile\":" + value + "}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.StartsWith("Invalid profile: expected true or false", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(api.Manager.List());
    }

    [Fact]
    public async Task Profile_OfAnUnknownSimulation_Is404NotFound_AndIsInTheOpenApiDocument()
    {
        await using var api = await ApiHost.StartAsync();
        using var response = await api.Client.GetAsync("/simulation/42/profile");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("The simulation with the given ID was not found",
            (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
        var document = await api.Client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var operation = document.GetProperty("paths").GetProperty("/simulation/{id}/profile").GetProperty("get");
        Assert.True(operation.GetProperty("responses").TryGetProperty("200", out _));
        Assert.True(operation.GetProperty("responses").TryGetProperty("404", out _));
    }

    [Fact]
    public async Task Profile_FollowsTheViewRulesOfTheSimulation_401WithoutAToken_403ForAnUnsharedUser()
    {
        var directory = new TestUserDirectory().WithUser("alice-token", "alice", "exp").WithUser("eve-token", "eve");
        await using var api = await ApiHost.StartAsync(null,
            s => Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton<global::NrpHost.Storage.IUserDirectory>(s, directory));
        api.LongExperiment().Build();
        var response = await api.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp","profile":true}""", "alice-token");
        Assert.Equal(201, response.Code);

        Assert.Equal(401, (await api.GetAsync("/simulation/0/profile")).Code);
        (await api.GetAsync("/simulation/0/profile", token: "eve-token")).AssertNrpError(403, type: "Client error");
        var allowed = await api.GetAsync("/simulation/0/profile", token: "alice-token");
        Assert.Equal(200, allowed.Code);
        Assert.Equal(0, allowed.Json.GetProperty("simulationID").GetInt32());
        Assert.Equal("us", allowed.Json.GetProperty("unit").GetString());
    }

    private static async Task<ApiHost> StartEmbeddedApiAsync()
    {
        var api = await ApiHost.StartAsync(s =>
        {
            s["NrpHost:NrpCore:Mode"] = "Embedded";
            s["NrpHost:NrpCore:Client"] = "nrp_client:NrpCore";
            s.Remove("NrpHost:NrpCore:PythonPath:0");
        });
        ExampleExperimentTests.CopyDirectory(Path.Combine(ExampleExperimentTests.RepositoryExperiments(), Example), Path.Combine(api.StorageRoot, Example));
        return api;
    }

    /// <summary>Creates the example profiled over REST, runs it to completion, and reads its profile (200) over REST.</summary>
    private static async Task<(int Id, JsonElement Profile)> RunProfiledExampleAsync(ApiHost api)
    {
        var id = await CreateAsync(api, """{"experimentID":"tf_exchange","profile":true}""");
        await api.Manager.RequestStateAsync(id, SimulationState.Started);
        await api.Manager.WaitForStateAsync(id, SimulationState.Completed, TimeSpan.FromSeconds(60));
        using var response = await api.Client.GetAsync($"/simulation/{id}/profile");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (id, await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    private static async Task<int> CreateAsync(ApiHost api, string body)
    {
        using var response = await api.Client.PostAsync("/simulation", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("simulationID").GetInt32();
    }

    /// <summary>Every <c>.log</c> of the time-log folder in the experiment's log archive, as numbers (the last word of each line).</summary>
    private static Dictionary<string, long[]> ReadTimeLogs(string storageRoot, string folder)
    {
        using var zip = ZipFile.OpenRead(Assert.Single(Directory.GetFiles(Path.Combine(storageRoot, Example), "*.log.zip")));
        var files = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var entry in zip.Entries.Where(e => e.FullName.StartsWith(folder + "/", StringComparison.Ordinal)))
        {
            using var reader = new StreamReader(entry.Open());
            files[Path.GetFileNameWithoutExtension(entry.Name)] = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => long.Parse(line.Split(' ')[^1], CultureInfo.InvariantCulture)).ToArray();
        }

        return files;
    }

    /// <summary>The lines of one file of the time-log folder, as archived.</summary>
    private static string[] ReadTimeLog(string storageRoot, string folder, string file)
    {
        using var zip = ZipFile.OpenRead(Assert.Single(Directory.GetFiles(Path.Combine(storageRoot, Example), "*.log.zip")));
        using var reader = new StreamReader(zip.GetEntry(folder + "/" + file)!.Open());
        return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private static long[] Differences(long[] later, long[] earlier) => later.Zip(earlier, (a, b) => a - b).ToArray();

    /// <summary>
    /// The JSON's statistics against the same phase computed from the files (whole microseconds, each stamp cut, so
    /// a difference may be off by one): same count, mean and max within 1 µs, percentiles within 3% + 1 µs.
    /// </summary>
    private static void AssertMatches(JsonElement statistics, long[] values)
    {
        var sorted = values.Order().ToArray();
        double Rank(double q) => sorted[Math.Max(0, (int)Math.Ceiling(q * sorted.Length) - 1)];
        Assert.Equal(values.Length, statistics.GetProperty("count").GetInt64());
        Assert.InRange(statistics.GetProperty("mean").GetDouble(), values.Average() - 1, values.Average() + 1);
        Assert.InRange(statistics.GetProperty("max").GetDouble(), sorted[^1] - 1, sorted[^1] + 1);
        foreach (var (name, q) in new[] { ("p50", 0.5), ("p90", 0.9), ("p99", 0.99) })
        {
            var expected = Rank(q);
            Assert.InRange(statistics.GetProperty(name).GetDouble(), (expected * 0.97) - 1.5, (expected * 1.03) + 1.5);
        }
    }

    private static string ReadEntry(ZipArchive zip, string name)
    {
        using var reader = new StreamReader(zip.GetEntry(name)!.Open());
        return reader.ReadToEnd();
    }
}
