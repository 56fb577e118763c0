using NrpHost.Api;

namespace NrpHost.Tests.Api;

/// <summary>The API's default host id is stable per machine and API port.</summary>
public sealed class ApiHostIdentityTests
{
    [Theory]
    [InlineData("http://localhost:8090", "node-8090")]
    [InlineData("http://127.0.0.1:8091;http://[::1]:8091", "node-8091")]
    [InlineData("http://*:8092", "node-8092")]
    [InlineData("http://+:8093", "node-8093")]
    [InlineData("http://[::]:8094", "node-8094")]
    [InlineData("https://0.0.0.0", "node-443")]
    [InlineData("http://127.0.0.1:0", "node")]
    [InlineData("not a url", "node")]
    public void For_NamesTheMachineAndThePortOfTheFirstUrl(string urls, string expected)
    {
        Assert.Equal(expected, ApiHostIdentity.For("node", urls));
    }
}
