using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using NrpHost.Simulation;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Isolation;

/// <summary>
/// <c>Sandbox</c> isolation: the worker runs inside bubblewrap (Debian's <c>bubblewrap</c>), where the simulation
/// directory is the only writable place, <c>/tmp</c> is its own, the host's other simulations and experiments are out
/// of sight, there is no network, and a PID namespace ends whatever the script started.
/// </summary>
public sealed class SandboxTests
{
    [Fact]
    public async Task AScriptInTheSandbox_CanWriteOnlyItsDirectory_SeesNoOtherSimulationNorTheNetwork()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var token = Guid.NewGuid().ToString("N");
        await using var host = SandboxHost();
        // On the root file system, outside every folder the sandbox hides or binds (the tests may run from /tmp, whose
        // sandbox copy is a private tmpfs): read-only inside, writable for the host.
        var readOnly = "/usr/nrphost-sandbox-" + token;
        host.Experiment().WithConfig(timeout: 1000).WithScript($$"""
            import errno, json, os, socket
            seen = {}
            def attempt(name, action):
                try:
                    action()
                    seen[name] = "ok"
                except OSError as error:
                    seen[name] = errno.errorcode.get(error.errno, str(error.errno))
            def write(path):
                with open(path, "w") as out:
                    out.write("x")
            def connect():
                with socket.create_connection(("127.0.0.1", {{port}}), timeout=2):
                    pass
            attempt("write_outside", lambda: write("{{readOnly}}"))
            attempt("write_own", lambda: write("own.txt"))
            attempt("write_tmp", lambda: write("/tmp/sandbox-{{token}}"))
            attempt("connect_host", connect)
            seen["work"] = sorted(os.listdir("{{host.WorkDirectory}}"))
            seen["storage"] = sorted(os.listdir("{{host.StorageRoot}}")) if os.path.isdir("{{host.StorageRoot}}") else []
            seen["pid"] = os.getpid()
            with open("sandbox.json", "w") as out:
                out.write(json.dumps(seen))
            nrp.run_loop()
            """).Build();
        host.Experiment("other").Build();

        var sim = await host.CreatePausedAsync();
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForStateAsync(sim.Id, SimulationState.Completed);
        var directory = ((SimulationManager)host.Manager).DirectoryOf(sim.Id)!;
        using var seen = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "sandbox.json")));
        var root = seen.RootElement;

        Assert.Equal("EROFS", root.GetProperty("write_outside").GetString());
        Assert.False(File.Exists(readOnly));
        Assert.Equal("ok", root.GetProperty("write_own").GetString());
        Assert.Equal("x", File.ReadAllText(Path.Combine(directory, "own.txt")));
        Assert.Equal("ok", root.GetProperty("write_tmp").GetString());
        Assert.False(File.Exists("/tmp/sandbox-" + token), "the sandbox's /tmp is the host's");
        Assert.Contains(root.GetProperty("connect_host").GetString(), new[] { "ECONNREFUSED", "ENETUNREACH" });
        Assert.Equal([Path.GetFileName(directory)], root.GetProperty("work").EnumerateArray().Select(e => e.GetString()));
        Assert.Empty(root.GetProperty("storage").EnumerateArray());
        Assert.InRange(root.GetProperty("pid").GetInt32(), 1, 10);
        Assert.Equal(StateChangeStatus.Changed, (await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped)).Status);
    }

    [Fact]
    public async Task ADaemonInTheSandbox_EndsWithIt()
    {
        await using var host = SandboxHost();
        host.Experiment().WithConfig(timeout: 1000).WithScript(WorkerEscapeTests.DaemonScript).Build();
        var sim = await host.CreatePausedAsync();
        var sandbox = ((SimulationManager)host.Manager).ProcessOf(sim.Id);
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForStateAsync(sim.Id, SimulationState.Completed);
        var processes = WorkerEscapeTests.Descendants(sandbox);
        var daemon = int.Parse(File.ReadAllText(Path.Combine(((SimulationManager)host.Manager).DirectoryOf(sim.Id)!, "daemon.pid")), CultureInfo.InvariantCulture);

        // Its process id is the one it has in the sandbox's PID namespace.
        Assert.Contains(processes, pid => File.ReadAllLines($"/proc/{pid}/status").Any(l => l.StartsWith("NSpid:", StringComparison.Ordinal) && l.EndsWith("\t" + daemon.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)));
        Assert.Equal(StateChangeStatus.Changed, (await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped)).Status);

        await Eventually.TrueAsync(() => !processes.Append(sandbox).Any(pid => Directory.Exists($"/proc/{pid}")), "a process of the sandbox is still there");
    }

    [Fact]
    public async Task WithoutBubblewrap_HealthSaysWhy_AndCreatingASimulationIs503WithTheReason()
    {
        await using var api = await ApiHost.StartAsync(s =>
        {
            s["NrpHost:Simulation:Isolation"] = "Sandbox";
            s["NrpHost:Simulation:Worker:Bubblewrap"] = "/nonexistent/bwrap";
        });
        api.Experiment().Build();

        var create = await api.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""");
        var health = await api.GetAsync("/health");

        create.AssertNrpError(503, type: "Server Error");
        Assert.Contains("Sandbox isolation", create.Json.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("bubblewrap (/nonexistent/bwrap) was not found", create.Json.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(503, health.Code);
        var simulations = health.Json.GetProperty("checks").GetProperty("simulations");
        Assert.Equal("unhealthy", simulations.GetProperty("status").GetString());
        Assert.Contains("apt-get install bubblewrap", simulations.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Empty(api.Manager.List());
    }

    private static CoreHost SandboxHost() => new(configure: s => s["NrpHost:Simulation:Isolation"] = "Sandbox");
}
