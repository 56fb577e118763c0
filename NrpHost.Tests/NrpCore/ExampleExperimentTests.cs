using System.Collections.Concurrent;
using System.IO.Compression;
using Microsoft.Extensions.DependencyInjection;
using NrpHost.Simulation;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.NrpCore;

/// <summary>The example experiments shipped in <c>experiments/</c> run end to end on the embedded runtime.</summary>
[Collection(PythonCollection.Name)]
public sealed class ExampleExperimentTests
{
    /// <summary>
    /// The examples this repository ships, by name. Tests never run whatever else is in <c>experiments/</c>: a user's own
    /// folder there (half-written, or failing on purpose) must not break <c>dotnet test</c>.
    /// </summary>
    internal static readonly string[] Shipped = ["datatransfer_stream", "status_function_thermostat", "tf_exchange", "vehicle_closed_loop"];

    public static TheoryData<string> Examples() => new(Shipped);

    internal static string RepositoryExperiments() => Repository.Combine("experiments");

    [Fact]
    public void Examples_AreTheShippedOnesByName_WhateverElseIsInTheExperimentsFolder()
    {
        var user = Path.Combine(RepositoryExperiments(), "zz_user_" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(user);
        try
        {
            // a user's experiment that would fail: no engines, a script that raises
            File.WriteAllText(Path.Combine(user, "simulation_config.json"), """{"SimulationTimeout": 1, "EngineConfigs": [{"EngineType": "gazebo_grpc"}]}""");
            File.WriteAllText(Path.Combine(user, "main_script.py"), "raise RuntimeError('work in progress')\n");

            Assert.Equal(Shipped, ((IEnumerable<object[]>)Examples()).Select(row => (string)row[0]));
        }
        finally
        {
            Directory.Delete(user, recursive: true);
        }

        // every shipped example is there, as a runnable experiment
        Assert.All(Shipped, name => Assert.True(
            File.Exists(Path.Combine(RepositoryExperiments(), name, "simulation_config.json")) && File.Exists(Path.Combine(RepositoryExperiments(), name, "main_script.py")),
            $"the shipped example '{name}' is missing from experiments/"));
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public async Task Example_RunsToItsTimeoutWithoutErrors_AndItsLogsAreArchived(string name)
    {
        await using var host = new CoreHost(fakeClient: false);
        CopyDirectory(Path.Combine(RepositoryExperiments(), name), Path.Combine(host.StorageRoot, name));
        RunAtFullSpeed(Path.Combine(host.StorageRoot, name, "simulation_config.json"));
        var errors = new ConcurrentQueue<SimulationError>();
        host.Manager.RuntimeError += (_, e) => errors.Enqueue(e.Error);

        var sim = await host.CreatePausedAsync(name);
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        var done = await host.WaitForStateAsync(sim.Id, SimulationState.Completed, TimeSpan.FromSeconds(60));

        Assert.Empty(errors);
        Assert.True(done.Clock.Iterations > 0);
        Assert.Equal(StateChangeStatus.Changed, (await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped)).Status);
        var archive = Assert.Single(Directory.GetFiles(Path.Combine(host.StorageRoot, name), "*.log.zip"));
        using var zip = ZipFile.OpenRead(archive);
        Assert.Contains(zip.Entries, e => e.Name == "simulation_0.log");
    }

    [Fact]
    public async Task DataTransferStream_LogsThePendulumToFiles_AndStreamsItOnTheEmbeddedBroker()
    {
        const string name = "datatransfer_stream";
        var port = Messaging.FreePort.Next();
        await using var host = new CoreHost(
            fakeClient: false,
            configure: s => s["NrpHost:Mqtt:EmbeddedPort"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            services: b => b.AddMqttStatus());
        await host.StartHostedServicesAsync();
        await using var subscriber = await DataTransferStreamingTests.Subscriber.ConnectAsync(port);
        CopyDirectory(Path.Combine(RepositoryExperiments(), name), Path.Combine(host.StorageRoot, name));
        var errors = new ConcurrentQueue<SimulationError>();
        host.Manager.RuntimeError += (_, e) => errors.Enqueue(e.Error);

        var sim = await host.CreatePausedAsync(name);
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForStateAsync(sim.Id, SimulationState.Completed, TimeSpan.FromSeconds(60));

        Assert.Empty(errors);
        // files: one record per DataTransfer step (0.05 s) of the 5 s run, in nrp-core's Dump.ArrayFloat format
        var directory = Assert.Single(Directory.GetDirectories(host.WorkDirectory, $"nrp.{sim.Id}.*"));
        var stamp = Assert.Single(Directory.GetDirectories(Path.Combine(directory, "data")));
        var lines = File.ReadAllLines(Path.Combine(stamp, "pendulum_state-0.data"));
        Assert.Equal(100, lines.Length);
        Assert.Equal("0.000000,0,1.000000,0.000000", lines[0]);
        Assert.StartsWith("4.950000,0,", lines[^1], StringComparison.Ordinal);
        Assert.Equal(101, File.ReadAllLines(Path.Combine(stamp, "pendulum_energy-0.data")).Length); // field names first

        // stream: the host gave the engine its broker and simulation id; every record arrives and decodes
        var topic = $"nrp_simulation/{sim.Id}/data/pendulum_state";
        var seen = await subscriber.WaitForAsync(m => m.Count(x => x.Topic == topic) == 100);
        var first = Protos.EngineGrpc.DataPackMessage.Parser.ParseFrom(seen.First(x => x.Topic == topic).Payload);
        var state = first.Data.Unpack<Protos.Dump.ArrayFloat>();
        Assert.Equal([1f, 0f], state.FloatStream);
        Assert.Equal([2u], state.Dims);
        var list = System.Text.Json.JsonDocument.Parse(seen.Last(x => x.Topic == $"nrp_simulation/{sim.Id}/data").Payload).RootElement;
        Assert.Equal(
            ["pendulum_state", "pendulum_energy", "pendulum_phase"],
            list.EnumerateArray().Select(e => e.GetProperty("topic").GetString()!.Split('/')[^1]));

        Assert.Equal(StateChangeStatus.Changed, (await host.Manager.RequestStateAsync(sim.Id, SimulationState.Stopped)).Status);

        // the data files outlive the simulation directory: they are in the log archive under their relative path
        var archive = Assert.Single(Directory.GetFiles(Path.Combine(host.StorageRoot, name), $"*_simulation_{sim.Id}_*.log.zip"));
        using var zip = System.IO.Compression.ZipFile.OpenRead(archive);
        var archived = Assert.Single(zip.Entries, e => e.FullName == $"data/{Path.GetFileName(stamp)}/pendulum_state-0.data");
        using var reader = new StreamReader(archived.Open());
        Assert.Equal(lines, reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(zip.Entries, e => e.FullName == $"simulation_{sim.Id}.log");
    }

    [Fact]
    public async Task ReadmeExperiment_AsPrinted_RunsToItsTimeout_AndPrintsWhatTheReadmeSays()
    {
        await using var host = new CoreHost(fakeClient: false);
        var readme = File.ReadAllText(Repository.Combine("README.md")).ReplaceLineEndings("\n");
        var files = ReadmeFiles(readme, "my_experiment");
        Assert.Equal(["engine.py", "main_script.py", "simulation_config.json", "tf.py"], files.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, text) in files)
        {
            Directory.CreateDirectory(Path.Combine(host.StorageRoot, "my_experiment"));
            File.WriteAllText(Path.Combine(host.StorageRoot, "my_experiment", name), text);
        }

        var errors = new ConcurrentQueue<SimulationError>();
        var output = new ConcurrentQueue<string>();
        host.Manager.RuntimeError += (_, e) => errors.Enqueue(e.Error);
        host.Manager.Output += (_, e) => output.Enqueue(e.Text);

        var sim = await host.CreatePausedAsync("my_experiment");
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForStateAsync(sim.Id, SimulationState.Completed, TimeSpan.FromSeconds(60));

        Assert.Empty(errors);
        Assert.Equal(
            ["step 25: doubled is 48", "step 50: doubled is 98", "step 75: doubled is 148", "step 100: doubled is 198", "my_experiment: SimulationTimeout reached"],
            output.Where(l => l.StartsWith("step ", StringComparison.Ordinal) || l.StartsWith("my_experiment", StringComparison.Ordinal)));
        foreach (var said in new[] { "step 25: doubled is 48", "step 100: doubled is 198", "my_experiment: SimulationTimeout reached" })
        {
            Assert.Contains("`" + said + "`", readme, StringComparison.Ordinal);
        }
    }

    /// <summary>The code blocks the README marks with <c>&lt;!-- folder/file --&gt;</c>, by file name.</summary>
    private static Dictionary<string, string> ReadmeFiles(string readme, string folder)
    {
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        var marker = "<!-- " + folder + "/";
        for (var at = readme.IndexOf(marker, StringComparison.Ordinal); at >= 0; at = readme.IndexOf(marker, at + 1, StringComparison.Ordinal))
        {
            var name = readme[(at + marker.Length)..readme.IndexOf(" -->", at, StringComparison.Ordinal)];
            var start = readme.IndexOf('\n', readme.IndexOf("```", at, StringComparison.Ordinal)) + 1;
            files[name] = readme[start..readme.IndexOf("\n```", start, StringComparison.Ordinal)] + "\n";
        }

        return files;
    }

    /// <summary>Examples that pace themselves to real time run as fast as possible here, for at most 5 s simulated.</summary>
    private static void RunAtFullSpeed(string configPath)
    {
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        if (config["SimulationTimeout"]?.GetValue<double>() > 5)
        {
            config["SimulationTimeout"] = 5;
        }

        foreach (var engine in config["EngineConfigs"]!.AsArray())
        {
            if (engine!.AsObject().ContainsKey("RealTimeFactor"))
            {
                engine["RealTimeFactor"] = 0;
            }
        }

        File.WriteAllText(configPath, config.ToJsonString());
    }

    internal static void CopyDirectory(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(source).Where(f => !f.EndsWith(".log.zip", StringComparison.Ordinal)))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        foreach (var dir in Directory.EnumerateDirectories(source))
        {
            if (Path.GetFileName(dir) != "__pycache__")
            {
                CopyDirectory(dir, Path.Combine(target, Path.GetFileName(dir)));
            }
        }
    }
}
