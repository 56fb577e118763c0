using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using NrpHost.Simulation;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Isolation;

/// <summary>
/// Each way one line of a script used to harm the host it ran in, run in <c>Process</c> isolation: after each, the host
/// serves, the simulation is failed with how its process ended, nothing the script started is left, and the next
/// simulation runs in an interpreter nothing was done to.
/// </summary>
public sealed class WorkerEscapeTests
{
    /// <summary>Writes what the next simulation's interpreter looks like to <c>probe.json</c> in its directory.</summary>
    private const string ProbeScript =
        """
        import gc, json, locale, os, sys
        import nrphost.runner as runner
        seen = {
            "gc": gc.isenabled(),
            "environment": os.environ.get("NRPHOST_POISON"),
            "c_environment": os.popen("echo -n $NRPHOST_POISON").read(),
            "locale": locale.setlocale(locale.LC_ALL),
            "planted": "poison_module" in sys.modules,
            "json": json.dumps({"a": 1}),
            "switch_interval": sys.getswitchinterval(),
            "recursion_limit": sys.getrecursionlimit(),
            "runner": repr(nrp),
            "interrupt": callable(runner.interrupt),
            "pid": os.getpid(),
            "cwd": os.getcwd(),
        }
        with open("probe.json", "w") as out:
            out.write(json.dumps(seen))
        nrp.run_loop()
        """;

    public static TheoryData<string, string, string> Escapes() => new()
    {
        {
            "the real _exit taken out of the guard's closure",
            """
            import os
            real = [c.cell_contents for c in os._exit.__closure__ if getattr(c.cell_contents, "__name__", "") == "_exit"][0]
            nrp.run_loop()
            real(9)
            """,
            "The simulation's process exited with code 9"
        },
        {
            "posix imported afresh",
            """
            import sys
            nrp.run_loop()
            del sys.modules["posix"]
            import posix
            posix._exit(9)
            """,
            "The simulation's process exited with code 9"
        },
        {
            "SIGKILL to its own thread",
            """
            import os, signal, threading
            nrp.run_loop()
            os.kill(threading.get_native_id(), signal.SIGKILL)
            """,
            "The simulation's process was killed by signal 9 (SIGKILL)"
        },
        {
            "an interval timer",
            """
            import signal, time
            nrp.run_loop()
            signal.setitimer(signal.ITIMER_REAL, 0.2)
            while True:
                time.sleep(0.05)
            """,
            "The simulation's process was killed by signal 14 (SIGALRM)"
        },
        {
            "an alarm",
            """
            import signal, time
            nrp.run_loop()
            signal.alarm(1)
            while True:
                time.sleep(0.05)
            """,
            "The simulation's process was killed by signal 14 (SIGALRM)"
        },
        {
            "faulthandler's exit",
            """
            import faulthandler, sys, time
            nrp.run_loop()
            faulthandler.dump_traceback_later(0.2, exit=True, file=sys.__stderr__)
            while True:
                time.sleep(0.05)
            """,
            "The simulation's process exited with code 1"
        },
        {
            "a read of address 0",
            """
            import ctypes
            nrp.run_loop()
            ctypes.string_at(0)
            """,
            "The simulation's process was killed by signal 11 (SIGSEGV) (Fatal Python error: Segmentation fault)"
        },
        {
            "a C stack overflow in a deeply nested repr",
            """
            import sys
            nrp.run_loop()
            sys.setrecursionlimit(10_000_000)
            nested = []
            for _ in range(1_000_000):
                nested = [nested]
            repr(nested)
            """,
            "The simulation's process was killed by signal 11 (SIGSEGV)"
        },
    };

