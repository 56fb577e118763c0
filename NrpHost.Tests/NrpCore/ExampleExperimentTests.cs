using System.Collections.Concurrent;
using System.IO.Compression;
using NrpHost.Simulation;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.NrpCore;

/// <summary>The example experiments shipped in <c>experiments/</c> run end to end on the embedded runtime.</summary>
[Collection(PythonCollection.Name)]
public sealed class ExampleExperimentTests(PythonFixture python)
{
    public static TheoryData<string> Examples()
    {
        var data = new TheoryData<string>();
        foreach (var dir in Directory.EnumerateDirectories(RepositoryExperiments()).Order(StringComparer.Ordinal))
        {
            if (File.Exists(Path.Combine(dir, "simulation_config.json")))
            {
                data.Add(Path.GetFileName(dir));
            }
        }

        return data;
    }

    internal static string RepositoryExperiments()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "experiments");
            if (Directory.Exists(candidate) && File.Exists(Path.Combine(dir.FullName, "NrpHost.sln")))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("the repository's experiments/ folder");
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public async Task Example_RunsToItsTimeoutWithoutErrors_AndItsLogsAreArchived(string name)
    {
        await using var host = new CoreHost(python, fakeClient: false);
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

    private static void CopyDirectory(string source, string target)
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
