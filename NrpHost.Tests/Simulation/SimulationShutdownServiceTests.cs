using System.Globalization;
using NrpHost.Tests.Infrastructure;
using NrpHost.Tests.Messaging;

namespace NrpHost.Tests.Simulation;

public sealed class SimulationShutdownServiceTests
{
    [Fact]
    public async Task HostShutdown_StopsRunningSimulationsBeforeTheBrokerGoes_SoTheFinalStateIsPublished()
    {
        var port = FreePort.Next();
        var host = await ApiHost.StartAsync(settings: s => s["NrpHost:Mqtt:EmbeddedPort"] = port.ToString(CultureInfo.InvariantCulture));
        await using var frontend = await MqttRecorder.ConnectTcpAsync(port);
        host.LongExperiment().Build();
        await host.CreateAsync();
        await host.PutStateAsync(0, "started");
        await frontend.WaitForAsync("nrp_simulation/0/status", m => m.State == "started");

        await host.DisposeAsync(); // the host shuts down with the simulation running

        try
        {
            await frontend.WaitForAsync("nrp_simulation/0/status", m => m.State == "stopped", timeout: TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(ex.Message + "\nhost log:\n" + string.Join('\n', host.Logs.Entries), ex);
        }
    }
}
