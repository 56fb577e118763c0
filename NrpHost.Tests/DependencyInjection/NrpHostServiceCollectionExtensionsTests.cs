using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NrpHost.Hosting;
using NrpHost.Messaging;
using NrpHost.NrpCore;
using NrpHost.Python;
using NrpHost.Simulation;
using NrpHost.Storage;
using NrpHost.Tests.Infrastructure;
using NrpHost.Tests.Messaging;

namespace NrpHost.Tests.DependencyInjection;

/// <summary><c>AddNrpHost(options =&gt; …)</c>: settings in code, without a configuration.</summary>
public sealed class NrpHostServiceCollectionExtensionsTests
{
    [Fact]
    public void AddNrpHost_WithOptionsInCode_TheyAreTheOptions_AndTheRestKeepTheirDefaults()
    {
        using var root = new TempDirectory("di");
        var services = new ServiceCollection().AddLogging();
        services.AddNrpHost(o =>
        {
            o.LocalStorage.LocalRoot = root.Path;
            o.Simulation.MaxActiveSimulations = 3;
            o.Python.OutputDrainIntervalMilliseconds = 50;
            o.NrpCore.PythonPath.Add("/opt/nrp-core/lib");
            o.Mqtt.EmbeddedPort = 18830;
            o.HostId = "lab host 1";
        });
        using var provider = services.BuildServiceProvider();

        Assert.Equal(root.Path, Get<LocalStorageOptions>(provider).LocalRoot);
        Assert.Equal(3, Get<SimulationOptions>(provider).MaxActiveSimulations);
        Assert.Equal(120, Get<SimulationOptions>(provider).InitializeTimeoutSeconds);
        Assert.Equal(50, Get<PythonOptions>(provider).OutputDrainIntervalMilliseconds);
        Assert.Equal(["/opt/nrp-core/lib"], Get<NrpCoreOptions>(provider).PythonPath);
        Assert.Equal(18830, Get<MqttOptions>(provider).EmbeddedPort);
        Assert.Equal("lab-host-1", Get<HostIdentityOptions>(provider).HostId);
        Assert.IsType<LocalExperimentStorage>(provider.GetRequiredService<IExperimentStorage>());
    }

    [Fact]
    public void AddNrpHost_WithAProxyUrlInCode_UsesTheStorageProxy()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddNrpHost(o => o.ProxyStorage.ProxyUrl = "http://127.0.0.1:9/storage");
        using var provider = services.BuildServiceProvider();

        Assert.IsType<ProxyExperimentStorage>(provider.GetRequiredService<IExperimentStorage>());
        Assert.Equal("http://127.0.0.1:9/storage", Get<ProxyStorageOptions>(provider).ProxyUrl);
    }

    [Fact]
    public void AddNrpHost_WithAnInvalidOptionInCode_NamesItWhenTheOptionsAreRead()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddNrpHost(o => o.Simulation.MaxActiveSimulations = 0);
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => Get<SimulationOptions>(provider));
        Assert.Contains("MaxActiveSimulations", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddMqttStatus_WithTheEmbeddedBroker_LogsAtStartThatItRunsOneAndWhere()
    {
        var port = FreePort.Next();
        var logs = new CapturingLoggerProvider();
        var services = new ServiceCollection().AddLogging(b => b.AddProvider(logs));
        services.AddNrpHost(o => o.Mqtt.EmbeddedPort = port).AddMqttStatus();
        await using var provider = services.BuildServiceProvider();
        var broker = provider.GetRequiredService<EmbeddedMqttBroker>();

        await broker.StartAsync(CancellationToken.None);
        try
        {
            var line = Assert.Single(logs.Entries, e => e.Message.StartsWith("Embedded MQTT broker listening", StringComparison.Ordinal));
            Assert.Equal(LogLevel.Information, line.Level);
            Assert.Contains("127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture), line.Message, StringComparison.Ordinal);
            Assert.Contains("AddMqttStatus", line.Message, StringComparison.Ordinal);
            Assert.Contains("set NrpHost:Mqtt:Broker", line.Message, StringComparison.Ordinal);
        }
        finally
        {
            await broker.StopAsync(CancellationToken.None);
        }
    }

    private static T Get<T>(IServiceProvider provider)
        where T : class => provider.GetRequiredService<IOptions<T>>().Value;
}
