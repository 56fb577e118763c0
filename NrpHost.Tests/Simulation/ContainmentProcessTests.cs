using System.IO.Compression;
using System.Text.Json;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Simulation;

/// <summary>Containment that needs a process of its own: a host killed mid-run, and an interpreter that could not be restored.</summary>
public sealed class ContainmentProcessTests
{
    private const string EngineConfig =
        """{"SimulationTimeout": 100000, "EngineConfigs": [{"EngineType": "python_json", "EngineName": "python_1", "PythonFileName": "engine.py"}]}""";

    /// <summary>Writes the experiment <c>exp</c> (one no-op python_json engine, <paramref name="script"/>) under <paramref name="root"/>.</summary>
    internal static void WriteExperiment(string root, string script)
    {
        var folder = Path.Combine(root, "exp");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "simulation_config.json"), EngineConfig);
        File.WriteAllText(Path.Combine(folder, "engine.py"), ExperimentBuilder.NoOpEngine);
        File.WriteAllText(Path.Combine(folder, "main_script.py"), script);
    }

    [Fact]
    public async Task AHostKilledMidRun_LeavesItsDirectory_AndTheNextStartArchivesItsLogsAndRemovesIt()
    {
        using var temp = new TempDirectory("crash");
        var experiments = temp.Combine("experiments");
        var work = temp.Combine("work");
        var marker = "printed before the crash " + Guid.NewGuid().ToString("N");
        WriteExperiment(experiments, $"print('{marker}')\nwhile True:\n    nrp.run_loop()\n");
        var settings = new Dictionary<string, string> { ["NrpHost:Storage:LocalRoot"] = experiments, ["NrpHost:Simulation:WorkDirectory"] = work };

        await using (var first = await ApiProcess.StartAsync(settings))
        {
            Assert.Equal(201, (await first.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""")).Code);
            Assert.Equal(200, (await first.SendAsync(HttpMethod.Put, "/simulation/0/state", """{"state":"started"}""")).Code);
            var directory = Assert.Single(Directory.GetDirectories(work, "nrp.0.*"));
            var log = Path.Combine(directory, "simulation_0.log");

            // The log is written through at least every 200 ms, so what was printed is on disk before the crash.
            await Eventually.TrueAsync(() => File.Exists(log) && File.ReadAllText(log).Contains(marker, StringComparison.Ordinal), () => first.Output);
            await first.KillAsync();
        }

        var leftover = Assert.Single(Directory.GetDirectories(work, "nrp.0.*"));
        Assert.True(File.Exists(leftover + ".json"));

        await using var second = await ApiProcess.StartAsync(settings);
        await Eventually.TrueAsync(() => !Directory.Exists(leftover), () => second.Output);

        var archive = Assert.Single(Directory.GetFiles(Path.Combine(experiments, "exp"), "*_simulation_0_*.log.zip"));
        using (var zip = ZipFile.OpenRead(archive))
        using (var reader = new StreamReader(zip.GetEntry("simulation_0.log")!.Open()))
        {
            Assert.Contains(marker, await reader.ReadToEndAsync(), StringComparison.Ordinal);
        }

        Assert.False(File.Exists(leftover + ".json"));
        Assert.Contains("was left behind by an earlier process", second.Output, StringComparison.Ordinal);

        // The host it started serves, and a directory it uses itself is never taken for a leftover.
        Assert.Equal(201, (await second.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""")).Code);
        await using var third = await ApiProcess.StartAsync(settings);
        Assert.Single(Directory.GetDirectories(work, "nrp.0.*"));
        Assert.Equal(200, (await second.SendAsync(HttpMethod.Put, "/simulation/0/state", """{"state":"stopped"}""")).Code);
    }

    [Fact]
    public async Task WhenTheInterpreterCannotBeRestored_HealthIs503_AndPostSays503WithTheReason_AndNothingRuns()
    {
        using var temp = new TempDirectory("restore-fails");
        var experiments = temp.Combine("experiments");
        WriteExperiment(experiments, "nrp.run_loop()\n");

        var seen = await ChildProcess.RunAsync("restore-fails", TimeSpan.FromSeconds(90), experiments, temp.Combine("work"));

        Assert.Equal(201, Code(seen, "created"));
        Assert.Equal(200, Code(seen, "stopped"));
        Assert.Equal(503, Code(seen, "health"));
        var health = Body(seen, "health");
        Assert.Equal("unhealthy", health.GetProperty("checks").GetProperty("python").GetProperty("status").GetString());
        Assert.Contains("could not be undone", health.GetProperty("python").GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(503, Code(seen, "next"));
        var refusal = Body(seen, "next");
        Assert.Contains("Python cannot run simulations on this host", refusal.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("the interpreter could not be given back", refusal.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, Body(seen, "list").GetArrayLength());
    }

    [Fact]
    public async Task ArchivingNeedsNoFreeDescriptor_ForCompression_OnceTheHostIsMade()
    {
        using var temp = new TempDirectory("no-descriptors");

        // A bare process loads the compression library on first use, which needs a descriptor: none free, no archive.
        var bare = await ChildProcess.RunAsync("compress-without-descriptors", null, "bare", temp.Combine("bare"));
        Assert.True(bare.GetProperty("taken").GetInt32() > 0);
        Assert.Contains("compression", bare.GetProperty("error").GetString(), StringComparison.OrdinalIgnoreCase);

        // The host loads it when it is made, so a script that used up every descriptor cannot take archiving away.
        var host = await ChildProcess.RunAsync("compress-without-descriptors", null, "host", temp.Combine("host"));
        Assert.True(host.GetProperty("taken").GetInt32() > 0);
        Assert.Equal(JsonValueKind.Null, host.GetProperty("error").ValueKind);
        Assert.True(host.GetProperty("compressed").GetInt64() > 0);
    }

    private static int Code(JsonElement seen, string step) => seen.GetProperty(step).GetProperty("code").GetInt32();

    private static JsonElement Body(JsonElement seen, string step) => JsonDocument.Parse(seen.GetProperty(step).GetProperty("body").GetString()!).RootElement.Clone();
}
