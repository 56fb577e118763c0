using NrpHost.Benchmarks;
using NrpHost.Tests.Infrastructure;
using NrpHost.Tests.NrpCore;

namespace NrpHost.Tests.Profiling;

/// <summary>
/// <c>dotnet run --project benchmarks/NrpHost.Benchmarks -- step-latency &lt;experiment folder&gt;</c>, called through its entry
/// point in this process (the interpreter is process-wide).
/// </summary>
[Collection(PythonCollection.Name)]
public sealed class StepLatencyCommandTests(PythonFixture python)
{
    [Fact]
    public async Task OnTfExchange_PrintsThePhaseTable_AndWritesTheCsvTheChartsAndTheTimeLogs()
    {
        Assert.NotNull(python.Runtime);
        using var temp = new TempDirectory("step-latency");
        var experiment = Path.Combine(ExampleExperimentTests.RepositoryExperiments(), "tf_exchange");
        var before = Directory.GetFileSystemEntries(experiment).Order(StringComparer.Ordinal).ToArray();
        var output = new StringWriter();
        var error = new StringWriter();

        var exit = await StepLatencyCommand.RunAsync([experiment, "--steps", "150", "--out", temp.Path], output, error);

        Assert.True(exit == 0, error.ToString());
        var text = output.ToString();
        Assert.Contains("150 steps, 150 nrp.run_loop calls", text, StringComparison.Ordinal);
        foreach (var row in new[] { "step (FTI cycle)", "get datapacks", "run functions", "send datapacks", "restart engines", "client run_loop", "host (nrp.run_loop)", "engine python_1", "engine python_2", "function tf_1" })
        {
            Assert.Matches(System.Text.RegularExpressions.Regex.Escape(row) + @"\s+150\s", text);
        }

        var csv = File.ReadAllLines(Path.Combine(temp.Path, "steps.csv"));
        Assert.Equal("step,start_us,wait_for_engines_us,get_datapacks_us,run_functions_us,send_datapacks_us,restart_engines_us,step_duration_us", csv[0]);
        Assert.Equal(151, csv.Length);
        Assert.All(csv.Skip(1), line => Assert.Equal(8, line.Split(',').Length));
        Assert.Equal((1200, 600), PngSize(Path.Combine(temp.Path, "step_duration.png")));
        Assert.Equal((1000, 500), PngSize(Path.Combine(temp.Path, "step_histogram.png")));
        var timeLogs = Assert.Single(Directory.GetDirectories(Path.Combine(temp.Path, "time_logs")));
        Assert.Equal(150, File.ReadAllLines(Path.Combine(timeLogs, "step_duration.log")).Length);
        Assert.Contains("\"steps\": 150", File.ReadAllText(Path.Combine(temp.Path, "profile.json")), StringComparison.Ordinal);

        // The shipped experiment is left as it was.
        Assert.Equal(before, Directory.GetFileSystemEntries(experiment).Order(StringComparer.Ordinal).ToArray());
    }

    [Theory]
    [InlineData(new string[0], "the experiment folder is missing")]
    [InlineData(new[] { "/nonexistent/experiment" }, "does not exist")]
    [InlineData(new[] { ".", "--steps", "-5" }, "--steps must be a positive whole number")]
    [InlineData(new[] { ".", "--steps" }, "--steps needs a value")]
    [InlineData(new[] { ".", "--config", "../../etc/passwd" }, "is not a file inside")]
    [InlineData(new[] { ".", "--frobnicate" }, "unexpected argument '--frobnicate'")]
    public async Task BadArguments_AreRefusedWithTheUsage_AndExitCode2(string[] args, string message)
    {
        var error = new StringWriter();
        var exit = await StepLatencyCommand.RunAsync(args, TextWriter.Null, error);
        Assert.Equal(2, exit);
        Assert.Contains(message, error.ToString(), StringComparison.Ordinal);
        Assert.Contains("usage: step-latency <experiment folder>", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnExperimentTheEmbeddedRuntimeCannotRun_FailsWithItsReason_AndExitCode1()
    {
        Assert.NotNull(python.Runtime);
        using var temp = new TempDirectory("step-latency-bad");
        var experiment = temp.Combine("gazebo_exp");
        Directory.CreateDirectory(experiment);
        File.WriteAllText(Path.Combine(experiment, "simulation_config.json"),
            """{"SimulationTimeout": 1, "EngineConfigs": [{"EngineName": "gazebo", "EngineType": "gazebo_grpc"}]}""");
        var error = new StringWriter();

        var exit = await StepLatencyCommand.RunAsync([experiment, "--out", temp.Combine("out")], TextWriter.Null, error);

        Assert.Equal(1, exit);
        Assert.Contains("gazebo_grpc", error.ToString(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(temp.Combine("out")));
    }

    private static (int Width, int Height) PngSize(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
        Assert.True(bytes.Length > 5000, "the chart is nearly empty");
        return (System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
    }
}
