using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NrpHost.Hosting;
using NrpHost.Messaging;
using NrpHost.NrpCore;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Hosting;

/// <summary>The host id is safe in topics and file names, and the MQTT prefix is resolved once, the same for every user.</summary>
public sealed class HostIdentityTests
{
    [Theory]
    [InlineData("lab-1", "lab-1")]
    [InlineData("Lab_1.example.org", "Lab_1.example.org")]
    [InlineData("lab host/2#+", "lab-host-2")]
    [InlineData("../../etc", "etc")]
    [InlineData("$SYS/#", "SYS")]
    [InlineData("a\0b\nc", "a-b-c")]
    [InlineData("..", "nrphost")]
    [InlineData("ééé", "nrphost")]
    [InlineData("", "nrphost")]
    public void Sanitise_KeepsLettersDigitsDotUnderscoreDash_AndNothingThatBreaksATopicOrAFileName(string configured, string expected)
    {
        Assert.Equal(expected, HostIds.Sanitise(configured));
    }

    [Fact]
    public void Sanitise_CapsTheLength()
    {
        Assert.Equal(new string('a', HostIds.MaxLength), HostIds.Sanitise(new string('a', 500)));
        Assert.Equal(new string('a', 63), HostIds.Sanitise(new string('a', 63) + "-bbb"));
    }

    [Fact]
    public void HostId_NotConfigured_IsTheMachineName_MadeSafe()
    {
        var id = Options(new()).HostId.Value.HostId;

        Assert.Equal(HostIds.Sanitise(Environment.MachineName), id);
        Assert.Matches("^[A-Za-z0-9._-]{1,64}$", id);
    }

    [Fact]
    public void HostId_Configured_IsUsedMadeSafe()
    {
        Assert.Equal("rack-3-node-7", Options(new() { ["NrpHost:HostId"] = "rack 3/node 7" }).HostId.Value.HostId);
    }

    /// <summary>The one prefix the publisher, the REST <c>MQTTPrefix</c> and nrp-core's <c>MQTTPrefix</c> all read.</summary>
    [Theory]
    [InlineData(null, null, "")]
    [InlineData(null, "", "")]
    [InlineData(null, "lab", "lab")]
    [InlineData("127.0.0.1:1883", null, "host-a")]
    [InlineData("127.0.0.1:1883", "", "")]
    [InlineData("127.0.0.1:1883", "lab", "lab")]
    public void Prefix_DefaultsToTheHostId_OnlyWithAnExternalBroker_AndAnEmptyOneIsKept(string? broker, string? prefix, string expected)
    {
        var settings = new Dictionary<string, string?> { ["NrpHost:HostId"] = "host a" };
        if (broker is not null)
        {
            settings["NrpHost:Mqtt:Broker"] = broker;
        }

        if (prefix is not null)
        {
            settings["NrpHost:Mqtt:Prefix"] = prefix;
        }

        var options = Options(settings);

        Assert.Equal(expected, options.Mqtt.Value.Prefix);
        Assert.Equal(expected, options.NrpCore.Value.MqttPrefix);
    }

    private static (IOptions<HostIdentityOptions> HostId, IOptions<MqttOptions> Mqtt, IOptions<NrpCoreOptions> NrpCore) Options(Dictionary<string, string?> settings)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddNrpHost(new ConfigurationBuilder().AddInMemoryCollection(settings).Build()).AddMqttStatus();
        var provider = services.BuildServiceProvider();
        return (provider.GetRequiredService<IOptions<HostIdentityOptions>>(),
                provider.GetRequiredService<IOptions<MqttOptions>>(),
                provider.GetRequiredService<IOptions<NrpCoreOptions>>());
    }
}

/// <summary>Without a configured work directory, each host has its own: two hosts on one machine never share one.</summary>
[Collection(PythonCollection.Name)]
public sealed class DefaultWorkDirectoryTests
{
    [Fact]
    public async Task TwoHosts_WithoutAWorkDirectory_EachGetTheirOwn_UnderTheirHostId()
    {
        var ids = new[] { "lab-a-" + Guid.NewGuid().ToString("N")[..8], "lab-b-" + Guid.NewGuid().ToString("N")[..8] };
        var roots = ids.Select(id => Path.Combine(Path.GetTempPath(), "nrphost", id)).ToArray();
        try
        {
            var directories = new List<string>();
            foreach (var id in ids)
            {
                await using var host = new CoreHost(configure: s =>
                {
                    s.Remove("NrpHost:Simulation:WorkDirectory");
                    s["NrpHost:HostId"] = id;
                });
                host.Experiment().Build();
                var sim = await host.CreatePausedAsync();
                directories.Add(((global::NrpHost.Simulation.SimulationManager)host.Manager).DirectoryOf(sim.Id)!);
                await host.Manager.RequestStateAsync(sim.Id, global::NrpHost.Simulation.SimulationState.Stopped);
            }

            Assert.Equal(roots[0], Path.GetDirectoryName(directories[0]));
            Assert.Equal(roots[1], Path.GetDirectoryName(directories[1]));
        }
        finally
        {
            foreach (var root in roots.Where(Directory.Exists))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }
}
