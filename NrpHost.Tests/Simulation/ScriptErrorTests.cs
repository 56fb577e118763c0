using System.Collections.Concurrent;
using NrpHost.Simulation;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Simulation;

[Collection(PythonCollection.Name)]
public sealed class ScriptErrorTests
{
    private static async Task<(SimulationSnapshot Final, List<SimulationError> Errors)> RunToEnd(CoreHost host)
    {
        var errors = new ConcurrentQueue<SimulationError>();
        host.Manager.RuntimeError += (_, e) => errors.Enqueue(e.Error);
        var result = await host.Manager.CreateAsync(new SimulationRequest("exp"));
        if (result.Status != CreateSimulationStatus.Ready)
        {
            return (host.Manager.Find(result.Simulation!.Id)!, errors.ToList());
        }

        await host.Manager.RequestStateAsync(result.Simulation!.Id, SimulationState.Started);
        var final = await host.WaitForAsync(result.Simulation.Id, s => s.State is SimulationState.Completed or SimulationState.Failed);
        return (final, errors.ToList());
    }

    [Fact]
    public async Task SyntaxError_IsACompileErrorAtLoad_AndTheSimulationFails()
    {
        await using var host = new CoreHost();
        host.Experiment().WithScript("x = 1\nif x\n    pass\n").Build();

        var result = await host.Manager.CreateAsync(new SimulationRequest("exp"));

        Assert.Equal(CreateSimulationStatus.Failed, result.Status);
        Assert.Equal(SimulationFault.Initialization, result.Fault);
        Assert.Equal(SimulationState.Failed, host.Manager.Find(0)!.State);
        Assert.Empty(Directory.EnumerateDirectories(host.WorkDirectory, "nrp.*"));
        Assert.StartsWith("SyntaxError in (Line 2)", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SyntaxError_Report_HasLineOffsetAndText()
    {
        await using var host = new CoreHost();
        host.Experiment().WithScript("x = 1\nif x\n    pass\n").Build();

        var (_, errors) = await RunToEnd(host);

        var error = Assert.Single(errors);
        Assert.Equal("Compile", error.ErrorType);
        Assert.Equal("main_script.py", error.FileName);
        Assert.Equal(2, error.LineNumber);
        Assert.True(error.Offset > 0);
        Assert.Equal("if x", error.LineText);
        Assert.Equal("0", error.SimulationId.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task MissingMainScript_IsALoadingError()
    {
        await using var host = new CoreHost();
        host.Experiment().Build();
        File.Delete(Path.Combine(host.StorageRoot, "exp", "main_script.py"));

        var (final, errors) = await RunToEnd(host);

        Assert.Equal(SimulationState.Failed, final.State);
        var error = Assert.Single(errors);
        Assert.Equal("Loading", error.ErrorType);
        Assert.StartsWith("Error loading main script : ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientInitialisationFailure_IsALoadingError_AndNothingIsLeft()
    {
        await using var host = new CoreHost();
        host.Experiment().WithFakeClient("fail_initialize", "engine would not start").Build();

        var (final, errors) = await RunToEnd(host);

        Assert.Equal(SimulationState.Failed, final.State);
        var error = Assert.Single(errors);
        Assert.Equal("Loading", error.ErrorType);
        Assert.Equal("Error initializing nrp_core client. Check logs. Simulation ID 0: engine would not start", error.Message);
        Assert.Empty(Directory.EnumerateDirectories(host.WorkDirectory, "nrp.*"));
    }

    [Fact]
    public async Task BrokenConfiguration_FailsWithAClearMessage()
    {
        await using var host = new CoreHost();
        host.Experiment().WithConfig(raw: "{ not json").Build();

        var (final, errors) = await RunToEnd(host);

        Assert.Equal(SimulationState.Failed, final.State);
        Assert.Contains("Error loading experiment configuration 'simulation_config.json'", Assert.Single(errors).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("nrp.run_loop()\nundefined_name\n", "NameError", 2)]
    [InlineData("nrp.run_loop()\nx = None\nx.missing\n", "AttributeError", 3)]
    public async Task NameAndAttributeErrors_AreCompileErrorsWithTheLine(string script, string kind, int line)
    {
        await using var host = new CoreHost();
        host.Experiment().WithScript(script).Build();

        var (final, errors) = await RunToEnd(host);

        Assert.Equal(SimulationState.Completed, final.State);
        var error = Assert.Single(errors);
        Assert.Equal("Compile", error.ErrorType);
        Assert.StartsWith($"{kind} in main script (Line {line}): ", error.Message, StringComparison.Ordinal);
        Assert.Equal(line, error.LineNumber);
        Assert.Equal(script.Split('\n')[line - 1], error.LineText);
    }

    [Fact]
    public async Task OtherExceptions_AreRuntimeErrors_FromTheInnermostExperimentFrame()
    {
        await using var host = new CoreHost();
        host.Experiment()
            .WithFile("helpers.py", "def explode():\n    raise ValueError('bad value')\n")
            .WithScript("import helpers\nnrp.run_loop()\nhelpers.explode()\n").Build();

        var (final, errors) = await RunToEnd(host);

        Assert.Equal(SimulationState.Completed, final.State);
        var error = Assert.Single(errors);
        Assert.Equal("Runtime", error.ErrorType);
        Assert.Equal("bad value", error.Message);
        Assert.Equal("helpers.py", error.FileName);
        Assert.Equal(2, error.LineNumber);
        Assert.Equal("raise ValueError('bad value')", error.LineText);
    }

    [Fact]
    public async Task ClientFailureDuringRunLoop_IsARuntimeError_AndTimeIsStillCounted()
    {
        await using var host = new CoreHost();
        host.Experiment().WithConfig(timeout: 100).WithFakeClient("fail_at_step", 5).WithScript(ExperimentBuilder.LoopScript).Build();

        var (final, errors) = await RunToEnd(host);

        Assert.Equal(SimulationState.Completed, final.State);
        Assert.Equal(5, final.Clock.Iterations);
        var error = Assert.Single(errors);
        Assert.Equal("Runtime", error.ErrorType);
        Assert.Equal("engine failure at step 6", error.Message);
        Assert.Equal(3, error.LineNumber);
    }

    [Fact]
    public async Task UncaughtTimeout_IsASimTimeoutError()
    {
        await using var host = new CoreHost();
        host.Experiment().WithConfig(timeout: 0.05).WithScript("while True:\n    nrp.run_loop()\n").Build();

        var (final, errors) = await RunToEnd(host);

        Assert.Equal(5, final.Clock.Iterations);
        var error = Assert.Single(errors);
        Assert.Equal("SimTimeout", error.ErrorType);
        Assert.Equal("The number of iteration requested will exceed the timeout", error.Message);
        Assert.Equal(2, error.LineNumber);
    }

    [Fact]
    public async Task MissingTimeout_DefaultsToZero_SoTheFirstRunLoopTimesOut()
    {
        await using var host = new CoreHost();
        host.Experiment().WithConfig(raw: """{"SimulationTimestep": 0.01, "EngineConfigs": []}""").WithScript("nrp.run_loop()\n").Build();

        var (final, errors) = await RunToEnd(host);

        Assert.Equal(0, final.Clock.Iterations);
        Assert.Equal("SimTimeout", Assert.Single(errors).ErrorType);
    }

    [Fact]
    public async Task SysExitWithNonZeroCode_IsReportedAndTheHostKeepsServing()
    {
        await using var host = new CoreHost();
        host.Experiment().WithScript("import sys\nsys.exit(3)\n").Build();

        var (final, errors) = await RunToEnd(host);

        Assert.Equal(SimulationState.Completed, final.State);
        Assert.Equal("Runtime", Assert.Single(errors).ErrorType);
        await host.Manager.RequestStateAsync(final.Id, SimulationState.Stopped);
        Assert.Equal(CreateSimulationStatus.Ready, (await host.Manager.CreateAsync(new SimulationRequest("exp"))).Status);
    }
}
