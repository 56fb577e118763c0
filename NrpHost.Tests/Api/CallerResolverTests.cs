using NrpHost.Simulation;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using NrpHost.Api.Identity;
using NrpHost.Storage;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Api;

/// <summary>Who the caller is and what it may do, over real HTTP (B04 owner, B19, B20; reliability A1–A3, A7).</summary>
public sealed class CallerResolverTests
{
    private const string ModifyMessage = "Insufficient permissions to apply changes. Operation only allowed by simulation owner";
    private const string ViewMessage =
        "Insufficient permissions to see the simulation changes. You can only see the simulations you own or those for which the experiment has been shared with you";

    [Theory]
    [InlineData("Bearer aaa-bbb", "aaa-bbb")]
    [InlineData("bearer   aaa-bbb  extra", "aaa-bbb")]
    [InlineData("Token xyz", "xyz")]
    [InlineData("Bearer", null)]
    [InlineData("", null)]
    public void ReadToken_TakesTheSecondWord(string header, string? token)
    {
        var context = new DefaultHttpContext();
        if (header.Length > 0)
        {
            context.Request.Headers.Authorization = header;
        }

        Assert.Equal(token, CallerResolver.ReadToken(context.Request));
    }

    [Fact]
    public async Task Create_WithDirectory_OwnerIsTheTokensUser() // B04
    {
        var directory = new TestUserDirectory().WithUser("alice-token", "alice", "exp");
        await using var host = await StartAsync(directory);

        var created = await host.CreateAsync(token: "alice-token");

        Assert.Equal("alice", created.GetProperty("owner").GetString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("no-token")]
    public async Task Create_WithDirectoryAndNoKnownToken_Returns401(string? token)
    {
        await using var host = await StartAsync(new TestUserDirectory());

        var response = await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""", token);

        response.AssertNrpError(401, type: "Client error");
        Assert.Empty(host.Manager.List());
    }

    [Fact]
    public async Task PutState_ByAnotherUser_Returns403AndChangesNothing() // B19 (the reference answers 401)
    {
        var directory = new TestUserDirectory().WithUser("alice-token", "alice", "exp").WithUser("bob-token", "bob", "exp");
        await using var host = await StartAsync(directory);
        await host.CreateAsync(token: "alice-token");

        var response = await host.PutStateAsync(0, "started", token: "bob-token");

        response.AssertNrpError(403, ModifyMessage, "Client error");
        Assert.Equal("""{"state":"paused"}""", (await host.GetAsync("/simulation/0/state", token: "alice-token")).Text);
    }

    [Theory]
    [InlineData("no-token")]
    [InlineData(null)]
    public async Task PutState_WithoutAKnownToken_Returns401(string? token) // B20
    {
        var directory = new TestUserDirectory().WithUser("alice-token", "alice", "exp");
        await using var host = await StartAsync(directory);
        await host.CreateAsync(token: "alice-token");

        var response = await host.PutStateAsync(0, "stopped", token: token);

        response.AssertNrpError(401, ModifyMessage, "Client error");
    }

    [Fact]
    public async Task PutState_WithASpoofedUserNameHeader_IsStillRefused() // reliability A2
    {
        var directory = new TestUserDirectory().WithUser("alice-token", "alice", "exp").WithUser("bob-token", "bob", "exp");
        await using var host = await StartAsync(directory);
        await host.CreateAsync(token: "alice-token");

        var response = await host.SendAsync(HttpMethod.Put, "/simulation/0/state", """{"state":"stopped"}""", "bob-token",
            configure: r => r.Headers.Add("X-User-Name", "alice"));

        response.AssertNrpError(403, ModifyMessage);
        Assert.Equal("paused", host.Manager.Find(0)!.State.ToString().ToLowerInvariant());
    }

    [Fact]
    public async Task PutState_ByTheOwner_IsAllowed()
    {
        var directory = new TestUserDirectory().WithUser("alice-token", "alice", "exp");
        await using var host = await StartAsync(directory);
        await host.CreateAsync(token: "alice-token");

        Assert.Equal(200, (await host.PutStateAsync(0, "started", "alice-token")).Code);
        Assert.Equal(200, (await host.PutStateAsync(0, "paused", "alice-token")).Code);
        Assert.Equal(200, (await host.PutStateAsync(0, "stopped", "alice-token")).Code);
    }

    [Fact]
    public async Task PutState_WhenTheDirectoryFails_Returns401NotA500()
    {
        var directory = new TestUserDirectory().WithUser("alice-token", "alice", "exp");
        await using var host = await StartAsync(directory);
        await host.CreateAsync(token: "alice-token");
        directory.Failure = new HttpRequestException("proxy down");

        var response = await host.PutStateAsync(0, "started", "alice-token");

        response.AssertNrpError(401, ModifyMessage);
    }

    [Fact]
    public async Task DirectoryUnavailable_IsA502NamingTheProxy_NotA401()
    {
        var directory = new TestUserDirectory().WithUser("alice-token", "alice", "exp");
        await using var host = await StartAsync(directory);
        await host.CreateAsync(token: "alice-token");
        directory.Failure = new ExperimentStorageException(ExperimentStorageError.Unavailable, "The storage proxy at http://proxy:9000/ did not answer within 10 s");

        var put = await host.PutStateAsync(0, "started", "alice-token");
        var post = await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""",
            configure: r => r.Headers.TryAddWithoutValidation("Authorization", "Bearer alice-token"));

        foreach (var response in new[] { put, post })
        {
            var body = response.AssertNrpError(502, type: "Server Error");
            Assert.Equal("Could not verify auth token: the NRP Storage Proxy is unavailable", body.GetProperty("message").GetString());
            Assert.Contains("http://proxy:9000/", body.GetProperty("data").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(SimulationState.Paused, host.Manager.Find(0)!.State);
    }

    [Fact]
    public async Task View_WithDirectory_NeedsATokenThatSeesTheExperiment() // reference view rule; reliability A3
    {
        var directory = new TestUserDirectory().WithUser("alice-token", "alice", "exp").WithUser("carol-token", "carol");
        await using var host = await StartAsync(directory);
        await host.CreateAsync(token: "alice-token");

        (await host.GetAsync("/simulation/0")).AssertNrpError(401, ViewMessage, "Client error");
        (await host.GetAsync("/simulation/0/state")).AssertNrpError(401, ViewMessage, "Client error");
        (await host.GetAsync("/simulation/0", "carol-token")).AssertNrpError(403, ViewMessage, "Client error");
        (await host.GetAsync("/simulation/0/state", "carol-token")).AssertNrpError(403, ViewMessage, "Client error");
        Assert.Equal(200, (await host.GetAsync("/simulation/0", "alice-token")).Code);
        Assert.Equal(200, (await host.GetAsync("/simulation/0/state", "alice-token")).Code);
    }

    [Fact]
    public async Task View_AfterTheDirectoryRecovers_IsAllowedAtOnce()
    {
        // One identity cache, the directory's own: the API adds none on top, so a refusal caused by a blip is not
        // repeated once the directory answers again.
        var directory = new TestUserDirectory().WithUser("alice-token", "alice", "exp");
        await using var host = await StartAsync(directory);
        await host.CreateAsync(token: "alice-token");
        directory.Failure = new HttpRequestException("proxy blip");
        (await host.GetAsync("/simulation/0/state", "alice-token")).AssertNrpError(403, ViewMessage, "Client error");

        directory.Failure = null;

        Assert.Equal(200, (await host.GetAsync("/simulation/0/state", "alice-token")).Code);
    }

    [Fact]
    public async Task List_WithDirectory_StaysOpenForTheProxyPoll() // B01/B02 with a directory
    {
        var directory = new TestUserDirectory().WithUser("alice-token", "alice", "exp");
        await using var host = await StartAsync(directory);
        await host.CreateAsync(token: "alice-token");

        var withBearerFalse = await host.GetAsync("/simulation", token: "false");
        var without = await host.GetAsync("/simulation");

        Assert.Equal(200, withBearerFalse.Code);
        Assert.Equal(1, withBearerFalse.Json.GetArrayLength());
        Assert.Equal(200, without.Code);
    }

    [Fact]
    public async Task LocalStorage_EveryCallerIsDefaultOwner_EvenWithAToken()
    {
        await using var host = await ApiHost.StartAsync();
        host.LongExperiment().Build();

        var created = await host.CreateAsync(token: "some-token");
        var byAnother = await host.PutStateAsync(0, "stopped", token: "another-token");

        Assert.Equal("default-owner", created.GetProperty("owner").GetString());
        Assert.Equal(200, byAnother.Code);
    }

    [Fact]
    public async Task LocalStorage_UserNameHeader_IsIgnoredUnlessTrusted()
    {
        await using var host = await ApiHost.StartAsync();
        host.LongExperiment().Build();

        var response = await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""",
            configure: r => r.Headers.Add("X-User-Name", "mallory"));

        Assert.Equal("default-owner", response.Json.GetProperty("owner").GetString());
    }

    [Fact]
    public async Task LocalStorage_TrustedUserNameHeader_NamesTheOwnerAndOnlyTheOwnerMayControl()
    {
        await using var host = await ApiHost.StartAsync(s => s["NrpHost:Api:TrustUserNameHeader"] = "true");
        host.LongExperiment().Build();

        var created = await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""",
            configure: r => r.Headers.Add("X-User-Name", "dave"));
        var anonymous = await host.PutStateAsync(0, "started");
        var owner = await host.SendAsync(HttpMethod.Put, "/simulation/0/state", """{"state":"stopped"}""",
            configure: r => r.Headers.Add("X-User-Name", "dave"));

        Assert.Equal("dave", created.Json.GetProperty("owner").GetString());
        anonymous.AssertNrpError(403, ModifyMessage);
        Assert.Equal("""{"state":"stopped"}""", owner.Text);
    }

    [Fact]
    public async Task PutState_ChecksOwnerBeforeFinalAndBeforeTheBody() // validation order 404 → owner → final → body
    {
        var directory = new TestUserDirectory().WithUser("alice-token", "alice", "exp").WithUser("bob-token", "bob", "exp");
        await using var host = await StartAsync(directory);
        await host.CreateAsync(token: "alice-token");
        await host.PutStateAsync(0, "stopped", "alice-token");

        var notFound = await host.SendAsync(HttpMethod.Put, "/simulation/7/state", "{", "bob-token");
        var notOwner = await host.SendAsync(HttpMethod.Put, "/simulation/0/state", "{", "bob-token");
        var final = await host.SendAsync(HttpMethod.Put, "/simulation/0/state", "{", "alice-token");

        notFound.AssertNrpError(404);
        notOwner.AssertNrpError(403);
        final.AssertNrpError(400, "The state transition is invalid (The simulation requested is finalized)");
    }

    private static async Task<ApiHost> StartAsync(TestUserDirectory directory)
    {
        var host = await ApiHost.StartAsync(null, s => s.AddSingleton<IUserDirectory>(directory));
        host.LongExperiment().Build();
        return host;
    }
}
