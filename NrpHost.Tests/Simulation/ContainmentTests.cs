using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using NrpHost.Simulation;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Simulation;

/// <summary>
/// One hostile experiment per way a script can harm the host it runs in. Each asserts that the host keeps serving,
/// that the next simulation runs normally, and that the bounds hold.
/// </summary>
[Collection(PythonCollection.Name)]
public sealed class ContainmentTests(PythonFixture python)
{
    private const string NextScript = "with open('probe.txt', 'w') as out:\n    out.write('ok')\nnrp.run_loop()\n";

    [Fact]
    public async Task LogArchive_OfHostileLogFiles_NeverHangs_NeverReadsOutside_AndKeepsTheSimulationLog()
    {
        const long cap = 1024 * 1024;
        await using var host = new CoreHost(configure: s => s["NrpHost:Simulation:MaxLogFileBytes"] = cap.ToString(System.Globalization.CultureInfo.InvariantCulture));
        host.Experiment().WithConfig(timeout: 1000).WithScript(
            """
            import os
            print("the script was here")
            os.symlink("/dev/zero", "zero.log")
            os.mkfifo("pipe.log")
            os.symlink("/nonexistent/anywhere", "dangling.log")
            os.symlink("/etc/passwd", "passwd.log")
            try:
                os.link("/etc/passwd", "hardlink.log")
            except OSError:
                pass
            with open("huge.log", "wb") as huge:
                huge.write(b"HEAD\n")
                huge.truncate(1024 * 1024 * 1024)
                huge.seek(1024 * 1024 * 1024 - 5)
                huge.write(b"TAIL\n")
            nrp.run_loop()
            """).Build();
        var sim = await host.CreatePausedAsync();
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForStateAsync(sim.Id, SimulationState.Completed);

        var stop = await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(StateChangeStatus.Changed, stop.Status);
        var archive = Assert.Single(Directory.GetFiles(Path.Combine(host.StorageRoot, "exp"), "*_simulation_0_*.log.zip"));
        using var zip = ZipFile.OpenRead(archive);
        var names = zip.Entries.Select(e => e.FullName).ToList();
        Assert.Contains("simulation_0.log", names);
        Assert.Contains("huge.log", names);
        Assert.DoesNotContain("zero.log", names);
        Assert.DoesNotContain("pipe.log", names);
        Assert.DoesNotContain("dangling.log", names);
        Assert.DoesNotContain("passwd.log", names);
        Assert.DoesNotContain("hardlink.log", names);
        foreach (var entry in zip.Entries)
        {
            Assert.DoesNotContain("root:", Read(entry), StringComparison.Ordinal); // nothing of /etc/passwd
        }

        var huge = zip.GetEntry("huge.log")!;
        Assert.InRange(huge.Length, cap, cap + 1024);
        var hugeText = Read(huge);
        Assert.StartsWith("HEAD\n", hugeText, StringComparison.Ordinal);
        Assert.EndsWith("TAIL\n", hugeText, StringComparison.Ordinal);
        Assert.Contains("bytes cut here", hugeText, StringComparison.Ordinal);

        var log = Read(zip.GetEntry("simulation_0.log")!);
        Assert.Contains("the script was here", log, StringComparison.Ordinal);
        Assert.Contains("[NrpHost] zero.log: not archived, it is a symbolic link", log, StringComparison.Ordinal);
        Assert.Contains("[NrpHost] pipe.log: not archived, it is not a regular file", log, StringComparison.Ordinal);
        Assert.Contains("[NrpHost] passwd.log: not archived, it is a symbolic link", log, StringComparison.Ordinal);
        Assert.Contains("[NrpHost] huge.log:", log, StringComparison.Ordinal);

        await NextSimulationRunsAsync(host);
    }

    [Fact]
    public async Task LogArchive_NeverReplacesAnArchiveOfTheSameName()
    {
        await using var host = new CoreHost();
        host.Experiment().Build();
        var sim = await host.CreatePausedAsync();
        var now = DateTimeOffset.Now;
        var taken = Enumerable.Range(-1, 60).Select(s => Path.Combine(host.StorageRoot, "exp", LogArchive.FileName(now.AddSeconds(s), sim.Id, host.HostId))).ToList();
        foreach (var name in taken)
        {
            File.WriteAllText(name, "an earlier archive");
        }

        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);

