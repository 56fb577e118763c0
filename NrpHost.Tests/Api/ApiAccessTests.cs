using System.Net;
using System.Net.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NrpHost.Api.Security;
using NrpHost.Tests.Infrastructure;
using NrpHost.Tests.Messaging;
using NrpHost.Tests.Storage;

namespace NrpHost.Tests.Api;

/// <summary>
/// Who gets in without the NRP Storage Proxy: the API token (<c>NrpHost:Api:Token</c>, or generated at start on an
/// address other machines reach), <c>NrpHost:Api:AllowAnonymous</c>, and loopback left open. Driven over real HTTP,
/// WebSocket and MQTT.
/// </summary>
public sealed class ApiAccessTests
{
    private const string Token = "a-long-enough-api-token-0123456789";

    /// <summary>Every route of the API, with a body where it takes one, and the status it answers with the token.</summary>
    public static TheoryData<string, string, string?, int> Routes() => new()
    {
        { "GET", "/simulation", null, 200 },
        { "POST", "/simulation", """{"experimentID":"exp"}""", 201 },
        { "GET", "/simulation/0", null, 404 },
        { "GET", "/simulation/0/state", null, 404 },
        { "PUT", "/simulation/0/state", """{"state":"started"}""", 404 },
        { "GET", "/simulation/0/profile", null, 404 },
        { "GET", "/simulation/0/events", null, 404 },
        { "GET", "/experiments", null, 200 },
        { "GET", "/openapi/v1.json", null, 200 },
        { "GET", "/no/such/route", null, 404 },
    };

    [Theory]
    [InlineData("http://127.0.0.1:8090", false)]
    [InlineData("http://localhost:8090", false)]
    [InlineData("http://[::1]:8090", false)]
    [InlineData("http://127.0.0.2:8090", false)]
    [InlineData("http://0.0.0.0:8090", true)]
    [InlineData("http://[::]:8090", true)]
    [InlineData("http://*:8090", true)]
    [InlineData("http://+:8090", true)]
    [InlineData("http://192.168.1.20:8090", true)]
    [InlineData("http://nrp.example:8090", true)]
    public void Exposure_KnowsWhichAddressesOtherMachinesReach(string address, bool reachable) =>
        Assert.Equal(reachable, ApiAccess.IsReachableFromOtherMachines(address));

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task EveryRoute_WithTheToken_Only(string method, string path, string? body, int withToken)
    {
        await using var host = await ApiHost.StartAsync(s => s["NrpHost:Api:Token"] = Token);
        host.Experiment().Build();

        var none = await host.SendAsync(new HttpMethod(method), path, body);
        var wrong = await host.SendAsync(new HttpMethod(method), path, body, token: Token + "x");
        var inQuery = await host.SendAsync(new HttpMethod(method), path + "?access_token=" + Token, body); // only the events stream takes it there
        var right = await host.SendAsync(new HttpMethod(method), path, body, token: Token);

        none.AssertNrpError(401, "This NrpHost needs its API token: send Authorization: Bearer <token> (or ?access_token=<token> on the events stream and WebSocket).", "Client error");
        Assert.Equal("Bearer", none.Headers["WWW-Authenticate"]);
        wrong.AssertNrpError(401, "The token is not this NrpHost's API token.", "Client error");
        Assert.Equal("Bearer error=\"invalid_token\"", wrong.Headers["WWW-Authenticate"]);
        Assert.Equal(path.EndsWith("/events", StringComparison.Ordinal) ? 404 : 401, inQuery.Code);
        Assert.True(withToken == right.Code, $"{method} {path}: {right.Code} {right.Text}");
        Assert.DoesNotContain(host.Logs.Entries, e => e.ToString().Contains(Token, StringComparison.Ordinal));
    }

