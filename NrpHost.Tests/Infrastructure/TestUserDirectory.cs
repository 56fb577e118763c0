using System.Collections.Concurrent;
using NrpHost.Storage;

namespace NrpHost.Tests.Infrastructure;

/// <summary>
/// A configured <see cref="IUserDirectory"/> for API tests: known tokens map to users, and each token sees the
/// experiments granted to it. Counts the questions it is asked.
/// </summary>
public sealed class TestUserDirectory : IUserDirectory
{
    private readonly ConcurrentDictionary<string, string> _users = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Token, string Experiment), bool> _grants = new();
    private int _userLookups;
    private int _viewChecks;

    public bool IsConfigured => true;

    public int UserLookups => Volatile.Read(ref _userLookups);

    public int ViewChecks => Volatile.Read(ref _viewChecks);

    /// <summary>When set, every call throws this (the directory is down).</summary>
    public Exception? Failure { get; set; }

    public TestUserDirectory WithUser(string token, string userId, params string[] visibleExperiments)
    {
        _users[token] = userId;
        foreach (var experiment in visibleExperiments)
        {
            _grants[(token, experiment)] = true;
        }

        return this;
    }

    public Task<string?> FindUserIdAsync(string token, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _userLookups);
        if (Failure is not null)
        {
            throw Failure;
        }

        return Task.FromResult(_users.TryGetValue(token, out var user) ? user : null);
    }

    public Task<bool> CanViewAsync(string token, string experimentId, string? contextId, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _viewChecks);
        if (Failure is not null)
        {
            throw Failure;
        }

        return Task.FromResult(_grants.ContainsKey((token, experimentId)));
    }
}
