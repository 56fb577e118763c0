using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Api;

/// <summary>
/// Browser-facing rules over real HTTP and WebSocket on loopback: with <c>NrpHost:Api:CorsOrigins</c> set, writes
/// and WebSocket upgrades from other origins get 403; without it anything goes (publishing is restricted anyway).
/// </summary>
public sealed class OriginPolicyTests
{
    private const string Allowed = "http://frontend.example";
    private const string Evil = "http://evil.example";

    private static Task<ApiHost> StartAsync(bool withOrigins = true) =>
        ApiHost.StartAsync(s =>
        {
            if (withOrigins)
            {
                s["NrpHost:Api:CorsOrigins:0"] = Allowed + "/";
            }
        });

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/json")]
    public async Task CrossSitePost_IsRefused_WhateverItsContentType_AndCreatesNothing(string contentType)
    {
        await using var host = await StartAsync();
        host.Experiment().Build();

        var response = await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""", contentType: contentType,
            configure: r => r.Headers.Add("Origin", Evil));

        var error = response.AssertNrpError(403, type: "Client error");
        Assert.Contains(Evil, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("[]", (await host.GetAsync("/simulation")).Text);
    }

    [Fact]
    public async Task CrossSitePut_IsRefused_AndTheStateStays()
    {
        await using var host = await StartAsync();
        host.LongExperiment().Build();
        var created = await host.CreateAsync();
        var id = created.GetProperty("simulationID").GetInt32();

        var response = await host.SendAsync(HttpMethod.Put, $"/simulation/{id}/state", """{"state":"stopped"}""", contentType: "text/plain",
            configure: r => r.Headers.Add("Origin", Evil));

        response.AssertNrpError(403);
        Assert.Equal("paused", (await host.GetAsync($"/simulation/{id}/state")).Json.GetProperty("state").GetString());
        await host.PutStateAsync(id, "stopped");
    }

    [Fact]
    public async Task ListedOrigin_TheApisOwnOrigin_AndRequestsWithoutOrigin_MayWrite_AndReadsAreOpen()
    {
        await using var host = await StartAsync();
        host.LongExperiment().Build();
        var own = host.BaseAddress.GetLeftPart(UriPartial.Authority);

        var listed = await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""", configure: r => r.Headers.Add("Origin", Allowed));
        var id = listed.Json.GetProperty("simulationID").GetInt32();
        var sameOrigin = await host.SendAsync(HttpMethod.Put, $"/simulation/{id}/state", """{"state":"started"}""", configure: r => r.Headers.Add("Origin", own));
        var noOrigin = await host.PutStateAsync(id, "paused");
        var crossSiteRead = await host.SendAsync(HttpMethod.Get, "/simulation", configure: r => r.Headers.Add("Origin", Evil));

        Assert.Equal(201, listed.Code);
        Assert.Equal(200, sameOrigin.Code);
        Assert.Equal(200, noOrigin.Code);
        Assert.Equal(200, crossSiteRead.Code);
        await host.PutStateAsync(id, "stopped");
    }

    [Theory]
    [InlineData("/mqtt")]
    [InlineData("/")]
    public async Task WebSocketUpgrade_FromAnUnlistedOrigin_Is403_AndFromTheListedOne_Connects(string path)
    {
        await using var host = await StartAsync();

        var (status, body) = await RawUpgradeAsync(host.BaseAddress, path, Evil);
        using var browser = await ConnectWebSocketAsync(host.BaseAddress, path, Allowed);

        Assert.Equal(403, status);
        Assert.Contains("\"message\":\"WebSocket connections from origin", body, StringComparison.Ordinal);
        Assert.Equal(WebSocketState.Open, browser.State);
        Assert.Equal("mqtt", browser.SubProtocol);
    }

    [Fact]
    public async Task WithoutCorsOrigins_AnyOriginMayUpgradeAndWrite()
    {
        await using var host = await StartAsync(withOrigins: false);
        host.LongExperiment().Build();

        using var browser = await ConnectWebSocketAsync(host.BaseAddress, "/mqtt", Evil);
        var post = await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""", contentType: "text/plain",
            configure: r => r.Headers.Add("Origin", Evil));

        Assert.Equal(WebSocketState.Open, browser.State);
        Assert.Equal(201, post.Code);
        await host.PutStateAsync(post.Json.GetProperty("simulationID").GetInt32(), "stopped");
    }

    private static async Task<ClientWebSocket> ConnectWebSocketAsync(Uri baseAddress, string path, string origin)
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("mqtt");
        socket.Options.SetRequestHeader("Origin", origin);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(new Uri(baseAddress.ToString().Replace("http://", "ws://", StringComparison.Ordinal).TrimEnd('/') + path), timeout.Token);
        return socket;
    }

    /// <summary>A WebSocket upgrade request written by hand, so the refusal's status and body can be read.</summary>
    internal static async Task<(int Status, string Body)> RawUpgradeAsync(Uri baseAddress, string path, string? origin)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, baseAddress.Port);
        var stream = tcp.GetStream();
        var request = new StringBuilder()
            .Append(System.Globalization.CultureInfo.InvariantCulture, $"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{baseAddress.Port}\r\n")
            .Append("Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")
            .Append("Sec-WebSocket-Protocol: mqtt\r\n");
        if (origin is not null)
        {
            request.Append(System.Globalization.CultureInfo.InvariantCulture, $"Origin: {origin}\r\n");
        }

        await stream.WriteAsync(Encoding.ASCII.GetBytes(request.Append("\r\n").ToString()));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var statusLine = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)) ?? string.Empty;
        var length = 0;
        var chunked = false;
        while (await reader.ReadLineAsync() is { Length: > 0 } header)
        {
            if (header.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            {
                length = int.Parse(header["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }

            chunked |= header.Equals("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase);
        }

        var body = new StringBuilder();
        while (chunked || length > 0)
        {
            if (chunked)
            {
                length = int.Parse(await reader.ReadLineAsync() ?? "0", System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
                chunked = length > 0;
            }

            var part = new char[length];
            await reader.ReadBlockAsync(part).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            body.Append(part);
            length = 0;
            if (chunked)
            {
                await reader.ReadLineAsync();
            }
        }

        return (int.Parse(statusLine.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), body.ToString());
    }
}