        Assert.All(taken, name => Assert.Equal("an earlier archive", File.ReadAllText(name)));
        var added = Directory.GetFiles(Path.Combine(host.StorageRoot, "exp"), $"*_simulation_0_{host.HostId}_1.log.zip");
        using var zip = ZipFile.OpenRead(Assert.Single(added));
        Assert.NotNull(zip.GetEntry("simulation_0.log"));
    }

    [Fact]
    public void LogArchive_OfAHugeFile_IsStreamed_WithinItsMemoryAndSizeBounds()
    {
        using var temp = new TempDirectory("archive");
        Directory.CreateDirectory(temp.Path);
        File.WriteAllText(temp.Combine("simulation_0.log"), "main\n");
        using (var huge = File.Create(temp.Combine("huge.log")))
        {
            huge.SetLength(512L * 1024 * 1024); // sparse: no disk used, but every byte readable
        }

        using var output = new FileStream(temp.Combine("out.zip"), FileMode.Create);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var summary = LogArchive.Write(temp.Path, "simulation_0.log", [], output, new LogArchiveLimits(64L * 1024 * 1024, 256L * 1024 * 1024), CancellationToken.None);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(["simulation_0.log", "huge.log"], summary.Entries);
        Assert.True(allocated < 16 * 1024 * 1024, $"archiving allocated {allocated} bytes");
        output.Position = 0;
        using var zip = new ZipArchive(output, ZipArchiveMode.Read, leaveOpen: true);
        Assert.InRange(zip.GetEntry("huge.log")!.Length, 64L * 1024 * 1024, (64L * 1024 * 1024) + 1024);
    }

    [Fact]
    public void LogArchive_KeepsToItsTotalBound_AndNamesWhatItLeftOut()
    {
        using var temp = new TempDirectory("archive");
        Directory.CreateDirectory(temp.Path);
        File.WriteAllText(temp.Combine("simulation_0.log"), "main\n");
        foreach (var name in new[] { "a.log", "b.log", "c.log" })
        {
            File.WriteAllText(temp.Combine(name), new string('x', 4000));
        }

        using var output = new MemoryStream();
        var summary = LogArchive.Write(temp.Path, "simulation_0.log", [], output, new LogArchiveLimits(4096, 9000), CancellationToken.None);

        Assert.Equal(["simulation_0.log", "a.log", "b.log"], summary.Entries);
        Assert.Contains(summary.Notes, n => n.StartsWith("c.log: not archived, the archive reached its limit", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AScriptThatPoisonsTheInterpreter_LeavesNothingBehindForTheNextSimulation()
    {
        await using var host = new CoreHost();
        var hostDirectory = Directory.GetCurrentDirectory();
        host.Experiment("poison").WithScript(
            """
            import builtins, logging, os, sys, threading
            builtins.open = None
            builtins.evil = "left behind"
            sys.setrecursionlimit(60)
            sys.path.append("/poisoned")
            sys.meta_path.append(object())
            os.environ["NRPHOST_POISON"] = "1"
            os.umask(0o777)
            sys.excepthook = None
            threading.excepthook = None
            logging.basicConfig(level=logging.DEBUG, force=True)
            sys.modules["json"] = None
            os.chdir("/")
            sys.stdout = None
            """).Build();
        var recursion = PythonEval("import sys; result = sys.getrecursionlimit()");
        var poison = await host.CreatePausedAsync("poison");
        await host.Manager.RequestStateAsync(poison.Id, SimulationState.Started);
        await host.WaitForStateAsync(poison.Id, SimulationState.Completed);

        await host.Manager.RequestStateAsync(poison.Id, SimulationState.Stopped);

        Assert.Equal(recursion, PythonEval("import sys; result = sys.getrecursionlimit()"));
        Assert.Equal("True", PythonEval("import builtins, io; result = builtins.open is io.open"));
        Assert.Equal("False", PythonEval("import builtins; result = hasattr(builtins, 'evil')"));
        Assert.Equal("False", PythonEval("import sys; result = '/poisoned' in sys.path or any(type(f) is object for f in sys.meta_path)"));
        Assert.Equal("None", PythonEval("import os; result = os.environ.get('NRPHOST_POISON')"));
        Assert.Equal("True", PythonEval("import sys, json; result = sys.modules['json'] is json and json is not None"));
        Assert.Null(Environment.GetEnvironmentVariable("NRPHOST_POISON"));
        Assert.Equal(hostDirectory, Directory.GetCurrentDirectory());
        Assert.Equal("healthy", (await new NrpHost.Python.PythonHealthCheck(python.Runtime).CheckHealthAsync(new())).Status.ToString().ToLowerInvariant());
        var made = Path.Combine(host.Scratch, "made-after.txt");
        File.WriteAllText(made, "x");
        if (OperatingSystem.IsLinux())
        {
            Assert.NotEqual(UnixFileMode.None, File.GetUnixFileMode(made) & (UnixFileMode.UserRead | UnixFileMode.UserWrite)); // the umask is back
        }
        await NextSimulationRunsAsync(host);
    }

    public static TheoryData<string, string> ProcessEndingCalls() => new()
    {
        { "import os\nos._exit(1)\n", "os._exit(1) was refused" },
        { "import os\nos.abort()\n", "os.abort() was refused" },
        { "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n", "was refused: it would end the whole host process" },
        { "import os, signal\nos.killpg(os.getpgrp(), signal.SIGTERM)\n", "os.killpg(" },
        { "import signal\nsignal.raise_signal(signal.SIGTERM)\n", "signal.raise_signal(" },
        { "import os\nos.execv('/bin/true', ['true'])\n", "would replace the whole host process" },
        { "import posix\nposix._exit(3)\n", "os._exit(3) was refused" },
    };

    [Theory]
    [MemberData(nameof(ProcessEndingCalls))]
    public async Task ACallThatWouldEndTheHost_EndsOnlyTheSimulation_WithARuntimeErrorAtItsLine(string script, string message)
    {
        await using var host = new CoreHost();
        host.Experiment().WithScript("print('before')\n" + script + "print('never')\n").Build();
        var errors = new ConcurrentQueue<SimulationError>();
        host.Manager.RuntimeError += (_, e) => errors.Enqueue(e.Error);
        var sim = await host.CreatePausedAsync();

        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForStateAsync(sim.Id, SimulationState.Completed);

        var error = Assert.Single(errors);
        Assert.Equal("Runtime", error.ErrorType);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Equal("main_script.py", error.FileName);
        Assert.Equal(script.Count(c => c == '\n') + 1, error.LineNumber);
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);
        await NextSimulationRunsAsync(host);
    }

    [Fact]
    public async Task ChildProcessesAScriptStarted_AreEndedAtStop_EvenOneThatIgnoresSigterm()
    {
        await using var host = new CoreHost();
        var pids = Path.Combine(host.Scratch, "pids.txt");
        host.Experiment().WithConfig(timeout: 1000).WithScript(
            $$"""
            import subprocess
            polite = subprocess.Popen(["sleep", "600"])
            stubborn = subprocess.Popen(["sh", "-c", "trap '' TERM; while true; do sleep 1; done"])
            with open(r'{{pids}}', 'w') as out:
                out.write("%d %d" % (polite.pid, stubborn.pid))
            while True:
                nrp.run_loop()
            """).Build();
        var sim = await host.CreatePausedAsync();
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForAsync(sim.Id, _ => File.Exists(pids) && File.ReadAllText(pids).Contains(' ', StringComparison.Ordinal));
        var started = File.ReadAllText(pids).Split(' ').Select(int.Parse).ToList();
        Assert.All(started, pid => Assert.True(Alive(pid)));

        var stop = await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);

        Assert.Equal(StateChangeStatus.Changed, stop.Status);
        Assert.All(started, pid => Assert.False(Alive(pid), $"process {pid} still runs"));
        var line = await host.WaitForLogAsync(sim.Id, e => e.Message.Contains("ended the child processes", StringComparison.Ordinal));
        Assert.Contains($"{started[0]} (SIGTERM)", line.Message, StringComparison.Ordinal);
        Assert.Contains($"{started[1]} (SIGKILL)", line.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AThreadThatOutlivesItsSimulation_NeverBlocksTheStop_IsNamed_AndTheHostIsDegradedWhileItRuns()
    {
        await using var host = new CoreHost();
        var release = Path.Combine(host.Scratch, "release");
        host.Experiment().WithConfig(timeout: 1000).WithScript(
            $$"""
            import os, threading, time

            def linger():
                while not os.path.exists(r'{{release}}'):
                    time.sleep(0.02)

            threading.Thread(target=linger, name="lingering-worker", daemon=False).start()
            nrp.run_loop()
            """).Build();
        var health = new SimulationHealthCheck((SimulationManager)host.Manager);
        var sim = await host.CreatePausedAsync();
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForStateAsync(sim.Id, SimulationState.Completed);

        var stop = await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(StateChangeStatus.Changed, stop.Status);
        await host.WaitForLogAsync(sim.Id, e => e.Message.Contains("still running after it ended: lingering-worker", StringComparison.Ordinal));
        var degraded = await health.CheckHealthAsync(new());
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded, degraded.Status);
        Assert.Contains("simulation 0: lingering-worker", degraded.Description, StringComparison.Ordinal);
        Assert.Equal("True", PythonEval("import threading; result = all(t.daemon for t in threading.enumerate() if t.name == 'lingering-worker')"));

        File.WriteAllText(release, string.Empty);
        await Eventually.TrueAsync(
            async () => (await health.CheckHealthAsync(new())).Status == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy,
            () => "the thread did not end");
    }

    [Fact]
    public async Task PrintSpam_IsBoundedOnDisk_AndRateLimitedToTheLogger_WithWhatWasDroppedCounted()
    {
        const long cap = 256 * 1024;
        await using var host = new CoreHost(configure: s => s["NrpHost:Simulation:MaxLogFileBytes"] = cap.ToString(System.Globalization.CultureInfo.InvariantCulture));
        host.Experiment().WithScript("for i in range(200000):\n    print('spam', i, 'x' * 40)\nnrp.run_loop()\n").Build();
        var sim = await host.CreatePausedAsync();
        var mark = host.Logs.Mark;
        var directory = ((SimulationManager)host.Manager).DirectoryOf(sim.Id)!;

        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForStateAsync(sim.Id, SimulationState.Completed);

        Assert.InRange(new FileInfo(Path.Combine(directory, "simulation_0.log")).Length, cap, cap + 1024);
        await host.WaitForLogAsync(sim.Id, e => e.Message.Contains("lines of output were not forwarded to the log", StringComparison.Ordinal));
        var forwarded = host.Logs.Since(mark).Count(e => e.Category == $"NrpHost.Simulation.{sim.Id}" && e.Message.StartsWith("spam", StringComparison.Ordinal));
        Assert.InRange(forwarded, 1, 100_000);
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);
        await NextSimulationRunsAsync(host);
    }

    [Fact]
    public async Task FinishedSimulations_AreRetainedUpToTheBound_OldestDroppedFirst()
    {
        await using var host = new CoreHost(configure: s => s["NrpHost:Simulation:RetainFinished"] = "2");
        host.Experiment().Build();

        for (var i = 0; i < 4; i++)
        {
            var sim = await host.CreatePausedAsync();
            await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped);
        }

        var paused = await host.CreatePausedAsync();
        Assert.Equal([2, 3, 4], host.Manager.List().Select(s => s.Id));
        Assert.Null(host.Manager.Find(0));
        Assert.Equal(StateChangeStatus.NotFound, (await host.Manager.RequestStateAsync(1, SimulationState.Started)).Status);
        Assert.Equal(SimulationState.Paused, host.Manager.Find(paused.Id)!.State);
    }

    [Fact]
    public async Task AMissingEngineFile_IsNamed_AndNoHostPathIsInTheMessages()
    {
        await using var host = new CoreHost(fakeClient: false);
        host.Experiment().WithConfig(raw: """{"SimulationTimeout": 1, "EngineConfigs": [{"EngineType": "python_json", "EngineName": "python_1", "PythonFileName": "missing_engine.py"}]}""").Build();
        var errors = new ConcurrentQueue<SimulationError>();
        host.Manager.RuntimeError += (_, e) => errors.Enqueue(e.Error);

        var created = await host.Manager.CreateAsync(new SimulationRequest("exp"));

        Assert.Equal(CreateSimulationStatus.Failed, created.Status);
        var error = Assert.Single(errors);
        foreach (var text in new[] { created.Message!, error.Message, error.FileName })
        {
            Assert.DoesNotContain(host.WorkDirectory, text, StringComparison.Ordinal);
            Assert.DoesNotContain(host.Scratch, text, StringComparison.Ordinal);
            Assert.DoesNotContain(AppContext.BaseDirectory, text, StringComparison.Ordinal);
        }

        Assert.Contains("\"missing_engine.py\"", created.Message, StringComparison.Ordinal);
        Assert.Contains("missing_engine.py", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A simulation after the hostile one runs normally: it writes a file with open() and steps.</summary>
    private static async Task NextSimulationRunsAsync(CoreHost host)
    {
        var name = "next" + Guid.NewGuid().ToString("N")[..8];
        host.Experiment(name).WithScript(NextScript).Build();
        var next = await host.CreatePausedAsync(name);
        var probe = Path.Combine(((SimulationManager)host.Manager).DirectoryOf(next.Id)!, "probe.txt");
        await host.Manager.RequestStateAsync(next.Id, SimulationState.Started);
        var done = await host.WaitForStateAsync(next.Id, SimulationState.Completed);
        Assert.Equal("ok", File.ReadAllText(probe));
        Assert.Equal(1, done.Clock.Iterations);
        Assert.Equal(StateChangeStatus.Changed, (await host.Manager.RequestStateAsync(next.Id, SimulationState.Stopped)).Status);
    }

    private static string Read(ZipArchiveEntry entry)
    {
        using var reader = new StreamReader(entry.Open(), Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private static bool Alive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited && !File.ReadAllText($"/proc/{pid}/stat").Split(' ')[2].Equals("Z", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException)
        {
            return false;
        }
    }

    private static string PythonEval(string code)
    {
        using (global::Python.Runtime.Py.GIL())
        {
            using var scope = global::Python.Runtime.Py.CreateScope();
            scope.Exec(code);
            using var result = scope.Get("result");
            return result.ToString()!;
        }
    }
}