    [Theory]
    [MemberData(nameof(Escapes))]
    public async Task AnEscape_EndsOnlyItsSimulation_AsFailedWithHowItsProcessEnded_AndTheNextRunsClean(string escape, string script, string expected)
    {
        await using var host = ProcessHost();
        host.Experiment("hostile").WithConfig(timeout: 1000).WithScript(script).Build();
        host.Experiment("probe").WithConfig(timeout: 1000).WithScript(ProbeScript).Build();
        var baseline = await ProbeAsync(host);
        var errors = Errors(host);
        var sim = await host.CreatePausedAsync("hostile");
        var worker = Manager(host).ProcessOf(sim.Id);
        Assert.NotEqual(Environment.ProcessId, worker);

        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForStateAsync(sim.Id, SimulationState.Failed, TimeSpan.FromSeconds(30));

        var error = Assert.Single(errors, e => e.SimulationId == sim.Id);
        Assert.True(error.Message.StartsWith(expected, StringComparison.Ordinal), $"{escape}: {error.Message}");
        await WaitGoneAsync(worker);

        // Its logs were archived all the same.
        var archive = Assert.Single(Directory.GetFiles(Path.Combine(host.StorageRoot, "hostile"), $"*_simulation_{sim.Id}_*.log.zip"));
        using (var zip = System.IO.Compression.ZipFile.OpenRead(archive))
        {
            Assert.NotNull(zip.GetEntry($"simulation_{sim.Id}.log"));
        }

        var after = await ProbeAsync(host);
        Assert.NotEqual(baseline.GetProperty("pid").GetInt32(), after.GetProperty("pid").GetInt32());
        AssertSameInterpreter(baseline, after);
    }

    [Fact]
    public async Task AScriptThatPoisonsItsInterpreter_LeavesNothingForTheNextSimulation()
    {
        await using var host = ProcessHost();
        host.Experiment("poison").WithConfig(timeout: 1000).WithScript(
            """
            import gc, json, locale, os, sys, types
            import nrphost.runner as runner
            import nrphost._containment as containment
            gc.disable()
            os.environ["NRPHOST_POISON"] = "1"
            os.putenv("NRPHOST_POISON", "1")
            locale.setlocale(locale.LC_ALL, "C.UTF-8")
            sys.modules["poison_module"] = types.ModuleType("poison_module")
            sys.setswitchinterval(0.5)
            sys.setrecursionlimit(200)
            runner.Nrp.__repr__ = lambda self: "poisoned"
            runner.interrupt = None
            containment.restore = lambda *args: []
            nrp.run_loop()
            json.dumps = None
            """).Build();
        host.Experiment("probe").WithConfig(timeout: 1000).WithScript(ProbeScript).Build();
        var baseline = await ProbeAsync(host);

        var sim = await host.CreatePausedAsync("poison");
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForStateAsync(sim.Id, SimulationState.Completed);
        Assert.Equal(StateChangeStatus.Changed, (await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped)).Status);

