using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NrpHost.Api;
using NrpHost.Messaging;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Api;

public sealed class ReferenceEnvironmentTests
{
    [Fact]
    public void Map_TranslatesTheNrpBackendVariables()
    {
        var mapped = ReferenceEnvironment.Map(Configuration(new()
        {
            ["NRP_MQTT_BROKER_ADDRESS"] = "mqtt-broker:1883",
            ["NRP_MQTT_PREFIX"] = "lab",
            ["STORAGE_ADDRESS"] = "nrp-haproxy",
            ["STORAGE_PORT"] = "9000",
        }));

        Assert.Equal("mqtt-broker:1883", mapped["NrpHost:Mqtt:Broker"]);
        Assert.Equal("lab", mapped["NrpHost:Mqtt:Prefix"]);
        Assert.Equal("http://nrp-haproxy:9000/storage", mapped["NrpHost:Storage:ProxyUrl"]);
    }

    [Fact]
    public void Map_OnlyOneStorageVariable_UsesTheReferenceDefaultForTheOther()
    {
        Assert.Equal("http://localhost:9100/storage", ReferenceEnvironment.Map(Configuration(new() { ["STORAGE_PORT"] = "9100" }))["NrpHost:Storage:ProxyUrl"]);
        Assert.Equal("http://store:9000/storage", ReferenceEnvironment.Map(Configuration(new() { ["STORAGE_ADDRESS"] = "store" }))["NrpHost:Storage:ProxyUrl"]);
    }

    [Theory]
    [InlineData("")]
    [InlineData("host:host:90")]
    [InlineData("host:host")]
    [InlineData("mqtt://host:1883")]
    [InlineData("host:0")]
    [InlineData("host:65536")]
    public void Map_MalformedBroker_IsIgnored(string broker)
    {
        Assert.False(ReferenceEnvironment.Map(Configuration(new() { ["NRP_MQTT_BROKER_ADDRESS"] = broker })).ContainsKey("NrpHost:Mqtt:Broker"));
    }

    [Theory]
    [InlineData("mqtt-broker")]
    [InlineData("[fd00::5]:1884")]
    public void Map_BareHostAndIPv6Broker_AreKept(string broker) =>
        Assert.Equal(broker, ReferenceEnvironment.Map(Configuration(new() { ["NRP_MQTT_BROKER_ADDRESS"] = broker }))["NrpHost:Mqtt:Broker"]);

    [Fact]
    public void Map_ExplicitSettingsWin_AndUnsetVariablesMapToNothing()
    {
        var mapped = ReferenceEnvironment.Map(Configuration(new()
        {
            ["NRP_MQTT_PREFIX"] = "lab",
            ["NrpHost:Mqtt:Prefix"] = "explicit",
        }));

        Assert.Empty(mapped);
    }

    [Fact]
    public async Task Api_ReturnsThePrefixFromNrpMqttPrefix_AsMqttPrefix() // M10 on the REST side
    {
        await using var host = await ApiHost.StartAsync(s => s["NRP_MQTT_PREFIX"] = "lab");
        host.LongExperiment().Build();

        var created = await host.CreateAsync();

        Assert.Equal("lab", created.GetProperty("MQTTPrefix").GetString());
        Assert.Equal("lab", host.Services.GetRequiredService<IOptions<MqttOptions>>().Value.Prefix);
        Assert.Equal("lab", (await host.GetAsync("/simulation")).Json[0].GetProperty("MQTTPrefix").GetString());
    }

    private static IConfiguration Configuration(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();
}
