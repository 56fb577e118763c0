using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Api;

/// <summary>Bad request bodies are NRP errors with a 4xx status, never a 500 or an HTML page (reliability B4, A9).</summary>
public sealed class JsonBodyTests
{
    [Theory]
    [InlineData("{\"experimentID\"", "The request body is not valid JSON.")]
    [InlineData("experimentID=exp", "The request body is not valid JSON.")]
    [InlineData("", "The request body is empty: a JSON object is expected.")]
    [InlineData("[]", "The request body must be a JSON object.")]
    [InlineData("\"exp\"", "The request body must be a JSON object.")]
    [InlineData("null", "The request body must be a JSON object.")]
    [InlineData("""{"experimentID": 5}""", "Invalid experimentID: expected a string, got number.")]
    [InlineData("""{"experimentID": ["exp"]}""", "Invalid experimentID: expected a string, got array.")]
    [InlineData("""{"experimentID": "exp", "mainScript": 1}""", "Invalid mainScript: expected a string, got number.")]
    [InlineData("""{"experimentID": "exp", "experimentConfiguration": {}}""", "Invalid experimentConfiguration: expected a string, got object.")]
    [InlineData("""{"experimentID": "exp", "ctxId": true}""", "Invalid ctxId: expected a string, got true.")]
    public async Task Post_WithABadBody_Returns400ClientError(string body, string message)
    {
        await using var host = await ApiHost.StartAsync();

        var response = await host.SendAsync(HttpMethod.Post, "/simulation", body);

        response.AssertNrpError(400, message, "Client error");
        Assert.Empty(host.Manager.List());
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("%2e%2e/x")]
    [InlineData("a/b")]
    [InlineData("a\\\\b")]
    [InlineData("a?b")]
    [InlineData("a#b")]
    [InlineData("a\\u0000b")]
    [InlineData("\\u202Eexp")]
    [InlineData("..")]
    [InlineData(" exp")]
    public async Task Post_WithAHostileExperimentId_Returns400BeforeStorageIsAsked(string experimentId)
    {
        await using var host = await ApiHost.StartAsync();
        host.Experiment().Build();

        var response = await host.SendAsync(HttpMethod.Post, "/simulation", $$"""{"experimentID":"{{experimentId}}"}""");

        response.AssertNrpError(400, type: "Client error");
        Assert.Empty(host.Manager.List());
    }

    [Fact]
    public async Task Post_WithAVeryLongExperimentId_Returns400()
    {
        await using var host = await ApiHost.StartAsync();

        var response = await host.SendAsync(HttpMethod.Post, "/simulation", $$"""{"experimentID":"{{new string('x', 10_000)}}"}""");

        response.AssertNrpError(400, type: "Client error");
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("")]
    public async Task Post_WithAnyContentType_ParsesTheBodyAsJson(string contentType)
    {
        await using var host = await ApiHost.StartAsync();
        host.Experiment().Build();

        var response = await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""", contentType: contentType);

        Assert.Equal(201, response.Code);
    }

    [Fact]
    public async Task Post_WithABodyOverTheLimit_Returns413()
    {
        await using var host = await ApiHost.StartAsync();
        var body = $$"""{"experimentID":"exp","padding":"{{new string('x', 70_000)}}"}""";

        var response = await host.SendAsync(HttpMethod.Post, "/simulation", body);

        response.AssertNrpError(413, type: "Client error");
        Assert.Empty(host.Manager.List());
    }

    [Fact]
    public async Task Post_WithAChunkedBodyOverTheLimit_Returns413()
    {
        await using var host = await ApiHost.StartAsync();
        var body = $$"""{"experimentID":"exp","padding":"{{new string('x', 70_000)}}"}""";

        var response = await host.SendAsync(HttpMethod.Post, "/simulation", configure: r =>
        {
            r.Content = new StreamContent(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(body)));
            r.Headers.TransferEncodingChunked = true;
        });

        response.AssertNrpError(413, type: "Client error");
    }

    [Fact]
    public async Task Post_WithDeeplyNestedJson_Returns400()
    {
        await using var host = await ApiHost.StartAsync();
        var body = "{\"experimentID\":\"exp\",\"x\":" + new string('[', 1000) + new string(']', 1000) + "}";

        var response = await host.SendAsync(HttpMethod.Post, "/simulation", body);

        response.AssertNrpError(400, "The request body is not valid JSON.", "Client error");
    }

    [Theory]
    [InlineData("{\"state\"")]
    [InlineData("")]
    [InlineData("[\"started\"]")]
    public async Task Put_WithABadBody_Returns400AndTheSimulationStaysPaused(string body)
    {
        await using var host = await ApiHost.StartAsync();
        host.LongExperiment().Build();
        await host.CreateAsync();

        var response = await host.SendAsync(HttpMethod.Put, "/simulation/0/state", body, contentType: "text/plain");

        response.AssertNrpError(400, type: "Client error");
        Assert.Equal("""{"state":"paused"}""", (await host.GetAsync("/simulation/0/state")).Text);
    }
}
