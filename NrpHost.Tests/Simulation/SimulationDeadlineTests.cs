using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using NrpHost.Simulation;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Simulation;

/// <summary>
/// Nothing a simulation does can leave the host stuck: phases that never return are cut off at their deadline, special
/// files are never opened, an exception of any type in any phase ends in failed, and the next simulation runs.
/// </summary>
[Collection(PythonCollection.Name)]
public sealed class SimulationDeadlineTests
{
    private const string StuckShutdownEngine =
        """
        import time
        from nrp_core.engines.python_json import EngineScript


        class Script(EngineScript):
            def initialize(self):
                pass

            def runLoop(self, timestep_ns):
                pass

            def shutdown(self):
                print("stuck engine: shutting down")
                time.sleep(30)
        """;

    private static string OneEngineConfig(string engineName, string file) =>
        $$"""{"SimulationTimeout": 1, "EngineConfigs": [{"EngineType": "python_json", "EngineName": "{{engineName}}", "PythonFileName": "{{file}}"}]}""";

    [Fact]
    public async Task Stop_WhenAnEngineShutdownNeverReturns_FailsNamingTheEngineWithinTheDeadline_AndTheNextCreateWorks()
    {
        const int deadlineSeconds = 2;
        await using var host = new CoreHost(fakeClient: false,
            configure: s => s["NrpHost:Simulation:ShutdownTimeoutSeconds"] = deadlineSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        host.Experiment("stuck").WithConfig(raw: OneEngineConfig("stuck_engine", "stuck.py")).WithFile("stuck.py", StuckShutdownEngine).Build();
        host.Experiment("fine").WithConfig(raw: OneEngineConfig("fine_engine", "fine.py"))
            .WithFile("fine.py", StuckShutdownEngine.Replace("time.sleep(30)", "pass", StringComparison.Ordinal)).Build();
        var errors = new ConcurrentQueue<SimulationError>();
        host.Manager.RuntimeError += (_, e) => errors.Enqueue(e.Error);
        var stuck = await host.CreatePausedAsync("stuck");

        var stop = await host.Manager.RequestStateAsync(stuck.Id, SimulationState.Stopped).WaitAsync(TimeSpan.FromSeconds(deadlineSeconds + 5));

        Assert.Equal(StateChangeStatus.Failed, stop.Status);
        Assert.Equal(SimulationState.Failed, host.Manager.Find(stuck.Id)!.State);
        Assert.Contains("Engine 'stuck_engine' (stuck.py line 14, in shutdown)", stop.Message, StringComparison.Ordinal);
        Assert.Contains(errors, e => e.SimulationId == stuck.Id && e.Message == stop.Message);
        await host.WaitForLogAsync(stuck.Id, e => e.Message == "stuck engine: shutting down");
        Assert.Equal(1, ((SimulationManager)host.Manager).AbandonedScripts);

        var next = await host.CreatePausedAsync("fine");
        Assert.Equal(StateChangeStatus.Changed, (await host.Manager.RequestStateAsync(next.Id, SimulationState.Stopped)).Status);
    }

    [Fact]
    public async Task Create_WithAFifoAndLinksInTheExperiment_SkipsThemWithoutOpening_AndTheNextCreateWorks()
    {
        await using var host = new CoreHost();
        var experiment = host.Experiment().Build();
        await MakeFifoAsync(Path.Combine(experiment.Directory, "data.fifo"));
        Directory.CreateDirectory(Path.Combine(experiment.Directory, "assets"));
        await MakeFifoAsync(Path.Combine(experiment.Directory, "assets", "nested.fifo"));
        File.CreateSymbolicLink(Path.Combine(experiment.Directory, "passwd.txt"), "/etc/passwd");
        var mark = host.Logs.Mark;

        var created = await host.Manager.CreateAsync(new SimulationRequest("exp")).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(CreateSimulationStatus.Ready, created.Status);
        var staged = ((SimulationManager)host.Manager).DirectoryOf(created.Simulation!.Id)!;
        Assert.False(File.Exists(Path.Combine(staged, "data.fifo")));
        Assert.False(File.Exists(Path.Combine(staged, "assets", "nested.fifo")));
        Assert.False(File.Exists(Path.Combine(staged, "passwd.txt")));
        Assert.True(File.Exists(Path.Combine(staged, "main_script.py")));
        await host.Logs.WaitForAsync(e => e.Message == "Staging skipped exp/data.fifo: it is not a regular file", since: mark);
        await host.Logs.WaitForAsync(e => e.Message == "Staging skipped exp/assets/nested.fifo: it is not a regular file", since: mark);
        await host.Logs.WaitForAsync(e => e.Message == "Staging skipped exp/passwd.txt: it is a symbolic link", since: mark);

        await host.Manager.RequestStateAsync(created.Simulation.Id, SimulationState.Stopped);
        await host.CreatePausedAsync();
    }

    [Fact]
    public async Task Stop_WhileTheClientInitialises_EndsTheSimulation_AndTheNextCreateWorks()
    {
        await using var host = new CoreHost();
        var journal = Path.Combine(host.Scratch, "journal.jsonl");
        host.Experiment("slow").WithFakeClient("initialize_seconds", 3).WithFakeClient("journal", journal).Build();
        host.Experiment().Build();

        var create = host.Manager.CreateAsync(new SimulationRequest("slow"));
        await host.WaitForAsync(0, _ => File.Exists(journal) && File.ReadAllText(journal).Contains("\"initialize\"", StringComparison.Ordinal));
        var stop = await host.Manager.RequestStateAsync(0, SimulationState.Stopped).WaitAsync(TimeSpan.FromSeconds(20));
        var created = await create.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Contains(host.Manager.Find(0)!.State, new[] { SimulationState.Stopped, SimulationState.Failed });
        Assert.Contains(stop.State, new[] { SimulationState.Stopped, SimulationState.Failed });
        Assert.Equal(CreateSimulationStatus.Stopped, created.Status);
        Assert.Empty(Directory.EnumerateDirectories(host.WorkDirectory, "nrp.*"));
        var next = await host.CreatePausedAsync();
        Assert.Equal(1, next.Id);
    }

    /// <summary>Every phase but <see cref="SimulationPhase.Restore"/>: a failed restore takes the interpreter out of service for
    /// the whole process, so it is tested in a process of its own (ContainmentProcessTests).</summary>
    public static TheoryData<string> Phases() => [.. Enum.GetNames<SimulationPhase>().Where(p => p != nameof(SimulationPhase.Restore))];

    [Theory]
    [MemberData(nameof(Phases))]
    public async Task AnUnexpectedExceptionInAnyPhase_EndsInFailedWithARuntimeError_AndTheNextCreateWorks(string phaseName)
    {
        var phase = Enum.Parse<SimulationPhase>(phaseName);
        var fired = 0;
        await using var host = new CoreHost(services: b => b.Services.AddSingleton(new SimulationFaultInjection(p =>
        {
            if (p == phase && Interlocked.Exchange(ref fired, 1) == 0)
            {
                throw new InvalidProgramException("injected in " + p);
            }
        })));
        host.Experiment().WithConfig(timeout: 1000).Build();
        var errors = new ConcurrentQueue<SimulationError>();
        host.Manager.RuntimeError += (_, e) => errors.Enqueue(e.Error);
        var hostDirectory = Directory.GetCurrentDirectory();

        var created = await host.Manager.CreateAsync(new SimulationRequest("exp"));
        if (phase is SimulationPhase.Stage or SimulationPhase.Configure or SimulationPhase.Python or SimulationPhase.Prepare)
        {
            Assert.Equal(CreateSimulationStatus.Failed, created.Status);
            Assert.Contains("injected in " + phase, created.Message, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal(CreateSimulationStatus.Ready, created.Status);
            await host.Manager.RequestStateAsync(0, SimulationState.Started);
            if (phase != SimulationPhase.Run)
            {
                var stop = await host.Manager.RequestStateAsync(0, SimulationState.Stopped);
                Assert.Equal(StateChangeStatus.Failed, stop.Status);
            }
        }

        var failed = await host.WaitForStateAsync(0, SimulationState.Failed);
        Assert.Equal(SimulationState.Failed, failed.State);
        Assert.Contains(errors, e => e.SimulationId == 0 && e.Message.Contains("injected in " + phase, StringComparison.Ordinal));
        Assert.Equal(hostDirectory, Directory.GetCurrentDirectory());
        if (phase == SimulationPhase.Upload)
        {
            Assert.Single(Directory.GetFiles(Path.Combine(host.WorkDirectory, "unsent-logs"), "*_simulation_0_*.log.zip"));
        }

        var next = await host.CreatePausedAsync();
        await host.Manager.RequestStateAsync(next.Id, SimulationState.Started);
        Assert.Equal(StateChangeStatus.Changed, (await host.Manager.RequestStateAsync(next.Id, SimulationState.Stopped)).Status);
    }

    [Fact]
    public async Task StoppingRunawayScriptsRepeatedly_AlwaysGivesTheInterpreterBackClean()
    {
        await using var host = new CoreHost();
        host.Experiment().WithConfig(timeout: 1000)
            .WithScript("import sys\nopen('running.marker', 'w').close()\nwhile True:\n    sys.path.append('/nowhere')\n    sys.path.pop()\n").Build();
        var hostDirectory = Directory.GetCurrentDirectory();
        var pathBefore = PythonPath();

        for (var round = 0; round < 8; round++)
        {
            var sim = await host.CreatePausedAsync();
            var marker = Path.Combine(((SimulationManager)host.Manager).DirectoryOf(sim.Id)!, "running.marker");
            await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
            await host.WaitForAsync(sim.Id, _ => File.Exists(marker));

            Assert.Equal(StateChangeStatus.Changed, (await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped)).Status);
            Assert.Equal(hostDirectory, Directory.GetCurrentDirectory());
            Assert.Equal(pathBefore, PythonPath());
        }
    }

    [Fact]
    public async Task AScriptThreadThatOutlivesItsScript_FindsTheControlBlockReleased_NotFreedUnderIt()
    {
        await using var host = new CoreHost();
        var report = Path.Combine(host.Scratch, "stray.txt");
        host.Experiment().WithConfig(timeout: 1000).WithScript(
            $$"""
            import threading, time

            def stray(nrp=nrp, time=time):
                while True:
                    try:
                        nrp.run_loop()
                    except ValueError as err:
                        with open(r'{{report}}', 'w') as out:
                            out.write(str(err))
                        return
                    except BaseException:
                        time.sleep(0.01)

            threading.Thread(target=stray, daemon=True).start()
            """).Build();
        var sim = await host.CreatePausedAsync();
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForStateAsync(sim.Id, SimulationState.Completed);

        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);

        await host.WaitForAsync(sim.Id, _ => File.Exists(report) && new FileInfo(report).Length > 0);
        Assert.Contains("released", File.ReadAllText(report), StringComparison.Ordinal);
        var next = await host.CreatePausedAsync();
        await host.Manager.RequestStateAsync(next.Id, SimulationState.Started);
        await host.WaitForStateAsync(next.Id, SimulationState.Completed);
    }

    internal static async Task MakeFifoAsync(string path)
    {
        using var made = Process.Start("mkfifo", path)!;
        await made.WaitForExitAsync();
        Assert.Equal(0, made.ExitCode);
    }

    private static List<string> PythonPath()
    {
        using (global::Python.Runtime.Py.GIL())
        {
            using var sys = global::Python.Runtime.Py.Import("sys");
            using var path = sys.GetAttr("path");
            return Enumerable.Range(0, (int)path.Length()).Select(i => path[i].As<string>()).ToList();
        }
    }
}
