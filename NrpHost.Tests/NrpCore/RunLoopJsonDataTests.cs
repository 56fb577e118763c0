using System.Collections.Concurrent;
using NrpHost.Simulation;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.NrpCore;

/// <summary>
/// <c>nrp.run_loop(n, json_data)</c> in a main script: the data travels with that run request as client JSON
/// datapacks, checked with nrp-core's own status-function example (its loopback variant), run from
/// <c>../shared/nrp-core-conformance/</c> unchanged.
/// </summary>
[Collection(PythonCollection.Name)]
public sealed class RunLoopJsonDataTests
{
    private static readonly string Example = Conformance.Combine("examples", "status_function_test");

    [ConformanceTheory]
    [InlineData("""nrp.run_loop(1, {"datapack_name": "actions", "engine_name": "python_1", "payload": {"test_data": 888}})""")]
    [InlineData("""nrp.run_loop(1, json_data=[{"datapack_name": "actions", "engine_name": "python_1", "payload": {"test_data": 888}}])""")]
    [InlineData("""nrp.run_loop(1, '{"datapack_name": "actions", "engine_name": "python_1", "payload": {"test_data": 888}}')""")]
    public async Task JsonData_ReachesTheEngine_AndTheStatusFunctionReturnsIt_OneStepLater(string call)
    {
        await using var host = new CoreHost(fakeClient: false);
        Stage(host, $$"""
            done, first = {{call}}
            done, second = nrp.run_loop(1)
            print("trajectories", first, second)
            """);
        var errors = new ConcurrentQueue<SimulationError>();
        host.Manager.RuntimeError += (_, e) => errors.Enqueue(e.Error);

        var sim = await host.CreatePausedAsync("loopback");
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        var printed = await host.WaitForLogAsync(sim.Id, e => e.Message.StartsWith("trajectories", StringComparison.Ordinal));

        // As nrp-core's server.py expects of this example with the datapack set before the run: the status function sees
        // the engine's datapack of the step before, so 888 comes back one step later.
        Assert.Equal("trajectories [{'test_data': 0}] [{'test_data': 888}]", printed.Message);
        Assert.Empty(errors);
    }

    [ConformanceTheory]
    [InlineData("""nrp.run_loop(1, {"engine_name": "python_1", "payload": {}})""")]
    [InlineData("""nrp.run_loop(1, "not json")""")]
    [InlineData("""nrp.run_loop(1, 42)""")]
    public async Task JsonData_OfAnotherShape_IsARuntimeErrorThatSaysTheShape(string call)
    {
        await using var host = new CoreHost(fakeClient: false);
        Stage(host, call + "\n");
        var errors = new ConcurrentQueue<SimulationError>();
        host.Manager.RuntimeError += (_, e) => errors.Enqueue(e.Error);

        var sim = await host.CreatePausedAsync("loopback");
        await host.Manager.RequestStateAsync(sim.Id, SimulationState.Started);
        await host.WaitForStateAsync(sim.Id, SimulationState.Completed);

        var error = Assert.Single(errors);
        Assert.Equal("Runtime", error.ErrorType);
        Assert.Contains("json_data is a datapack {\"datapack_name\": ..., \"engine_name\": ..., \"payload\": {...}}", error.Message, StringComparison.Ordinal);
        Assert.Equal("main_script.py", error.FileName);
        Assert.Equal(1, error.LineNumber);
    }

    /// <summary>The loopback variant of the example, as experiment <c>loopback</c>, with <paramref name="script"/> as its main script.</summary>
    private static void Stage(CoreHost host, string script)
    {
        var folder = Path.Combine(host.StorageRoot, "loopback");
        Directory.CreateDirectory(folder);
        foreach (var file in new[] { "engine_1.py", "engine_2.py", "tf_1.py", "status_function_loopback.py" })
        {
            File.Copy(Path.Combine(Example, file), Path.Combine(folder, file));
        }

        File.Copy(Path.Combine(Example, "simulation_config_loopback.json"), Path.Combine(folder, "simulation_config.json"));
        File.WriteAllText(Path.Combine(folder, "main_script.py"), script);
    }
}
