using Microsoft.Extensions.Time.Testing;
using NrpHost.Storage;

namespace NrpHost.Tests.Storage;

/// <summary>Token identity and view checks against a proxy stand-in (reference nrp-peers §7, P01, P02).</summary>
public sealed class ProxyUserDirectoryTests : IAsyncLifetime
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);
    private FakeStorageProxy _proxy = null!;

    public async Task InitializeAsync()
    {
        _proxy = await FakeStorageProxy.StartAsync();
        _proxy.Experiment("exp_0").Build();
    }

    public async Task DisposeAsync() => await _proxy.DisposeAsync();

    private int IdentityCalls => _proxy.Requests.Count(r => r.RawPath == "/identity/me");

    private int AccessCalls => _proxy.Requests.Count(r => r.RawPath == "/storage/experiments");

    [Fact]
    public async Task IsConfigured_WithAProxyUrl_IsTrue()
    {
        await using var host = new ProxyClientHost(_proxy.Url);

        Assert.True(host.Users.IsConfigured);
        Assert.IsType<ProxyUserDirectory>(host.Users);
        Assert.IsType<ProxyExperimentStorage>(host.Storage);
    }

    [Fact]
    public async Task FindUserId_KnownToken_IsTheIdOfIdentityMe_P01()
    {
        await using var host = new ProxyClientHost(_proxy.Url);

        var id = await host.Users.FindUserIdAsync(FakeStorageProxy.Token).WaitAsync(Guard);

        Assert.Equal(FakeStorageProxy.User, id);
        var call = Assert.Single(_proxy.Requests);
        Assert.Equal("/identity/me", call.RawPath);
        Assert.Equal("Bearer " + FakeStorageProxy.Token, call.Authorization);
    }

    [Fact]
    public async Task FindUserId_UnknownToken477_IsNull()
    {
        await using var host = new ProxyClientHost(_proxy.Url);

        Assert.Null(await host.Users.FindUserIdAsync("expired").WaitAsync(Guard));
    }

    [Fact]
    public async Task FindUserId_HungProxy_IsUnavailableWithinTheTimeout()
    {
        _proxy.HangAll = true;
        await using var host = new ProxyClientHost(_proxy.Url, s =>
        {
            s["NrpHost:Storage:TimeoutSeconds"] = "1";
            s["NrpHost:Storage:AttemptTimeoutSeconds"] = "0.4";
        });

        var error = await Assert.ThrowsAsync<ExperimentStorageException>(() => host.Users.FindUserIdAsync(FakeStorageProxy.Token).WaitAsync(Guard));

        Assert.Equal(ExperimentStorageError.Unavailable, error.Error);
        Assert.Contains("did not answer within 1 s", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FindUserId_WhenTheProxyFails_IsNotRemembered_SoTheNextCallResolves()
    {
        // A failing proxy is not a verdict on the token: a one-call blip must not lock the user out.
        _proxy.Inject(ProxyFault.WithStatus(503), r => r.RawPath == "/identity/me");
        await using var host = new ProxyClientHost(_proxy.Url, s => s["NrpHost:Storage:MaxRetries"] = "0");

        var error = await Assert.ThrowsAsync<ExperimentStorageException>(() => host.Users.FindUserIdAsync(FakeStorageProxy.Token).WaitAsync(Guard));

        Assert.Equal(ExperimentStorageError.Unavailable, error.Error);
        Assert.Equal(FakeStorageProxy.User, await host.Users.FindUserIdAsync(FakeStorageProxy.Token).WaitAsync(Guard));
        Assert.Equal(2, IdentityCalls);
    }

    [Fact]
    public async Task FindUserId_IsCachedPerToken_UntilItExpires()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = new ProxyClientHost(_proxy.Url, s => s["NrpHost:Storage:IdentityCacheSeconds"] = "60");
        var users = host.UsersWithClock(time);
        _proxy.Users["other-token"] = "alice";

        Assert.Equal(FakeStorageProxy.User, await users.FindUserIdAsync(FakeStorageProxy.Token));
        Assert.Equal(FakeStorageProxy.User, await users.FindUserIdAsync(FakeStorageProxy.Token));
        Assert.Equal("alice", await users.FindUserIdAsync("other-token"));
        Assert.Equal(2, IdentityCalls);

        time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(FakeStorageProxy.User, await users.FindUserIdAsync(FakeStorageProxy.Token));
        Assert.Equal(2, IdentityCalls);

        // After expiry the proxy is asked again and a changed answer is seen.
        _proxy.Users[FakeStorageProxy.Token] = "renamed";
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal("renamed", await users.FindUserIdAsync(FakeStorageProxy.Token));
        Assert.Equal(3, IdentityCalls);
    }

    [Fact]
    public async Task FindUserId_UnknownToken_IsRememberedOnlyBriefly()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = new ProxyClientHost(_proxy.Url, s => s["NrpHost:Storage:NegativeCacheSeconds"] = "5");
        var users = host.UsersWithClock(time);

        Assert.Null(await users.FindUserIdAsync("new-token"));
        _proxy.Users["new-token"] = "bob";
        Assert.Null(await users.FindUserIdAsync("new-token"));
        Assert.Equal(1, IdentityCalls);

        time.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal("bob", await users.FindUserIdAsync("new-token"));
        Assert.Equal(2, IdentityCalls);
    }

    [Fact]
    public async Task CanView_ListedExperiment_IsTrue_AndSendsFilterTokenAndContextId_P02()
    {
        await using var host = new ProxyClientHost(_proxy.Url);

        Assert.True(await host.Users.CanViewAsync(FakeStorageProxy.Token, "exp_0", "ctx-42").WaitAsync(Guard));

        var call = Assert.Single(_proxy.Requests);
        Assert.Equal("/storage/experiments", call.RawPath);
        Assert.Equal("?filter=exp_0", call.Query);
        Assert.Equal("ctx-42", call.ContextId);
        Assert.Equal("Bearer " + FakeStorageProxy.Token, call.Authorization);
    }

    [Fact]
    public async Task CanView_WithoutContextId_SendsNoContextHeader()
    {
        await using var host = new ProxyClientHost(_proxy.Url);

        Assert.True(await host.Users.CanViewAsync(FakeStorageProxy.Token, "exp_0", null).WaitAsync(Guard));

        Assert.Null(Assert.Single(_proxy.Requests).ContextId);
    }

    [Fact]
    public async Task CanView_EmptyFilteredList_IsFalse()
    {
        _proxy.SharedWith["exp_0"] = ["someone-else"];
        await using var host = new ProxyClientHost(_proxy.Url);

        Assert.False(await host.Users.CanViewAsync(FakeStorageProxy.Token, "exp_0", null).WaitAsync(Guard));
        Assert.False(await host.Users.CanViewAsync(FakeStorageProxy.Token, "no_such_experiment", null).WaitAsync(Guard));
    }

    [Fact]
    public async Task CanView_UnknownTokenOrNoToken_IsFalse()
    {
        await using var host = new ProxyClientHost(_proxy.Url);

        Assert.False(await host.Users.CanViewAsync("expired", "exp_0", null).WaitAsync(Guard));
        Assert.False(await host.Users.CanViewAsync(string.Empty, "exp_0", null).WaitAsync(Guard));
        Assert.Single(_proxy.Requests);
    }

    [Fact]
    public async Task CanView_IsCachedBrieflyPerTokenContextAndExperiment()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = new ProxyClientHost(_proxy.Url, s => s["NrpHost:Storage:AccessCacheSeconds"] = "30");
        var users = host.UsersWithClock(time);

        Assert.True(await users.CanViewAsync(FakeStorageProxy.Token, "exp_0", "ctx"));
        Assert.True(await users.CanViewAsync(FakeStorageProxy.Token, "exp_0", "ctx"));
        Assert.True(await users.CanViewAsync(FakeStorageProxy.Token, "exp_0", "other-ctx"));
        Assert.Equal(2, AccessCalls);

        // Access withdrawn: seen once the entry expires.
        _proxy.SharedWith["exp_0"] = ["someone-else"];
        time.Advance(TimeSpan.FromSeconds(31));
        Assert.False(await users.CanViewAsync(FakeStorageProxy.Token, "exp_0", "ctx"));
        Assert.Equal(3, AccessCalls);
    }

    [Fact]
    public async Task CanView_HungProxy_IsFalseWithinTheTimeout_AndNotAskedAgainAtOnce()
    {
        _proxy.HangAll = true;
        await using var host = new ProxyClientHost(_proxy.Url, s =>
        {
            s["NrpHost:Storage:TimeoutSeconds"] = "1";
            s["NrpHost:Storage:AttemptTimeoutSeconds"] = "0.4";
        });

        Assert.False(await host.Users.CanViewAsync(FakeStorageProxy.Token, "exp_0", null).WaitAsync(Guard));
        var calls = AccessCalls;
        Assert.False(await host.Users.CanViewAsync(FakeStorageProxy.Token, "exp_0", null).WaitAsync(Guard));
        Assert.Equal(calls, AccessCalls);
    }
}
