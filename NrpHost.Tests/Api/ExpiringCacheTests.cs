using Microsoft.Extensions.Time.Testing;
using NrpHost.Api.Identity;

namespace NrpHost.Tests.Api;

public sealed class ExpiringCacheTests
{
    [Fact]
    public void TryGet_AfterTheLifetime_MissesSoARevokedTokenIsAskedAgain() // reliability A7
    {
        var time = new FakeTimeProvider();
        var cache = new ExpiringCache<string, string?>(time, TimeSpan.FromSeconds(60));
        cache.Set("token", "alice");

        time.Advance(TimeSpan.FromSeconds(59));
        Assert.True(cache.TryGet("token", out var before));
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.False(cache.TryGet("token", out _));
        Assert.Equal("alice", before);
    }

    [Fact]
    public void Set_BeyondCapacity_StaysBounded()
    {
        var cache = new ExpiringCache<int, bool>(new FakeTimeProvider(), TimeSpan.FromMinutes(1), capacity: 10);

        for (var i = 0; i < 1000; i++)
        {
            cache.Set(i, true);
        }

        Assert.True(cache.TryGet(999, out _));
        Assert.True(Enumerable.Range(0, 1000).Count(i => cache.TryGet(i, out _)) <= 10);
    }

    [Fact]
    public void Set_WithZeroLifetime_RemembersNothing()
    {
        var cache = new ExpiringCache<string, bool>(new FakeTimeProvider(), TimeSpan.Zero);

        cache.Set("k", true);

        Assert.False(cache.TryGet("k", out _));
    }
}