    [Fact]
    public async Task HealthVersionAndTheDashboardsFiles_AreOpenToAll_AndCorsPreflightsPass()
    {
        await using var host = await ApiHost.StartAsync(s => s["NrpHost:Api:Token"] = Token);

        Assert.Equal(200, (await host.GetAsync("/health")).Code);
        Assert.Equal(200, (await host.GetAsync("/version")).Code);
        Assert.Equal(200, (await host.GetAsync("/")).Code);
        Assert.Equal(200, (await host.GetAsync("/dashboard/js/app.js")).Code);
        var settings = await host.GetAsync("/dashboard/settings.json");
        Assert.Equal("""{"tokenRequired":true,"auth":"token"}""", settings.Text);
        var preflight = await host.SendAsync(HttpMethod.Options, "/simulation", configure: r =>
        {
            r.Headers.Add("Origin", "http://localhost:9000");
            r.Headers.Add("Access-Control-Request-Method", "POST");
            r.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
        });
        Assert.Equal(204, preflight.Code);

        var health = (await host.GetAsync("/health")).Json.GetProperty("checks").GetProperty("security");
        Assert.Equal("callers need the API token (NrpHost:Api:Token)", health.GetProperty("description").GetString());
        Assert.DoesNotContain(Token, (await host.GetAsync("/health")).Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/dashboard/../simulation")]
    [InlineData("/dashboard/%2e%2e/simulation")]
    [InlineData("/dashboard/..%2fsimulation")]
    [InlineData("/HEALTH/../simulation")]
    [InlineData("//simulation")]
    public async Task APathDressedAsAnOpenOne_IsStillRefused(string target)
    {
        await using var host = await ApiHost.StartAsync(s => s["NrpHost:Api:Token"] = Token);

        // Sent as written (HttpClient would tidy the path first).
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(host.BaseAddress.Host, host.BaseAddress.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: {host.BaseAddress.Authority}\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(stream);
        var status = await reader.ReadLineAsync();

        Assert.NotNull(status);
        Assert.DoesNotContain(" 200 ", status, StringComparison.Ordinal);
        Assert.Matches("^HTTP/1.1 (401|404|400) ", status);
    }

    [Fact]
    public async Task TheEventsStream_TakesTheTokenFromTheQuery()
    {
        await using var host = await ApiHost.StartAsync(s => s["NrpHost:Api:Token"] = Token);
        host.Experiment().Build();
        Assert.Equal(201, (await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""", token: Token)).Code);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/simulation/0/events?access_token=" + Token);
        using var response = await host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var refused = await host.Client.GetAsync("/simulation/0/events?access_token=wrong-token-wrong-token", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task MqttOverWebSocket_NeedsTheToken_InTheUpgradeOrAsTheMqttPassword()
    {
        await using var host = await ApiHost.StartAsync(s =>
        {
            s["NrpHost:Api:Token"] = Token;
            s["NrpHost:Mqtt:Prefix"] = "tk";
        });
        var ws = new UriBuilder(host.BaseAddress) { Scheme = "ws", Path = "/mqtt" }.Uri;

        // A wrong token in the upgrade is refused there, at /mqtt and at / (where the NRP Frontend's client connects).
        foreach (var path in new[] { "/mqtt", "/" })
        {
            using var wrong = new ClientWebSocket();
            wrong.Options.AddSubProtocol("mqtt");
            var refused = await Assert.ThrowsAsync<WebSocketException>(() =>
                wrong.ConnectAsync(new UriBuilder(ws) { Path = path, Query = "access_token=wrong-token-wrong-token" }.Uri, CancellationToken.None));
            Assert.Contains("401", refused.Message, StringComparison.Ordinal);
        }

        using var withHeader = new ClientWebSocket();
        withHeader.Options.AddSubProtocol("mqtt");
        withHeader.Options.SetRequestHeader("Authorization", "Bearer " + Token);
        await withHeader.ConnectAsync(ws, CancellationToken.None);
        Assert.Equal(WebSocketState.Open, withHeader.State);

        // An upgrade without a token: the MQTT CONNECT must give it as its password.
        Assert.Contains("BadUserNameOrPassword", await ConnectResultAsync(ws, password: null), StringComparison.Ordinal);
        Assert.Contains("BadUserNameOrPassword", await ConnectResultAsync(ws, password: Token + "x"), StringComparison.Ordinal);
        Assert.Equal("Success", await ConnectResultAsync(ws, password: Token));
        Assert.Equal("Success", await ConnectResultAsync(new UriBuilder(ws) { Path = "/" }.Uri, password: Token));
        await host.Logs.WaitForAsync(e => e.Message.Contains("its password is not the API token", StringComparison.Ordinal));

        // A browser's MQTT client cannot set a header: the token in the address; then it gets the status messages.
        await using var frontend = await MqttRecorder.ConnectWebSocketAsync(ws + "?access_token=" + Token);
        host.Experiment().Build();
        Assert.Equal(201, (await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""", token: Token)).Code);
        await frontend.WaitForAsync("tk/nrp_simulation/0/status", m => m.State == "paused");
        Assert.DoesNotContain(host.Logs.Entries, e => e.ToString().Contains(Token, StringComparison.Ordinal));
    }

    internal static async Task<string> ConnectResultAsync(Uri ws, string? password)
    {
        using var client = new MQTTnet.MqttClientFactory().CreateMqttClient();
        var options = new MQTTnet.MqttClientOptionsBuilder().WithWebSocketServer(o => o.WithUri(ws.ToString()))
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V311).WithClientId("frontend-" + Guid.NewGuid().ToString("N"));
        if (password is not null)
        {
            options = options.WithCredentials("nrp", password);
        }

        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var result = await client.ConnectAsync(options.Build(), timeout.Token);
            await client.DisconnectAsync(new MQTTnet.MqttClientDisconnectOptions(), CancellationToken.None);
            return result.ResultCode.ToString();
        }
        catch (MQTTnet.Adapter.MqttConnectingFailedException ex)
        {
            return ex.Message; // names the CONNACK's reason
        }
    }

