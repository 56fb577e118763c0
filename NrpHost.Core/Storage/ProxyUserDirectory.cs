using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace NrpHost.Storage;

/// <summary>
/// Identity and view checks by the NRP Storage Proxy: <c>GET /identity/me</c> gives a token's user id,
/// <c>GET /storage/experiments?filter=&lt;id&gt;</c> (with <c>context-id</c>) whether the experiment is visible.
/// Answers are remembered for a short while (<see cref="ProxyStorageOptions.IdentityCacheSeconds"/>,
/// <see cref="ProxyStorageOptions.AccessCacheSeconds"/>; refusals and failures for
/// <see cref="ProxyStorageOptions.NegativeCacheSeconds"/>), never for the process lifetime.
/// </summary>
internal sealed class ProxyUserDirectory : IUserDirectory
{
    /// <summary>Expired entries are swept once a cache holds this many.</summary>
    private const int SweepAbove = 1024;

    private readonly StorageProxyClient _client;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Cached<string?>> _identities = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Token, string ExperimentId, string? ContextId), Cached<bool>> _access = new();

    public ProxyUserDirectory(StorageProxyClient client, TimeProvider time, ILoggerFactory loggerFactory)
    {
        _client = client;
        _time = time;
        _logger = loggerFactory.CreateLogger("NrpHost.Storage");
    }

    public bool IsConfigured => true;

    public async Task<string?> FindUserIdAsync(string token, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(token))
        {
            return null;
        }

        var now = _time.GetUtcNow();
        if (_identities.TryGetValue(token, out var cached) && cached.ExpiresAt > now)
        {
            return cached.Value;
        }

        string? id;
        try
        {
            var identity = await _client.CallAsync("resolving the token's user",
                (api, ct) => api.GetIdentityAsync(token, ct), cancellationToken).ConfigureAwait(false);
            id = string.IsNullOrEmpty(identity?.Id) ? null : identity.Id;
        }
        catch (ExperimentStorageException ex)
        {
            StorageLog.IdentityFailed(_logger, ex.Message);
            if (ex.Error == ExperimentStorageError.Unavailable)
            {
                // Not a verdict on the token: not remembered, and the caller learns that the proxy is away.
                throw;
            }

            id = null;
        }

        var lifetime = id is null ? _client.Options.NegativeCacheSeconds : _client.Options.IdentityCacheSeconds;
        Remember(_identities, token, id, lifetime);
        return id;
    }

    public async Task<bool> CanViewAsync(string token, string experimentId, string? contextId, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(token) || string.IsNullOrEmpty(experimentId))
        {
            return false;
        }

        var key = (token, experimentId, contextId);
        if (_access.TryGetValue(key, out var cached) && cached.ExpiresAt > _time.GetUtcNow())
        {
            return cached.Value;
        }

        bool visible;
        try
        {
            visible = await _client.CallAsync($"checking access to experiment '{experimentId}'", async (api, ct) =>
            {
                using var response = await api.FindExperimentsAsync(experimentId, contextId, token, ct).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    return false;
                }

                // Visible when the filtered list names the experiment (the reference accepted any 2xx, even []).
                var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                using var document = await JsonDocument.ParseAsync(body, default, ct).ConfigureAwait(false);
                return document.RootElement.ValueKind == JsonValueKind.Array &&
                       document.RootElement.EnumerateArray().Any(e => Names(e, experimentId));
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (ExperimentStorageException ex)
        {
            StorageLog.AccessCheckFailed(_logger, experimentId, ex.Message);
            visible = false;
        }

        Remember(_access, key, visible, visible ? _client.Options.AccessCacheSeconds : _client.Options.NegativeCacheSeconds);
        return visible;
    }

    private static bool Names(JsonElement experiment, string experimentId)
    {
        if (experiment.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        foreach (var field in (ReadOnlySpan<string>)["name", "uuid", "id"])
        {
            if (experiment.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.String &&
                string.Equals(value.GetString(), experimentId, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private void Remember<TKey, TValue>(ConcurrentDictionary<TKey, Cached<TValue>> cache, TKey key, TValue value, double seconds)
        where TKey : notnull
    {
        if (seconds <= 0)
        {
            return;
        }

        var now = _time.GetUtcNow();
        if (cache.Count >= SweepAbove)
        {
            foreach (var (k, entry) in cache)
            {
                if (entry.ExpiresAt <= now)
                {
                    cache.TryRemove(k, out _);
                }
            }
        }

        cache[key] = new Cached<TValue>(value, now + TimeSpan.FromSeconds(seconds));
    }

    private readonly record struct Cached<T>(T Value, DateTimeOffset ExpiresAt);
}
