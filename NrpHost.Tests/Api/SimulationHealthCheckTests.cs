using System.Text.Json;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Api;

[Collection(PythonCollection.Name)]
public sealed class SimulationHealthCheckTests
{
    [Fact]
    public async Task Health_AfterAnInProcessScriptWasAbandoned_IsDegradedAndSaysToRestart()
    {
        await using var host = await ApiHost.StartAsync(settings: s =>
        {
            s["NrpHost:Simulation:AbandonAfterMilliseconds"] = "300";
            s["NrpHost:Simulation:Isolation"] = "InProcess";
        });
        host.Experiment().WithScript("import time\nnrp.run_loop()\ntime.sleep(20)\n").Build();
        await host.CreateAsync();
        Assert.Equal("healthy", (await ChecksAsync(host)).GetProperty("simulations").GetProperty("status").GetString());
        await host.PutStateAsync(0, "started");
        while (host.Manager.Find(0)!.Clock.Iterations < 1)
        {
            await Task.Yield(); // the script is about to enter its blocking call
        }

        var stop = await host.PutStateAsync(0, "stopped");

        Assert.Equal(500, stop.Code);
        var simulations = (await ChecksAsync(host)).GetProperty("simulations");
        Assert.Equal("degraded", simulations.GetProperty("status").GetString());
        Assert.Contains("Restart the host", simulations.GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    private static async Task<JsonElement> ChecksAsync(ApiHost host)
    {
        var response = await host.GetAsync("/health");
        Assert.Equal(200, response.Code);
        using var body = JsonDocument.Parse(response.Text);
        return body.RootElement.GetProperty("checks").Clone();
    }
}