    [Fact]
    public async Task OnAnAddressOtherMachinesReach_ATokenIsGenerated_AndRequired_WhileLoopbackStaysOpen()
    {
        await using var exposed = await ApiHost.StartAsync(s => s["Urls"] = "http://0.0.0.0:0");
        await using var loopback = await ApiHost.StartAsync();

        var access = exposed.Services.GetRequiredService<ApiAccess>();
        Assert.Equal(AccessMode.Token, access.Mode);
        Assert.True(access.TokenWasGenerated);
        Assert.True(access.Token!.Length >= 40);
        Assert.Equal(401, (await exposed.GetAsync("/simulation")).Code);
        Assert.Equal(200, (await exposed.GetAsync("/simulation", token: access.Token)).Code);
        var port = exposed.BaseAddress.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await exposed.Logs.WaitForAsync(e => e.Level == LogLevel.Warning
            && e.Message.Contains($"listens on http://0.0.0.0:{port} with neither a Storage Proxy nor an identity provider", StringComparison.Ordinal));
        Assert.DoesNotContain(exposed.Logs.Entries, e => e.ToString().Contains(access.Token, StringComparison.Ordinal));
        var security = (await exposed.GetAsync("/health")).Json.GetProperty("checks").GetProperty("security");
        Assert.Equal("healthy", security.GetProperty("status").GetString());
        Assert.Contains("generated at start", security.GetProperty("description").GetString(), StringComparison.Ordinal);

        Assert.Equal(AccessMode.Open, loopback.Services.GetRequiredService<ApiAccess>().Mode);
        Assert.Equal(200, (await loopback.GetAsync("/simulation")).Code);
    }

    [Fact]
    public async Task AnEmptyToken_IsNoToken_AsAComposeFilesEmptyVariableLeavesIt()
    {
        await using var exposed = await ApiHost.StartAsync(s =>
        {
            s["Urls"] = "http://0.0.0.0:0";
            s["NrpHost:Api:Token"] = string.Empty;
        });

        var access = exposed.Services.GetRequiredService<ApiAccess>();
        Assert.Equal(AccessMode.Token, access.Mode);
        Assert.True(access.TokenWasGenerated);
        Assert.Equal(401, (await exposed.GetAsync("/simulation", token: string.Empty)).Code);
    }

