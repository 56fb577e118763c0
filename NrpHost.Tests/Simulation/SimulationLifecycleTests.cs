using System.Collections.Concurrent;
using System.IO.Compression;
using System.Text.Json;
using System.Text.RegularExpressions;
using NrpHost.Simulation;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Simulation;

/// <summary>The simulation life cycle through <see cref="ISimulationManager"/>, in each isolation mode (one subclass each).</summary>
public abstract class SimulationLifecycleTests(string isolation)
{
    /// <summary>A host whose simulations run in this class's isolation mode.</summary>
    private CoreHost NewHost(Action<Dictionary<string, string?>>? configure = null) => new(configure: s =>
    {
        s["NrpHost:Simulation:Isolation"] = isolation;
        s["NrpHost:Simulation:Worker:WarmSpare"] = "true"; // in worker processes: as the server runs them
        configure?.Invoke(s);
    });

    /// <summary>
    /// How long a test watches for something that must not happen (a step while paused): a claim that nothing happens
    /// needs a window, not an event. 150 steps of the 1 ms scripts these tests run.
    /// </summary>
    private static readonly TimeSpan NegativeWindow = TimeSpan.FromMilliseconds(150);

    [Fact]
    public async Task Create_StagesAndInitialises_EndsPausedWithNoStepsDone()
    {
        await using var host = NewHost();
        host.Experiment().Build();

        var created = await host.CreatePausedAsync();

        Assert.Equal(0, created.Id);
        Assert.Equal("exp", created.ExperimentId);
        Assert.Equal("simulation_config.json", created.ExperimentConfiguration);
        Assert.Equal("main_script.py", created.MainScript);
        Assert.Equal("default-owner", created.Owner);
        Assert.Equal(0, created.Clock.Iterations);
        Assert.Equal(1.0, created.Clock.SimulationTimeLeft, 6);
    }

    [Fact]
    public async Task Create_FirstEventIsNewWithNoPreviousState_ThenCreatedToPaused()
    {
        await using var host = NewHost();
        host.Experiment().Build();
        var events = new ConcurrentQueue<(SimulationState? Previous, SimulationState State, bool IsNew)>();
        host.Manager.StateChanged += (_, e) => events.Enqueue((e.Previous, e.Simulation.State, e.IsNew));

        await host.CreatePausedAsync();

        Assert.Equal(
            [(null, SimulationState.Created, true), (SimulationState.Created, SimulationState.Paused, false)],
            events.ToArray());
    }

    [Fact]
    public async Task StartPauseResumeStop_WalksTheStatesAndCleansUp()
    {
        await using var host = NewHost();
        host.Experiment().WithConfig(timeout: 1000).WithFakeClient("step_seconds", 0.001).Build();
        var sim = await host.CreatePausedAsync();
        var directory = ((SimulationManager)host.Manager).DirectoryOf(sim.Id)!;
        Assert.True(Directory.Exists(directory));

        Assert.Equal(StateChangeStatus.Changed, (await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started)).Status);
        await host.WaitForAsync(sim.Id, s => s.Clock.Iterations > 5);

        Assert.Equal(StateChangeStatus.Changed, (await host.Manager.RequestStateAsync(sim.Id, SimulationState.Paused)).Status);
        var atPause = host.Manager.Find(sim.Id)!.Clock.Iterations;
        await Task.Delay(NegativeWindow);
        var later = host.Manager.Find(sim.Id)!.Clock.Iterations;
        Assert.InRange(later, atPause, atPause + 1); // at most the step in flight

