using NrpHost.Simulation;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Simulation;

[Collection(PythonCollection.Name)]
public sealed class PathConfinementTests
{
    [Theory]
    [InlineData("../main_script.py")]
    [InlineData("/etc/passwd")]
    [InlineData("sub/../../x.py")]
    [InlineData("..\\x.py")]
    [InlineData("")]
    public async Task Create_WithAScriptOrConfigOutsideTheExperiment_IsRefusedBeforeAnythingIsWritten(string name)
    {
        await using var host = new CoreHost();
        host.Experiment().Build();

        var script = await host.Manager.CreateAsync(new SimulationRequest("exp") { MainScript = name });
        var config = await host.Manager.CreateAsync(new SimulationRequest("exp") { ExperimentConfiguration = name });

        Assert.Equal(CreateSimulationStatus.Invalid, script.Status);
        Assert.Equal(CreateSimulationStatus.Invalid, config.Status);
        Assert.Empty(host.Manager.List());
        Assert.False(Directory.Exists(host.WorkDirectory) && Directory.EnumerateFileSystemEntries(host.WorkDirectory).Any());
    }

    [Theory]
    [InlineData("../experiments")]
    [InlineData("a/b")]
    [InlineData("..")]
    public async Task Create_WithAnExperimentIdThatIsNotOneFolder_IsRefusedWithoutWritingAnything(string experimentId)
    {
        await using var host = new CoreHost();
        host.Experiment().Build();

        var result = await host.Manager.CreateAsync(new SimulationRequest(experimentId));

        Assert.Equal(CreateSimulationStatus.Invalid, result.Status);
        Assert.Equal($"Refused the experiment id '{experimentId}': it must be a single folder name.", result.Message);
        Assert.Empty(host.Manager.List());
        Assert.False(Directory.Exists(host.WorkDirectory));
    }

    [Fact]
    public async Task Create_ForAnUnknownExperiment_FailsAsNotFound_AndLeavesNoEntry()
    {
        await using var host = new CoreHost();

        var result = await host.Manager.CreateAsync(new SimulationRequest("nope"));

        Assert.Equal(CreateSimulationStatus.Failed, result.Status);
        Assert.Equal(SimulationFault.ExperimentNotFound, result.Fault);
        Assert.Null(result.Simulation);
        Assert.Empty(host.Manager.List());
        Assert.False(Directory.Exists(host.WorkDirectory));
    }

    [Fact]
    public async Task Staging_SkipsLinksAndTopLevelLogs()
    {
        await using var host = new CoreHost();
        var outside = Path.Combine(host.Scratch, "secret.txt");
        File.WriteAllText(outside, "secret");
        var output = Path.Combine(host.Scratch, "seen.txt");
        var exp = host.Experiment()
            .WithFile("old.log", "old")
            .WithFile("logs/x.txt", "x")
            .WithFile("nested/keep.log", "kept below top level")
            .WithScript($"import os\nopen({System.Text.Json.JsonSerializer.Serialize(output)}, 'w').write(' '.join(sorted(os.listdir('.') + os.listdir('nested'))))\n")
            .Build();
        File.CreateSymbolicLink(Path.Combine(exp.Directory, "link.txt"), outside);

        var sim = await host.CreatePausedAsync();
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForStateAsync(sim.Id, SimulationState.Completed);

        var seen = File.ReadAllText(output).Split(' ');
        Assert.DoesNotContain("link.txt", seen);
        Assert.DoesNotContain("old.log", seen);
        Assert.DoesNotContain("logs", seen);
        Assert.Contains("keep.log", seen);
        Assert.Contains("main_script.py", seen);
    }
}
