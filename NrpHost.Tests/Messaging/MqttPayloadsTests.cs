using System.Text;
using NrpHost.Messaging;
using NrpHost.Simulation;

namespace NrpHost.Tests.Messaging;

public sealed class MqttPayloadsTests
{
    [Fact]
    public void Status_HasTheFourKeysInOrder_AsNumbersAndAWireState()
    {
        var json = Encoding.UTF8.GetString(MqttPayloads.Status(SimulationState.Started, new SimulationClock { RealTime = 1.5, SimulationTime = 0.25, SimulationTimeLeft = 9.75, Iterations = 25 }));

        Assert.Equal("""{"realTime":1.5,"simulationTime":0.25,"state":"started","simulationTimeLeft":9.75}""", json);
    }

    [Fact]
    public void Status_NeverCarriesANonFiniteTime()
    {
        var json = Encoding.UTF8.GetString(MqttPayloads.Status(SimulationState.Created, new SimulationClock { RealTime = double.NaN, SimulationTime = double.PositiveInfinity }));

        Assert.Equal("""{"realTime":0,"simulationTime":0,"state":"created","simulationTimeLeft":0}""", json);
    }

    [Fact]
    public void Status_TimesAreRoundedToTheMicrosecond_WithoutExponentsOrFloatNoise()
    {
        var json = Encoding.UTF8.GetString(MqttPayloads.Status(
            SimulationState.Started, new SimulationClock { RealTime = 2E-07, SimulationTime = 53.620000000000005, SimulationTimeLeft = 0.0280735 }));

        Assert.Equal("""{"realTime":0,"simulationTime":53.62,"state":"started","simulationTimeLeft":0.028074}""", json);
    }

    [Theory]
    [InlineData(1E-06, "0.000001")]
    [InlineData(0.0000015, "0.000002")]
    [InlineData(123456789.1234567, "123456789.123457")]
    [InlineData(1.0, "1")]
    [InlineData(0.1 + 0.2, "0.3")]
    public void Seconds_AreWrittenAsPlainDecimals(double seconds, string written)
    {
        var json = Encoding.UTF8.GetString(MqttPayloads.Status(SimulationState.Started, new SimulationClock { RealTime = seconds }));

        Assert.StartsWith("{\"realTime\":" + written + ",", json, StringComparison.Ordinal);
    }