        Assert.Equal(StateChangeStatus.Changed, (await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started)).Status);
        await host.WaitForAsync(sim.Id, s => s.Clock.Iterations > later + 5);

        var stop = await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);

        Assert.Equal(StateChangeStatus.Changed, stop.Status);
        Assert.Equal(SimulationState.Stopped, host.Manager.Find(sim.Id)!.State);
        Assert.False(Directory.Exists(directory));
        var clock = host.Manager.Find(sim.Id)!.Clock;
        Assert.True(clock.Iterations > later + 5);
        Assert.True(clock.RealTime > 0);
        Assert.Equal(clock.Iterations * 0.01, clock.SimulationTime, 6);
    }

    [Fact]
    public async Task RequestState_InvalidTransitions_AreResultsNotExceptions()
    {
        await using var host = NewHost();
        host.Experiment().Build();
        var sim = await host.CreatePausedAsync();

        Assert.Equal(StateChangeStatus.Unchanged, (await host.Manager.RequestStateAsync(sim.Id, SimulationState.Paused)).Status);
        var created = await host.Manager.RequestStateAsync(sim.Id, SimulationState.Created);
        Assert.Equal(StateChangeStatus.InvalidTransition, created.Status);
        Assert.Equal("'paused' -> 'created'", created.Message);
        Assert.Equal(StateChangeStatus.InvalidTransition, (await host.Manager.RequestStateAsync(sim.Id, SimulationState.Completed)).Status);
        Assert.Equal(StateChangeStatus.NotFound, (await host.Manager.RequestStateAsync(42, SimulationState.Started)).Status);

        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);
        var afterStop = await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);
        Assert.Equal(StateChangeStatus.Finalized, afterStop.Status);
        Assert.Equal(StateChangeStatus.Finalized, (await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started)).Status);
    }

    [Fact]
    public async Task Create_WhileAnotherIsNotFinal_IsAConflict_AndAfterStopIdsContinue()
    {
        await using var host = NewHost();
        host.Experiment().Build();
        var first = await host.CreatePausedAsync();

        var second = await host.Manager.CreateAsync(new SimulationRequest("exp"));
        Assert.Equal(CreateSimulationStatus.Conflict, second.Status);
        Assert.Single(host.Manager.List());

        await host.Manager.RequestStateAsync(first.Id, SimulationState.Stopped);
        var third = await host.CreatePausedAsync();
        Assert.Equal(1, third.Id);
        Assert.Equal([0, 1], host.Manager.List().Select(s => s.Id));
    }

    [Fact]
    public async Task Completed_CountsAsNotFinal_ForTheActiveLimit()
    {
        await using var host = NewHost();
        host.Experiment().WithScript("nrp.run_loop()\n").Build();
        var sim = await host.CreatePausedAsync();
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForStateAsync(sim.Id, SimulationState.Completed);

        Assert.Equal(CreateSimulationStatus.Conflict, (await host.Manager.CreateAsync(new SimulationRequest("exp"))).Status);
        Assert.Equal(StateChangeStatus.Changed, (await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped)).Status);
    }

    [Fact]
    public async Task Timeout_AfterExactlyTimeoutOverTimestepCalls()
    {
        await using var host = NewHost();
        host.Experiment().WithConfig(timeout: 0.5, timestep: 0.01).Build();
        var sim = await host.CreatePausedAsync();

        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        var done = await host.WaitForStateAsync(sim.Id, SimulationState.Completed);

        Assert.Equal(50, done.Clock.Iterations);
        Assert.Equal(0.5, done.Clock.SimulationTime, 6);
        Assert.Equal(0.0, done.Clock.SimulationTimeLeft, 6);
    }

    [Theory]
    [InlineData(0.3, 0.1, 3)]
    [InlineData(2.0, 0.02, 100)]
    public async Task Timeout_UsesFloorOfTheRatio_WithoutFloatingPointLoss(double timeout, double timestep, long expected)
    {
        await using var host = NewHost();
        host.Experiment().WithConfig(timeout, timestep).Build();
        var sim = await host.CreatePausedAsync();

        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        var done = await host.WaitForStateAsync(sim.Id, SimulationState.Completed);

        Assert.Equal(expected, done.Clock.Iterations);
    }

    [Fact]
    public async Task Stop_FromPaused_WakesTheScriptAndShutsTheClientDown()
    {
        await using var host = NewHost();
        var journal = Path.Combine(host.Scratch, "journal.jsonl");
        host.Experiment().WithConfig(timeout: 1000).WithFakeClient("journal", journal).Build();
        var sim = await host.CreatePausedAsync();
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForAsync(sim.Id, s => s.Clock.Iterations > 3);
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Paused);

        var stop = await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);

        Assert.Equal(StateChangeStatus.Changed, stop.Status);
        var calls = File.ReadAllLines(journal).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("call").GetString()).ToList();
        Assert.Equal(["construct", "initialize", "shutdown"], calls);
    }

    [Fact]
    public async Task Stop_FromPausedNeverStarted_ShutsDownWithoutRunningTheScript()
    {
        await using var host = NewHost();
        var marker = Path.Combine(host.Scratch, "ran");
        host.Experiment().WithScript($"open({JsonSerializer.Serialize(marker)}, 'w').close()\n").Build();
        var sim = await host.CreatePausedAsync();

        var stop = await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);

        Assert.Equal(StateChangeStatus.Changed, stop.Status);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public async Task Stop_WhileCreated_EndsStoppedWithNothingLeft()
    {
        await using var host = NewHost();
        host.Experiment().WithFakeClient("initialize_seconds", 0.5).Build();
        var states = new ConcurrentQueue<SimulationState>();
        host.Manager.StateChanged += (_, e) => states.Enqueue(e.Simulation.State);

        var create = host.Manager.CreateAsync(new SimulationRequest("exp"));
        await host.WaitForAsync(0, s => ((SimulationManager)host.Manager).DirectoryOf(0) is not null);
        var stop = await host.Manager.RequestStateAsync(0, SimulationState.Stopped);
        var created = await create;

        Assert.Equal(StateChangeStatus.Changed, stop.Status);
        Assert.Equal(SimulationState.Stopped, host.Manager.Find(0)!.State);
        Assert.Equal(CreateSimulationStatus.Stopped, created.Status);
        Assert.DoesNotContain(SimulationState.Paused, states);
        Assert.Empty(Directory.EnumerateDirectories(host.WorkDirectory, "nrp.*"));
    }

    [Fact]
    public async Task Stop_FromCompleted_CleansUp()
    {
        await using var host = NewHost();
        host.Experiment().WithScript("nrp.run_loop(3)\n").Build();
        var sim = await host.CreatePausedAsync();
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        var done = await host.WaitForStateAsync(sim.Id, SimulationState.Completed);
        Assert.Equal(3, done.Clock.Iterations);

        Assert.Equal(StateChangeStatus.Changed, (await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped)).Status);
        Assert.Equal(3, host.Manager.Find(sim.Id)!.Clock.Iterations);
    }

    [Theory]
    [InlineData("while True:\n    pass\n")]
    [InlineData("x = 0\nwhile True:\n    try:\n        x += 1\n    except Exception:\n        pass\n")]
    [InlineData("while True:\n    try:\n        nrp.run_loop()\n    except Exception:\n        pass\n    while True:\n        try:\n            sum(range(1000))\n        except Exception:\n            pass\n")]
    public async Task Stop_OfAScriptThatNeverReachesRunLoop_InterruptsIt(string script)
    {
        await using var host = NewHost();
        var errors = new ConcurrentQueue<SimulationError>();
        host.Experiment().WithConfig(timeout: 1000).WithScript("open('running.marker', 'w').close()\n" + script).Build();
        var sim = await host.CreatePausedAsync();
        var marker = Path.Combine(((SimulationManager)host.Manager).DirectoryOf(sim.Id)!, "running.marker");
        host.Manager.RuntimeError += (_, e) => errors.Enqueue(e.Error);
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForAsync(sim.Id, _ => File.Exists(marker));

        var stop = await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);

        Assert.Equal(StateChangeStatus.Changed, stop.Status);
        Assert.Equal(SimulationState.Stopped, host.Manager.Find(sim.Id)!.State);
        Assert.Empty(errors); // a stop is not a fault
    }

    [Fact]
    public async Task Stop_OfALoopCatchingException_EndsAtTheNextRunLoop()
    {
        await using var host = NewHost();
        host.Experiment().WithConfig(timeout: 1000)
            .WithScript("while True:\n    try:\n        nrp.run_loop()\n    except Exception:\n        pass\n").Build();
        var sim = await host.CreatePausedAsync();
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForAsync(sim.Id, s => s.Clock.Iterations > 10);

        Assert.Equal(StateChangeStatus.Changed, (await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped)).Status);
    }

    [Fact]
    public async Task SysExit_EndsTheScriptNotTheHost()
    {
        await using var host = NewHost();
        host.Experiment().WithScript("import sys\nnrp.run_loop()\nsys.exit()\n").Build();
        var sim = await host.CreatePausedAsync();

        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        var done = await host.WaitForStateAsync(sim.Id, SimulationState.Completed);

        Assert.Equal(1, done.Clock.Iterations);
    }

    [Fact]
    public async Task Script_SeesExactlyTheInjectedNames_AndRelativePathsResolveInTheExperiment()
    {
        await using var host = NewHost();
        var output = Path.Combine(host.Scratch, "out.json");
        host.Experiment()
            .WithFile("data/input.txt", "from the experiment")
            .WithScript($$"""
                names = sorted(k for k in globals() if not k.startswith("__"))
                import json
                with open("data/input.txt") as f:
                    text = f.read()
                try:
                    nrp.initialize()
                    refused = False
                except NotImplementedError as e:
                    refused = str(e)
                file_logger.info("hello from the script")
                json.dump({"names": names, "text": text, "refused": refused, "timeout_is_exception": issubclass(NRPSimulationTimeout, Exception)}, open({{JsonSerializer.Serialize(output)}}, "w"))
                """).Build();
        var sim = await host.CreatePausedAsync();

        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForStateAsync(sim.Id, SimulationState.Completed);

        using var result = JsonDocument.Parse(File.ReadAllText(output));
        var names = result.RootElement.GetProperty("names").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Equal(["NRPSimulationTimeout", "file_logger", "logging", "nrp"], names);
        Assert.Equal("from the experiment", result.RootElement.GetProperty("text").GetString());
        Assert.Equal("initialize() is not available", result.RootElement.GetProperty("refused").GetString());
        Assert.True(result.RootElement.GetProperty("timeout_is_exception").GetBoolean());
    }

    [Fact]
    public async Task Stop_ZipsTheLogsAndHandsThemToStorage()
    {
        await using var host = NewHost();
        host.Experiment().WithScript("print('printed by the script')\nfile_logger.info('logged to file')\nnrp.run_loop()\n").Build();
        var sim = await host.CreatePausedAsync();
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForStateAsync(sim.Id, SimulationState.Completed);

        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);

        var archive = Assert.Single(Directory.GetFiles(Path.Combine(host.StorageRoot, "exp"), "*_simulation_0_*.log.zip"));
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}_simulation_0_" + Regex.Escape(host.HostId) + @"\.log\.zip$", Path.GetFileName(archive));
        using var zip = ZipFile.OpenRead(archive);
        string Read(string name)
        {
            using var reader = new StreamReader(zip.GetEntry(name)!.Open());
            return reader.ReadToEnd();
        }

        Assert.Contains("logged to file", Read("main_script_0.log"), StringComparison.Ordinal);
        Assert.Contains("printed by the script", Read("simulation_0.log"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Print_FromTheScript_ReachesTheSimulationsLogger()
    {
        await using var host = NewHost();
        var marker = Guid.NewGuid().ToString("N");
        host.Experiment().WithScript($"print('script says {marker}')\n").Build();
        var sim = await host.CreatePausedAsync();

        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);

        var entry = await host.WaitForLogAsync(sim.Id, e => e.Message == $"script says {marker}");
        Assert.Equal($"NrpHost.Simulation.{sim.Id}", entry.Category);
    }

    [Fact]
    public async Task Overrides_ArePassedToTheClientForTheDataTransferEngine()
    {
        await using var host = NewHost(s => s["NrpHost:NrpCore:MqttPrefix"] = "pre");
        var journal = Path.Combine(host.Scratch, "journal.jsonl");
        host.Experiment().WithFakeClient("journal", journal).Build();

        var sim = await host.CreatePausedAsync();

        using var construct = JsonDocument.Parse(File.ReadLines(journal).First());
        var root = construct.RootElement;
        Assert.Equal("-o EngineConfigs.1.simulationID=\"0\" -o EngineConfigs.1.MQTTPrefix=\"pre\"", root.GetProperty("args").GetString());
        Assert.Equal("localhost:5345", root.GetProperty("address").GetString());
        Assert.Equal("simulation_config.json", root.GetProperty("config_file").GetString());
        Assert.Equal(((SimulationManager)host.Manager).DirectoryOf(sim.Id), root.GetProperty("experiment_folder").GetString());
    }

    [Fact]
    public async Task TwoSimulationsInARow_ShareNoState()
    {
        await using var host = NewHost();
        var output = Path.Combine(host.Scratch, "second.json");
        host.Experiment("first").WithFile("helper.py", "VALUE = 'first'\n").WithScript("""
            import sys, os, helper
            import builtins
            leaked = 'leaked'
            sys.path.append('/tmp/leak')
            sys.modules['leaky_module'] = sys
            os.chdir('/')
            nrp.run_loop()
            """).Build();
        host.Experiment("second").WithFile("helper.py", "VALUE = 'second'\n").WithScript($$"""
            import sys, os, json, helper
            json.dump({"leaked": "leaked" in globals(), "path": "/tmp/leak" in sys.path, "cwd": os.getcwd(), "helper": helper.VALUE}, open({{JsonSerializer.Serialize(output)}}, "w"))
            """).Build();

        var first = await host.CreatePausedAsync("first");
        await host.Manager.RequestStateAsync(first.Id, SimulationState.Started);
        await host.WaitForStateAsync(first.Id, SimulationState.Completed);
        await host.Manager.RequestStateAsync(first.Id, SimulationState.Stopped);
        var second = await host.CreatePausedAsync("second");
        var secondDirectory = ((SimulationManager)host.Manager).DirectoryOf(second.Id);
        await host.Manager.RequestStateAsync(second.Id, SimulationState.Started);
        await host.WaitForStateAsync(second.Id, SimulationState.Completed);

        using var result = JsonDocument.Parse(File.ReadAllText(output));
        Assert.False(result.RootElement.GetProperty("leaked").GetBoolean());
        Assert.False(result.RootElement.GetProperty("path").GetBoolean());
        Assert.Equal(secondDirectory, result.RootElement.GetProperty("cwd").GetString());
        Assert.Equal("second", result.RootElement.GetProperty("helper").GetString());
    }

    [Fact]
    public async Task Stop_OfAScriptBlockedInACall_AbandonsItAsFailed_AndTheHostKeepsServing()
    {
        await using var host = NewHost(s => s["NrpHost:Simulation:AbandonAfterMilliseconds"] = "300");
        host.Experiment("blocked").WithScript("import time\nnrp.run_loop()\ntime.sleep(20)\n").Build();
        host.Experiment().Build();
        var blocked = await host.CreatePausedAsync("blocked");
        var blockedDirectory = ((SimulationManager)host.Manager).DirectoryOf(blocked.Id)!;
        await host.Manager.RequestStateAsync(blocked.Id, SimulationState.Started);
        await host.WaitForAsync(blocked.Id, s => s.Clock.Iterations == 1);

        // time.sleep only returns to the interpreter when it ends, so the stop exception cannot land in time.
        var stop = await host.Manager.RequestStateAsync(blocked.Id, SimulationState.Stopped);

        Assert.Equal(StateChangeStatus.Failed, stop.Status);
        Assert.Equal(SimulationState.Failed, host.Manager.Find(blocked.Id)!.State);
        // Not left in the abandoned script's folder (other tests' in-process simulations may move the process meanwhile).
        Assert.False(Directory.GetCurrentDirectory().StartsWith(blockedDirectory, StringComparison.Ordinal));

        // In-process its thread is left to run (critical: it holds a part of this process); a worker process is killed.
        await host.WaitForLogAsync(blocked.Id, e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error && e.Message.Contains("abandoned", StringComparison.Ordinal)
            && (isolation != "InProcess" || e.Level == Microsoft.Extensions.Logging.LogLevel.Critical));
        var next = await host.CreatePausedAsync();
        await host.Manager.RequestStateAsync(next.Id, SimulationState.Started);
        await host.WaitForStateAsync(next.Id, SimulationState.Completed);
    }
}

[Collection(PythonCollection.Name)]
public sealed class SimulationLifecycleInProcessTests() : SimulationLifecycleTests("InProcess");

public sealed class SimulationLifecycleProcessTests() : SimulationLifecycleTests("Process");
