using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Api;

/// <summary>Requests that would fill the host's memory: oversized fields and creates of experiments that do not exist.</summary>
public sealed class RequestLimitsTests
{
    [Theory]
    [InlineData("ctxId")]
    [InlineData("experimentConfiguration")]
    [InlineData("mainScript")]
    public async Task AFieldOverItsLimit_IsA400NamingIt_AndCreatesNothing(string field)
    {
        await using var host = await ApiHost.StartAsync();
        host.Experiment().Build();
        var huge = new string('c', 60 * 1024);

        var response = await host.SendAsync(HttpMethod.Post, "/simulation", $$"""{"experimentID":"exp","{{field}}":"{{huge}}"}""");

        var body = response.AssertNrpError(400, type: "Client error");
        Assert.Equal($"Invalid {field}: it is {huge.Length} characters long; at most 1024 are accepted.", body.GetProperty("message").GetString());
        Assert.Empty(host.Manager.List());
    }

    [Fact]
    public async Task ManyCreatesOfUnknownExperiments_AnswerEach_AndLeaveTheListEmpty()
    {
        await using var host = await ApiHost.StartAsync();
        var ctx = new string('x', 1000);

        for (var i = 0; i < 300; i++)
        {
            var response = await host.SendAsync(HttpMethod.Post, "/simulation", $$"""{"experimentID":"nope{{i}}","ctxId":"{{ctx}}"}""");
            response.AssertNrpError(404);
        }

        var list = await host.GetAsync("/simulation");
        Assert.Equal("[]", list.Text);
        Assert.False(Directory.Exists(host.WorkDirectory)); // nothing written at all
    }
}
