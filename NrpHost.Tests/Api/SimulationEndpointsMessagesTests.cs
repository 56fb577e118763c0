using NrpHost.Simulation;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Api;

/// <summary>What a person reads when a create goes wrong: which file, which line, which simulation, what to do.</summary>
public sealed class SimulationEndpointsMessagesTests
{
    [Fact]
    public async Task Create_WithASyntaxError_Returns500NamingTheFileAndLine_WithQuotesReadable()
    {
        await using var host = await ApiHost.StartAsync();
        host.Experiment().WithScript("x = 1\nprint('it''s')\nif x\n    pass\n").Build();

        var response = await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""");

        var error = response.AssertNrpError(500, type: "Server Error");
        var message = error.GetProperty("message").GetString()!;
        Assert.Contains("SyntaxError", message, StringComparison.Ordinal);
        Assert.Contains("(main_script.py, line 3)", message, StringComparison.Ordinal);
        Assert.Contains("(main_script.py, line 3)", error.GetProperty("data").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("\\u0022", response.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u0027", response.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(host.WorkDirectory, response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_WhenAnEngineFailsToInitialise_NamesTheEngineFileAndLine()
    {
        await using var host = await ApiHost.StartAsync(settings: s =>
        {
            s["NrpHost:NrpCore:Mode"] = "Embedded";
            s.Remove("NrpHost:NrpCore:Client");
            s.Remove("NrpHost:NrpCore:PythonPath:0");
        });
        host.Experiment()
            .WithConfig(dataTransfer: false)
            .WithFile("engine.py", """
                from nrp_core.engines.python_json import EngineScript

                class Script(EngineScript):
                    def initialize(self):
                        raise ValueError("the 'arena' is missing")

                    def runLoop(self, timestep_ns):
                        pass

                    def shutdown(self):
                        pass
                """)
            .Build();

        var response = await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""");

        var message = response.AssertNrpError(500, type: "Server Error").GetProperty("message").GetString()!;
        Assert.Contains("the 'arena' is missing", message, StringComparison.Ordinal);
        Assert.Contains("(engine.py, line 5)", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_WithoutAConfigurationFile_Returns400NamingIt()
    {
        await using var host = await ApiHost.StartAsync();
        host.Experiment().Build();
        File.Delete(Path.Combine(host.StorageRoot, "exp", "simulation_config.json"));

        var response = await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""");

        var error = response.AssertNrpError(400, type: "Client error");
        Assert.StartsWith("The experiment 'exp' has no configuration file 'simulation_config.json'", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("simulation_config.json", error.GetProperty("data").GetString(), StringComparison.Ordinal);

        // the failed attempt does not hold the host
        File.WriteAllText(Path.Combine(host.StorageRoot, "exp", "simulation_config.json"), """{"SimulationTimeout": 1}""");
        Assert.Equal(201, (await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""")).Code);
    }

    [Fact]
    public async Task Create_WithANamedConfigurationThatIsMissing_Returns400NamingThatFile()
    {
        await using var host = await ApiHost.StartAsync();
        host.Experiment().Build();

        var response = await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp","experimentConfiguration":"other_config.json"}""");

        response.AssertNrpError(400, type: "Client error");
        Assert.Contains("'other_config.json'", response.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"SimulationTimestep": 0.01}""", "SimulationTimeout is not set")]
    [InlineData("""{"SimulationTimeout": 0}""", "SimulationTimeout is 0 s")]
    public async Task Create_WithoutASimulationTimeout_KeepsTheBackendsMeaning_AndWarnsInTheLog(string config, string said)
    {
        await using var host = await ApiHost.StartAsync();
        host.Experiment().WithConfig(raw: config).Build();
        var mark = host.Logs.Mark;

        var created = await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""");

        Assert.Equal(201, created.Code);
        var line = await host.Logs.WaitForAsync(
            e => e.Category == "NrpHost.Api" && e.Message.StartsWith("Simulation 0 created for experiment exp", StringComparison.Ordinal), since: mark);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, line.Level);
        Assert.Contains(said, line.Message, StringComparison.Ordinal);
        Assert.Contains("simulation_config.json", line.Message, StringComparison.Ordinal);
        Assert.Contains("completes at once", line.Message, StringComparison.Ordinal);

        // the NRP backend's meaning: the first run_loop times out and the run completes
        Assert.Equal(200, (await host.PutStateAsync(0, "started")).Code);
        await host.Manager.WaitForStateAsync(0, SimulationState.Completed, TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task Create_WhileACompletedSimulationHoldsTheHost_Returns409NamingItAndHowToFreeTheHost()
    {
        await using var host = await ApiHost.StartAsync();
        host.Experiment("first").WithScript("nrp.run_loop(1)\n").Build();
        host.Experiment("second").Build();
        await host.CreateAsync("first");
        Assert.Equal(200, (await host.PutStateAsync(0, "started")).Code);
        await host.Manager.WaitForStateAsync(0, SimulationState.Completed, TimeSpan.FromSeconds(15));

        var refused = await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"second"}""");

        var message = refused.AssertNrpError(409, type: "Client error").GetProperty("message").GetString()!;
        Assert.StartsWith("Another simulation is already running on the server: simulation 0 (experiment 'first') has completed", message, StringComparison.Ordinal);
        Assert.Contains("Stop it (simulation 0, state 'stopped') to free the host.", message, StringComparison.Ordinal);
        Assert.Equal(200, (await host.PutStateAsync(0, "stopped")).Code);
        Assert.Equal(201, (await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"second"}""")).Code);
    }

    [Fact]
    public async Task ErrorBodies_KeepQuotesAndNonAsciiAsTheyAre()
    {
        await using var host = await ApiHost.StartAsync();
        host.Experiment().Build();
        await host.CreateAsync();

        var response = await host.SendAsync(HttpMethod.Put, "/simulation/0/state", """{"state":"it's \"é\""}""");

        var error = response.AssertNrpError(400);
        Assert.Contains("""Invalid state requested: (it's \"é\")""", response.Text, StringComparison.Ordinal);
        Assert.Equal("Invalid state requested: (it's \"é\")", error.GetProperty("message").GetString());
    }
}