        var after = await ProbeAsync(host);
        AssertSameInterpreter(baseline, after);
        Assert.True(baseline.GetProperty("gc").GetBoolean());
        Assert.Equal(JsonValueKind.Null, after.GetProperty("environment").ValueKind);
        Assert.Equal("{\"a\": 1}", after.GetProperty("json").GetString());
    }

    [Fact]
    public async Task ADoubleForkedDaemon_IsEndedAtStop_AndHoldsNoDescriptorOfTheHost()
    {
        await using var host = ProcessHost();
        host.Experiment("daemon").WithConfig(timeout: 1000).WithScript(DaemonScript).Build();
        var sim = await host.CreatePausedAsync("daemon");
        var worker = Manager(host).ProcessOf(sim.Id);
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForStateAsync(sim.Id, SimulationState.Completed);
        var daemon = int.Parse(File.ReadAllText(Path.Combine(Manager(host).DirectoryOf(sim.Id)!, "daemon.pid")), CultureInfo.InvariantCulture);

        // It left the worker's session, and yet it is still in the worker's tree (the worker is its subreaper).
        Assert.NotEqual(worker, Session(daemon));
        Assert.Contains(daemon, Descendants(worker));
        Assert.DoesNotContain(Descriptors(daemon), d => d.StartsWith("socket:", StringComparison.Ordinal));

        var stop = await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);

        Assert.Equal(StateChangeStatus.Changed, stop.Status);
        await WaitGoneAsync(daemon);
        await WaitGoneAsync(worker);
    }

    [Fact]
    public async Task ADaemonOfAWorkerThatDied_IsEndedByTheHost_ItsSubreaper()
    {
        // Limits:Processes puts each worker in a pids cgroup of its own (as the server does), which lists the daemon.
        await using var host = ProcessHost(s => s["NrpHost:Simulation:Limits:Processes"] = "512");
        host.Experiment("daemon").WithConfig(timeout: 1000).WithScript(DaemonScript.Replace("nrp.run_loop()", "while True:\n    nrp.run_loop()\n    time.sleep(0.01)", StringComparison.Ordinal)).Build();
        var sim = await host.CreatePausedAsync("daemon");
        var worker = Manager(host).ProcessOf(sim.Id);
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        var pidFile = Path.Combine(Manager(host).DirectoryOf(sim.Id)!, "daemon.pid");
        await Eventually.TrueAsync(() => File.Exists(pidFile), "the daemon did not start");

        var daemon = int.Parse(File.ReadAllText(pidFile), CultureInfo.InvariantCulture);

        System.Diagnostics.Process.GetProcessById(worker).Kill();
        await host.WaitForStateAsync(sim.Id, SimulationState.Failed);

        await WaitGoneAsync(worker);
        await WaitGoneAsync(daemon);
    }

    [Fact]
    public async Task AProcessBomb_EndsItsSimulationAsFailed_NamingTheLimit()
    {
        await using var host = ProcessHost(s => s["NrpHost:Simulation:Limits:Processes"] = "96");
        host.Experiment().WithConfig(timeout: 1000).WithScript(
            """
            import subprocess
            nrp.run_loop()
            children = []
            while True:
                children.append(subprocess.Popen(["sleep", "60"]))
            """).Build();
        var errors = Errors(host);
        var sim = await host.CreatePausedAsync();
        var worker = Manager(host).ProcessOf(sim.Id);
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        var ended = await host.WaitForAsync(sim.Id, s => s.State is SimulationState.Failed or SimulationState.Completed, TimeSpan.FromSeconds(30));

        Assert.True(ended.State == SimulationState.Failed, $"{ended.State}: {string.Join(" | ", errors.Select(e => e.ErrorType + " " + e.Message))}");
        var error = Assert.Single(errors);
        Assert.True(error.Message.Contains("process limit (NrpHost:Simulation:Limits:Processes = 96)", StringComparison.Ordinal), error.Message);
        await WaitGoneAsync(worker);
    }

    [Fact]
    public async Task AWorker_IsInASessionOfItsOwn_AndHasNoSocketAndNoDescriptorOfTheHost_ButItsChannel()
    {
        await using var host = ProcessHost();
        host.Experiment().WithConfig(timeout: 1000).WithScript("while True:\n    nrp.run_loop()\n").Build();
        var sim = await host.CreatePausedAsync();
        var worker = Manager(host).ProcessOf(sim.Id);

        Assert.Equal(worker, Session(worker));
        var descriptors = Descriptors(worker);
        Assert.DoesNotContain(descriptors, d => d.StartsWith("socket:", StringComparison.Ordinal));

        // Standard input and output point nowhere: the channel was moved off them, so nothing the script writes there reaches the host.
        Assert.Equal("/dev/null", ReadLink(worker, 0));
        Assert.Equal("/dev/null", ReadLink(worker, 1));

        // Standard error is the pipe the host reads a crash report from.
        Assert.StartsWith("pipe:", ReadLink(worker, 2), StringComparison.Ordinal);
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);
    }

    [Fact]
    public async Task AWorker_GetsTheHostsEnvironment_WithoutItsConfigurationAndSecrets()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
        var names = new[] { $"NRPHOST_PLAIN_{suffix}", $"NrpHost__Storage__Hidden{suffix}", $"LAB_API_TOKEN_{suffix}", $"DB_PASSWORD_{suffix}", $"SSH_AUTH_SOCK_{suffix}" };
        foreach (var name in names)
        {
            Environment.SetEnvironmentVariable(name, "visible");
        }

        try
        {
            await using var host = ProcessHost();
            host.Experiment().WithConfig(timeout: 1000).WithScript($$"""
                import json, os
                with open("environment.json", "w") as out:
                    out.write(json.dumps({name: os.environ.get(name) for name in {{JsonSerializer.Serialize(names)}}}))
                nrp.run_loop()
                """).Build();
            var sim = await host.CreatePausedAsync();
            await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
            await host.WaitForStateAsync(sim.Id, SimulationState.Completed);
            using var seen = JsonDocument.Parse(File.ReadAllText(Path.Combine(Manager(host).DirectoryOf(sim.Id)!, "environment.json")));

            Assert.Equal("visible", seen.RootElement.GetProperty(names[0]).GetString());
            foreach (var hidden in names.Skip(1))
            {
                Assert.Equal(JsonValueKind.Null, seen.RootElement.GetProperty(hidden).ValueKind);
            }

            await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);
        }
        finally
        {
            foreach (var name in names)
            {
                Environment.SetEnvironmentVariable(name, null);
            }
        }
    }

    [Fact]
    public async Task AWorkerKilledFromOutside_FailsItsSimulation_SayingSo_AndTheNextOneRuns()
    {
        await using var host = ProcessHost();
        host.Experiment().WithConfig(timeout: 1000).WithScript("import time\nwhile True:\n    nrp.run_loop()\n    time.sleep(0.01)\n").Build();
        var errors = Errors(host);
        var sim = await host.CreatePausedAsync();
        var worker = Manager(host).ProcessOf(sim.Id);

        // Paused: no command is waiting for the worker, so only its end tells.
        System.Diagnostics.Process.GetProcessById(worker).Kill();
        await host.WaitForStateAsync(sim.Id, SimulationState.Failed);

        Assert.Equal("The simulation's process was killed by signal 9 (SIGKILL)", Assert.Single(errors).Message);
        var next = await host.CreatePausedAsync();
        await host.Manager.RequestStateAsync(next.Id, SimulationState.Stopped);
    }

    [Fact]
    public async Task AWorkerThatStopsAnswering_IsKilled_AndItsSimulationFails()
    {
        await using var host = ProcessHost(s => s["NrpHost:Simulation:Worker:AnswerTimeoutSeconds"] = "2");
        host.Experiment().WithConfig(timeout: 1000).WithScript("import os, signal, threading\nnrp.run_loop()\nos.kill(threading.get_native_id(), signal.SIGSTOP)\n").Build();
        var errors = Errors(host);
        var sim = await host.CreatePausedAsync();
        var worker = Manager(host).ProcessOf(sim.Id);

        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForStateAsync(sim.Id, SimulationState.Failed, TimeSpan.FromSeconds(30));

        Assert.Contains("stopped answering the host", Assert.Single(errors).Message, StringComparison.Ordinal);
        await WaitGoneAsync(worker);
    }

    [Fact]
    public async Task AForkedChildThatExits_EndsNothingButItsOwnSimulation_AndNoProcessIsLeft()
    {
        await using var host = ProcessHost();
        host.Experiment().WithConfig(timeout: 1000).WithScript(
            """
            import os, sys, time
            if os.fork() == 0:
                sys.exit()
            while True:
                nrp.run_loop()
                time.sleep(0.005)
            """).Build();
        var errors = Errors(host);
        var sim = await host.CreatePausedAsync();
        var worker = Manager(host).ProcessOf(sim.Id);
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);

        // A fork of the worker's process (the .NET runtime is not made to be forked) may bring the worker down with
        // it, or only the child; either way nothing but this simulation is touched.
        var seen = await host.WaitForAsync(sim.Id, s => s.Clock.Iterations > 20 || s.State == SimulationState.Failed, TimeSpan.FromSeconds(30));
        var children = Directory.Exists($"/proc/{worker}") ? Descendants(worker) : [];
        if (seen.State != SimulationState.Failed)
        {
            Assert.Equal(StateChangeStatus.Changed, (await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped)).Status);
        }
        else
        {
            Assert.StartsWith("The simulation's process ", Assert.Single(errors).Message, StringComparison.Ordinal);
        }

        foreach (var pid in children.Append(worker))
        {
            await WaitGoneAsync(pid);
        }

        var next = await host.CreatePausedAsync();
        await host.Manager.RequestStateAsync(next.Id, SimulationState.Stopped);
    }

    [Fact]
    public async Task TwoSimulations_RunAtTheSameTime_EachInItsOwnProcessAndDirectory()
    {
        await using var host = ProcessHost(s => s["NrpHost:Simulation:MaxActiveSimulations"] = "2");
        const string Script =
            """
            import json, os, time
            with open("who.json", "w") as out:
                out.write(json.dumps({"pid": os.getpid(), "cwd": os.getcwd()}))
            while True:
                nrp.run_loop()
                time.sleep(0.005)
            """;
        host.Experiment("first").WithConfig(timeout: 1000).WithScript(Script).Build();
        host.Experiment("second").WithConfig(timeout: 1000).WithScript(Script).Build();
        var first = await host.CreatePausedAsync("first");
        var second = await host.CreatePausedAsync("second");
        await host.Manager.RequestStateAsync(first.Id, SimulationState.Started);
        await host.Manager.RequestStateAsync(second.Id, SimulationState.Started);

        // Both step while the other does.
        await host.WaitForAsync(first.Id, s => s.Clock.Iterations > 20);
        var secondBefore = host.Manager.Find(second.Id)!.Clock.Iterations;
        await host.WaitForAsync(second.Id, s => s.Clock.Iterations > secondBefore + 20);
        Assert.Equal(SimulationState.Started, host.Manager.Find(first.Id)!.State);

        var seen = new[] { first.Id, second.Id }.Select(id =>
        {
            var directory = Manager(host).DirectoryOf(id)!;
            using var who = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "who.json")));
            Assert.Equal(directory, who.RootElement.GetProperty("cwd").GetString());
            return who.RootElement.GetProperty("pid").GetInt32();
        }).ToList();
        Assert.NotEqual(seen[0], seen[1]);
        Assert.DoesNotContain(Environment.ProcessId, seen);
        Assert.Equal(Manager(host).ProcessOf(first.Id), seen[0]);
        Assert.Equal(Manager(host).ProcessOf(second.Id), seen[1]);

        await Task.WhenAll(host.Manager.RequestStateAsync(first.Id, SimulationState.Stopped), host.Manager.RequestStateAsync(second.Id, SimulationState.Stopped));
    }

    [Fact]
    public async Task AMemoryBomb_EndsItsSimulationAsFailed_NamingTheLimit()
    {
        await using var host = ProcessHost(s => s["NrpHost:Simulation:Limits:MemoryMB"] = "512");
        host.Experiment().WithConfig(timeout: 1000).WithScript(
            """
            nrp.run_loop()
            hoard = []
            while True:
                hoard.append(bytearray(32 * 1024 * 1024))
            """).Build();
        var errors = Errors(host);
        var sim = await host.CreatePausedAsync();

        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForStateAsync(sim.Id, SimulationState.Failed, TimeSpan.FromSeconds(30));

        var error = Assert.Single(errors);
        Assert.Contains("memory limit (NrpHost:Simulation:Limits:MemoryMB = 512 MiB)", error.Message, StringComparison.Ordinal);
        Assert.Equal("main_script.py", error.FileName);
        Assert.Equal(4, error.LineNumber);
        var next = await host.CreatePausedAsync();
        await host.Manager.RequestStateAsync(next.Id, SimulationState.Stopped);
    }

    [Fact]
    public async Task FileDescriptorExhaustion_KeepsTheScriptsOwnLog_AndTheNextSimulationsLog_InTheirArchives()
    {
        await using var host = ProcessHost(s => s["NrpHost:Simulation:Limits:OpenFiles"] = "256");
        host.Experiment("greedy").WithConfig(timeout: 1000).WithScript(
            """
            import os
            kept = []
            try:
                while True:
                    kept.append(os.open("/dev/null", os.O_RDONLY))
            except OSError as error:
                print("no descriptor left after", len(kept), ":", error)
            nrp.run_loop()
            """).Build();
        host.Experiment("next").WithConfig(timeout: 1000).WithScript("print('the next one logs')\nnrp.run_loop()\n").Build();

        foreach (var (experiment, line) in new[] { ("greedy", "no descriptor left after"), ("next", "the next one logs") })
        {
            var sim = await host.CreatePausedAsync(experiment);
            await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
            await host.WaitForStateAsync(sim.Id, SimulationState.Completed);
            Assert.Equal(StateChangeStatus.Changed, (await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped)).Status);
            var archive = Assert.Single(Directory.GetFiles(Path.Combine(host.StorageRoot, experiment), $"*_simulation_{sim.Id}_*.log.zip"));
            using var zip = System.IO.Compression.ZipFile.OpenRead(archive);
            using var reader = new StreamReader(zip.GetEntry($"simulation_{sim.Id}.log")!.Open());
            Assert.Contains(line, await reader.ReadToEndAsync(), StringComparison.Ordinal);
        }
    }

    /// <summary>Forks a daemon (fork, setsid, fork) that sleeps forever and writes its pid to <c>daemon.pid</c>.</summary>
    internal const string DaemonScript =
        """
        import os, time
        first = os.fork()
        if first == 0:
            os.setsid()
            if os.fork() == 0:
                with open("daemon.pid.tmp", "w") as out:
                    out.write(str(os.getpid()))
                os.rename("daemon.pid.tmp", "daemon.pid")
                while True:
                    time.sleep(1)
            os._exit(0)
        os.waitpid(first, 0)
        while not os.path.exists("daemon.pid"):
            time.sleep(0.01)
        nrp.run_loop()
        """;

    private static CoreHost ProcessHost(Action<Dictionary<string, string?>>? configure = null) => new(configure: s =>
    {
        s["NrpHost:Simulation:Isolation"] = "Process";
        configure?.Invoke(s);
    });

    private static SimulationManager Manager(CoreHost host) => (SimulationManager)host.Manager;

    private static ConcurrentQueue<SimulationError> Errors(CoreHost host)
    {
        var errors = new ConcurrentQueue<SimulationError>();
        host.Manager.RuntimeError += (_, e) => errors.Enqueue(e.Error);
        return errors;
    }

    /// <summary>Runs the probe experiment to completion and returns what it saw.</summary>
    private static async Task<JsonElement> ProbeAsync(CoreHost host)
    {
        var sim = await host.CreatePausedAsync("probe");
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForStateAsync(sim.Id, SimulationState.Completed);
        using var probe = JsonDocument.Parse(File.ReadAllText(Path.Combine(Manager(host).DirectoryOf(sim.Id)!, "probe.json")));
        Assert.Equal(Manager(host).DirectoryOf(sim.Id), probe.RootElement.GetProperty("cwd").GetString());
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);
        return probe.RootElement.Clone();
    }

    private static void AssertSameInterpreter(JsonElement before, JsonElement after)
    {
        foreach (var key in new[] { "gc", "environment", "c_environment", "locale", "planted", "json", "switch_interval", "recursion_limit", "runner", "interrupt" })
        {
            Assert.Equal(before.GetProperty(key).ToString(), after.GetProperty(key).ToString());
        }
    }

    private static Task WaitGoneAsync(int pid) =>
        Eventually.TrueAsync(() => !Directory.Exists($"/proc/{pid}"), () => $"process {pid} is still there ({Status(pid)})");

    private static string Status(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return "gone";
        }
    }

    internal static int Session(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[3], CultureInfo.InvariantCulture);
    }

    internal static List<int> Descendants(int root)
    {
        var found = new List<int>();
        var pending = new Stack<int>([root]);
        while (pending.Count > 0)
        {
            var pid = pending.Pop();
            foreach (var task in Directory.GetDirectories($"/proc/{pid}/task"))
            {
                foreach (var child in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    found.Add(int.Parse(child, CultureInfo.InvariantCulture));
                    pending.Push(found[^1]);
                }
            }
        }

        return found;
    }

    internal static List<string> Descriptors(int pid) =>
        Directory.GetFiles($"/proc/{pid}/fd").Select(fd => new FileInfo(fd).LinkTarget ?? string.Empty).ToList();

    private static string? ReadLink(int pid, int fd) => new FileInfo($"/proc/{pid}/fd/{fd}").LinkTarget;
}