    [Fact]
    public void RuntimeError_KeepsQuotesAndNonAsciiReadable_AndStaysValidJson()
    {
        const string message = "name 'x' is not defined in \"main\" <é> ✓\n\tnext\u0001 😀";
        var bytes = MqttPayloads.RuntimeError(new SimulationError { SimulationId = 1, Message = message, ErrorType = "Compile" });
        var json = Encoding.UTF8.GetString(bytes);

        Assert.Contains("name 'x' is not defined in \\\"main\\\" <é> ✓\\n\\tnext\\u0001", json, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u0027", json, StringComparison.Ordinal);
        using var parsed = System.Text.Json.JsonDocument.Parse(bytes);
        Assert.Equal(message, parsed.RootElement.GetProperty("msg").GetString());
    }

    [Fact]
    public void RuntimeError_HasTheSimulationIdAsAString()
    {
        var json = Encoding.UTF8.GetString(MqttPayloads.RuntimeError(new SimulationError { SimulationId = 3, Message = "boom", ErrorType = "Runtime", FileName = "main_script.py", LineNumber = 2, Offset = -1, LineText = "x()" }));

        Assert.Equal("""{"sim_id":"3","msg":"boom","error_type":"Runtime","fileName":"main_script.py","line_number":2,"offset":-1,"line_text":"x()"}""", json);
    }
}

public sealed class MqttTopicsTests
{
    [Theory]
    [InlineData("", "nrp_simulation/4/status")]
    [InlineData("lab", "lab/nrp_simulation/4/status")]
    public void For_AddsThePrefixOnlyWhenItIsSet(string prefix, string expected) =>
        Assert.Equal(expected, MqttTopics.For(prefix, 4, MqttTopics.Status));
}

public sealed class MqttBrokerAddressTests
{
    [Theory]
    [InlineData("localhost:1883", "localhost", 1883, "localhost:1883")]
    [InlineData("mosquitto:1884", "mosquitto", 1884, "mosquitto:1884")]
    [InlineData("broker", "broker", 1883, "broker:1883")]
    [InlineData("10.0.0.7", "10.0.0.7", 1883, "10.0.0.7:1883")]
    [InlineData(" mqtt.lab.example:8883 ", "mqtt.lab.example", 8883, "mqtt.lab.example:8883")]
    [InlineData("[::1]:1885", "::1", 1885, "[::1]:1885")]
    [InlineData("[fd00::5]", "fd00::5", 1883, "[fd00::5]:1883")]
    public void TryParse_AcceptsHostPort_BareHost_AndBracketedIPv6(string value, string host, int port, string written)
    {
        Assert.True(MqttBrokerAddress.TryParse(value, out var address));
        Assert.Equal(host, address.Host);
        Assert.Equal(port, address.Port);
        Assert.Equal(written, address.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("mqtt://localhost:1883")]
    [InlineData("localhost:http")]
    [InlineData("localhost:0")]
    [InlineData("localhost:65536")]
    [InlineData("localhost:")]
    [InlineData("localhost:-1")]
    [InlineData("::1:1883")]
    [InlineData("::1")]
    [InlineData(":1883")]
    [InlineData("[::1")]
    [InlineData("[::1]1883")]
    [InlineData("[::1]:")]
    [InlineData("[10.0.0.7]:1883")]
    [InlineData("[not-an-ip]:1883")]
    [InlineData("two words:1883")]
    [InlineData("host\":1883")]
    [InlineData("user@host:1883")]
    [InlineData("host/path:1883")]
    public void TryParse_RefusesWhatIsNotABrokerAddress(string value) => Assert.False(MqttBrokerAddress.TryParse(value, out _));

    [Fact]
    public void From_EmbeddedOnAWildcardAddress_ConnectsThroughLoopback() =>
        Assert.Equal("127.0.0.1:1999", MqttBrokerAddress.From(new MqttOptions { EmbeddedBindAddress = "0.0.0.0", EmbeddedPort = 1999 }).ToString());

    [Theory]
    [InlineData("broker", "broker:1883")]
    [InlineData("broker:1884", "broker:1884")]
    [InlineData("[::1]:1885", "[::1]:1885")]
    [InlineData("[fd00::5]", "[fd00::5]:1883")]
    public void NrpCoreOverrides_GiveNrpCoreEveryAddressTheParserAccepts(string broker, string written) =>
        Assert.Equal(
            $"-o EngineConfigs.2.simulationID=\"5\" -o EngineConfigs.2.MQTTBroker=\"{written}\" -o EngineConfigs.2.MQTTPrefix=\"lab\"",
            global::NrpHost.NrpCore.NrpCoreOverrides.Build(5, 2, broker, "lab"));

    [Theory]
    [InlineData("mqtt://broker")]
    [InlineData("a\" -o EngineConfigs.0.x=\"y:1883")]
    public void NrpCoreOverrides_LeaveOutWhatDoesNotParse_AndStartupRefusesIt(string broker)
    {
        Assert.DoesNotContain("MQTTBroker", global::NrpHost.NrpCore.NrpCoreOverrides.Build(5, 0, broker, string.Empty), StringComparison.Ordinal);

        var result = new global::NrpHost.NrpCore.NrpCoreOptionsValidator().Validate(null, new global::NrpHost.NrpCore.NrpCoreOptions { MqttBroker = broker });

        Assert.True(result.Failed);
        Assert.Contains("NrpHost:NrpCore:MqttBroker", result.FailureMessage, StringComparison.Ordinal);
    }
}

public sealed class MqttOptionsValidatorTests
{
    [Fact]
    public void Validate_ABrokerThatIsNotHostPort_FailsWithTheKeyName()
    {
        var result = new MqttOptionsValidator().Validate(null, new MqttOptions { Broker = "mqtt://x" });

        Assert.True(result.Failed);
        Assert.Contains("NrpHost:Mqtt:Broker", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_EmbeddedOnPortZero_Fails() =>
        Assert.True(new MqttOptionsValidator().Validate(null, new MqttOptions { EmbeddedPort = 0 }).Failed);
}

public sealed class MqttStatusPublisherClientIdTests
{
    [Fact]
    public void NewClientId_IsUniquePerInstance_AndNamesTheHost()
    {
        var a = MqttPublisherIdentity.NewClientId("lab-1.example");
        var b = MqttPublisherIdentity.NewClientId("lab-1.example");

        Assert.NotEqual(a, b);
        Assert.Matches("^nrphost_lab-1\\.example_[0-9a-f]{32}$", a);
        Assert.StartsWith("nrphost_lab1_", MqttPublisherIdentity.NewClientId("lab/1#"), StringComparison.Ordinal);
        Assert.StartsWith("nrphost_", MqttPublisherIdentity.NewClientId(string.Empty), StringComparison.Ordinal);
    }

    [Fact]
    public void NextDelay_Doubles_UpToFiveSeconds()
    {
        var delay = MqttStatusPublisher.FirstRetryDelay;
        for (var i = 0; i < 10; i++)
        {
            delay = MqttStatusPublisher.NextDelay(delay);
        }

        Assert.Equal(TimeSpan.FromSeconds(5), delay);
        Assert.Equal(TimeSpan.FromMilliseconds(500), MqttStatusPublisher.NextDelay(TimeSpan.FromMilliseconds(250)));
    }
}