    [Theory]
    [InlineData("AllowAnonymous")]
    [InlineData("AllowAnonymousRemote")] // the earlier name
    public async Task AllowAnonymous_LetsAnyoneIn_AndSaysSoInTheLogAndHealth(string setting)
    {
        await using var host = await ApiHost.StartAsync(s =>
        {
            s["Urls"] = "http://0.0.0.0:0";
            s["NrpHost:Api:" + setting] = "true";
        });

        Assert.Equal(200, (await host.GetAsync("/simulation")).Code);
        await host.Logs.WaitForAsync(e => e.Level == LogLevel.Warning && e.Message.Contains("lets anyone in without a token", StringComparison.Ordinal));
        var security = (await host.GetAsync("/health")).Json.GetProperty("checks").GetProperty("security");
        Assert.Contains("NrpHost:Api:AllowAnonymous=true", security.GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheServer_PrintsTheGeneratedTokenOnce_WithTheDashboardsAddress()
    {
        var port = FreePort.Next();
        await using var api = await ApiProcess.StartAsync(new Dictionary<string, string>(), requestedPort: port, bind: "0.0.0.0");

        // Printed once the server has started, which may be a moment after it first answers.
        var links = await Eventually.ValueAsync(
            () => Task.FromResult(System.Text.RegularExpressions.Regex.Matches(api.Output, @"http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_-]+)") is { Count: > 0 } found ? found : null),
            () => "no address with a token was printed:\n" + api.Output);
        Assert.Single(links);
        var printed = links[0];
        Assert.Equal(port.ToString(System.Globalization.CultureInfo.InvariantCulture), printed.Groups[1].Value);
        var token = printed.Groups[2].Value;
        Assert.Contains($"http://{Environment.MachineName}:{port}/?token={token}", api.Output, StringComparison.Ordinal);
        Assert.Equal(2, api.Output.Split(token).Length - 1); // the two addresses name it, nothing else does

        var (refused, _) = await api.SendAsync(HttpMethod.Get, "/simulation");
        Assert.Equal(401, refused);
        api.Client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        var (allowed, _) = await api.SendAsync(HttpMethod.Get, "/simulation");
        Assert.Equal(200, allowed);
    }

    [Theory]
    [InlineData("NrpHost:Api:Token", "short", "NrpHost:Api:Token must be at least 16 characters")]
    [InlineData("NrpHost:Api:Token", "${NRPHOST_TOKEN:-}", "NrpHost:Api:Token looks like a variable that was not substituted")]
    [InlineData("NrpHost:Auth:Authority", "http://idp.example/realms/nrp", "is plain http: use https")]
    [InlineData("NrpHost:Auth:RequireHttpsMetadata", "false", "allowed for an issuer on loopback only, not for 'idp.example'")]
    public async Task AConfigurationThatCannotBeMeant_StopsTheStart_WithWhatToFix(string key, string value, string said)
    {
        var settings = new Dictionary<string, string?> { [key] = value };
        if (key == "NrpHost:Auth:RequireHttpsMetadata")
        {
            settings["NrpHost:Auth:Authority"] = "https://idp.example/realms/nrp";
        }

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => ApiHost.StartAsync(s =>
        {
            foreach (var (k, v) in settings)
            {
                s[k] = v;
            }
        }));
        Assert.Contains(said, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheApiToken_WithTheStorageProxy_StopsTheStart()
    {
        await using var proxy = await FakeStorageProxy.StartAsync();
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => ApiHost.StartAsync(s =>
        {
            s["NrpHost:Storage:ProxyUrl"] = proxy.Url;
            s["NrpHost:Api:Token"] = Token;
        }));
        Assert.Contains("NrpHost:Api:Token cannot be used with the NRP Storage Proxy", failure.Message, StringComparison.Ordinal);
    }
}
