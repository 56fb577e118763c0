using System.Globalization;
using System.IO.Compression;
using System.Net.Sockets;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Isolation;

/// <summary>
/// The server as a process of its own, in its default (<c>Process</c>) isolation: what a script does to its worker's
/// signals never reaches the host, and a host killed outright takes its workers with it and leaves its port free.
/// </summary>
public sealed class WorkerHostProcessTests
{
    [Fact]
    public async Task SigtermToTheHost_AfterTheScriptReplacedSigtermsHandler_StopsItWithinItsShutdownTime_AndArchivesTheLogs()
    {
        using var temp = new TempDirectory("sigterm");
        var marker = "stepping " + Guid.NewGuid().ToString("N");
        NrpHost.Tests.Simulation.ContainmentProcessTests.WriteExperiment(temp.Combine("experiments"), $$"""
            import faulthandler, signal, sys, time
            faulthandler.register(signal.SIGTERM, chain=False, file=sys.__stderr__)
            print("{{marker}}")
            while True:
                nrp.run_loop()
                time.sleep(0.01)
            """);
        await using var host = await ApiProcess.StartAsync(Settings(temp));
        Assert.Equal(201, (await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""")).Code);
        Assert.Equal(200, (await host.SendAsync(HttpMethod.Put, "/simulation/0/state", """{"state":"started"}""")).Code);
        var log = Path.Combine(Assert.Single(Directory.GetDirectories(temp.Combine("work"), "nrp.0.*")), "simulation_0.log");
        await Eventually.TrueAsync(() => File.Exists(log) && File.ReadAllText(log).Contains(marker, StringComparison.Ordinal), () => host.Output);
        var workers = Workers(host.Pid);
        Assert.NotEmpty(workers);

        // The host's default shutdown time is 30 s: it ends well within it.
        await host.TerminateAsync(within: TimeSpan.FromSeconds(30));

        Assert.Equal(0, host.ExitCode);
        var archive = Assert.Single(Directory.GetFiles(temp.Combine("experiments", "exp"), "*_simulation_0_*.log.zip"));
        using (var zip = ZipFile.OpenRead(archive))
        using (var reader = new StreamReader(zip.GetEntry("simulation_0.log")!.Open()))
        {
            Assert.Contains(marker, await reader.ReadToEndAsync(), StringComparison.Ordinal);
        }

        Assert.All(workers, pid => Assert.False(Running(pid), $"worker {pid} outlived its host"));
    }

    [Fact]
    public async Task AHostKilledOutright_TakesItsWorkersWithIt_LeavesItsPortToNobody_AndTheNextHostBindsItAndEndsTheScriptsDaemon()
    {
        using var temp = new TempDirectory("killed");
        var pidFile = temp.Combine("daemon.pid");
        NrpHost.Tests.Simulation.ContainmentProcessTests.WriteExperiment(temp.Combine("experiments"), WorkerEscapeTests.DaemonScript.Replace("\"daemon.pid\"", $"\"{pidFile}\"", StringComparison.Ordinal).Replace("nrp.run_loop()", "while True:\n    nrp.run_loop()\n    time.sleep(0.01)", StringComparison.Ordinal));
        var settings = Settings(temp);
        int port, daemon;
        List<int> workers;
        await using (var first = await ApiProcess.StartAsync(settings))
        {
            port = first.Port;
            Assert.Equal(201, (await first.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""")).Code);
            Assert.Equal(200, (await first.SendAsync(HttpMethod.Put, "/simulation/0/state", """{"state":"started"}""")).Code);
            await Eventually.TrueAsync(() => File.Exists(pidFile), () => first.Output);
            daemon = int.Parse(File.ReadAllText(pidFile), CultureInfo.InvariantCulture);
            workers = Workers(first.Pid);
            Assert.DoesNotContain(WorkerEscapeTests.Descriptors(daemon), d => d.StartsWith("socket:", StringComparison.Ordinal));
            await first.KillAsync();
        }

        try
        {
            foreach (var worker in workers)
            {
                await Eventually.TrueAsync(() => !Running(worker), () => $"worker {worker} outlived its host");
            }

            // Nothing answers on the killed host's port: the daemon holds none of its sockets.
            using (var probe = new TcpClient())
            {
                var refused = await Assert.ThrowsAsync<SocketException>(() => probe.ConnectAsync("127.0.0.1", port));
                Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
            }

            await using var second = await ApiProcess.StartAsync(settings, requestedPort: port);
            Assert.Equal(200, (await second.SendAsync(HttpMethod.Get, "/simulation")).Code);

            // The daemon was in its simulation's pids cgroup, which outlived the killed host: the next host ends it.
            await Eventually.TrueAsync(() => !Running(daemon), () => "the daemon outlived the next host's start:\n" + second.Output);
            Assert.Contains("left behind", second.Output, StringComparison.Ordinal);
        }
        finally
        {
            NrpHost.Isolation.Libc.Kill(daemon, NrpHost.Isolation.Libc.SIGKILL);
        }
    }

    private static Dictionary<string, string> Settings(TempDirectory temp) => new()
    {
        ["NrpHost:Storage:LocalRoot"] = temp.Combine("experiments"),
        ["NrpHost:Simulation:WorkDirectory"] = temp.Combine("work"),
    };

    /// <summary>The host's worker processes (the simulation's and the spare): its children that run the worker (a fork of a worker has its command line too).</summary>
    private static List<int> Workers(int host) =>
        Directory.GetDirectories($"/proc/{host}/task")
            .SelectMany(task => File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(child => int.Parse(child, CultureInfo.InvariantCulture))
            .Where(pid =>
        {
            try
            {
                return File.ReadAllText($"/proc/{pid}/cmdline").Contains("NrpHost.Worker.dll", StringComparison.Ordinal);
            }
            catch (IOException)
            {
                return false;
            }
        }).ToList();

    /// <summary>Whether a process runs (a zombie waiting to be reaped does not).</summary>
    private static bool Running(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[stat.LastIndexOf(')') + 2] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }
}
