using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using NrpHost.Storage;

namespace NrpHost.Api.Security;

/// <summary>How callers are let in.</summary>
internal enum AccessMode
{
    /// <summary>Anyone who reaches the port (loopback, or <see cref="ApiOptions.AllowAnonymous"/>): every caller is <c>default-owner</c>.</summary>
    Open,

    /// <summary>Callers present the API token (<see cref="ApiOptions.Token"/>, or one generated at start); every caller is <c>default-owner</c>.</summary>
    Token,

    /// <summary>Callers present a JWT of the OpenID Connect issuer (<see cref="AuthOptions.Authority"/>); the owner is the token's user.</summary>
    OpenIdConnect,

    /// <summary>Callers present their NRP Storage Proxy token; the proxy says who they are and what they may see.</summary>
    StorageProxy,
}

/// <summary>
/// Decides, once, how callers are let in, and checks the API token. Without a Storage Proxy or an identity provider, a
/// server that listens on an address other machines reach requires a token: <see cref="ApiOptions.Token"/>, or one it
/// generates at start and prints once (as Jupyter does), unless <see cref="ApiOptions.AllowAnonymous"/> says anyone may
/// come in. On loopback it stays open. The decision needs the addresses the server listens on, so it is made at the first
/// request or when the server has started, whichever comes first (both after the listeners are bound).
/// </summary>
internal sealed class ApiAccess
{
    /// <summary>The query parameter that may carry the token where a browser cannot set a header (events stream, WebSocket).</summary>
    public const string QueryParameter = "access_token";

    /// <summary>The shortest token accepted in <see cref="ApiOptions.Token"/>.</summary>
    public const int MinimumTokenLength = 16;

    private readonly IServer _server;
    private readonly ApiOptions _api;
    private readonly AuthOptions _auth;
    private readonly bool _proxy;
    private readonly Lock _lock = new();
    private Decision? _decision;

    public ApiAccess(IServer server, IUserDirectory directory, IOptions<ApiOptions> api, IOptions<AuthOptions> auth)
    {
        _server = server;
        _api = api.Value;
        _auth = auth.Value;
        _proxy = directory.IsConfigured;
    }

    /// <summary>How callers are let in.</summary>
    public AccessMode Mode => Decide().Mode;

    /// <summary>Whether the token was generated at start (it is then printed once).</summary>
    public bool TokenWasGenerated => Decide().Generated;

    /// <summary>The token callers must present (only in <see cref="AccessMode.Token"/>; never logged).</summary>
    public string? Token => Decide().Token;

    /// <summary>Whether anonymous callers are let in from other machines because <see cref="ApiOptions.AllowAnonymous"/> says so.</summary>
    public bool AnonymousByChoice => Decide() is { Mode: AccessMode.Open } && _api.AnonymousAllowed && ExposedAddresses().Count > 0;

    /// <summary>Whether the caller's identity is verified (by the proxy or the identity provider), so owners are real users.</summary>
    public bool VerifiesIdentity => _proxy || UsesOpenIdConnect;

    /// <summary>The OpenID Connect issuer, when one is configured.</summary>
    public string? Authority => UsesOpenIdConnect ? _auth.Authority : null;

    /// <summary>Whether OpenID Connect is configured.</summary>
    public bool UsesOpenIdConnect => !string.IsNullOrWhiteSpace(_auth.Authority);

    /// <summary>The addresses the server listens on that other machines can reach.</summary>
    public IReadOnlyList<string> ExposedAddresses() =>
        _server.Features.Get<IServerAddressesFeature>()?.Addresses.Where(IsReachableFromOtherMachines).ToList() ?? [];

    /// <summary>Whether <paramref name="presented"/> is the token, compared in constant time (hashes of equal length).</summary>
    public bool IsToken(string? presented)
    {
        if (Token is not { } expected || presented is null)
        {
            return false;
        }

        Span<byte> want = stackalloc byte[SHA256.HashSizeInBytes];
        Span<byte> got = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(expected), want);
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), got);
        return CryptographicOperations.FixedTimeEquals(want, got);
    }

    /// <summary>What is wrong with the configuration, or null: checked before the server serves anything.</summary>
    public string? ConfigurationProblem()
    {
        if (_api.Token is { Length: > 0 } token)
        {
            if (token.Trim().Length < MinimumTokenLength || token.Any(char.IsWhiteSpace))
            {
                return $"NrpHost:Api:Token must be at least {MinimumTokenLength} characters, without spaces.";
            }

            if (token.Contains("${", StringComparison.Ordinal))
            {
                return "NrpHost:Api:Token looks like a variable that was not substituted ('${…}'): set the variable, or use a compose tool that substitutes it.";
            }

            if (_proxy || UsesOpenIdConnect)
            {
                return "NrpHost:Api:Token cannot be used with " + (_proxy ? "the NRP Storage Proxy (NrpHost:Storage:ProxyUrl)" : "OpenID Connect (NrpHost:Auth:Authority)")
                    + ": there, the bearer token is the caller's own. Remove NrpHost:Api:Token.";
            }
        }

        if (!UsesOpenIdConnect)
        {
            return null;
        }

        if (!Uri.TryCreate(_auth.Authority, UriKind.Absolute, out var authority) || authority.Scheme is not ("http" or "https"))
        {
            return $"NrpHost:Auth:Authority '{_auth.Authority}' is not an http(s) URL.";
        }

        if (authority.Scheme == "http" && _auth.RequireHttpsMetadata)
        {
            return $"NrpHost:Auth:Authority '{_auth.Authority}' is plain http: use https, or set NrpHost:Auth:RequireHttpsMetadata=false (allowed for an issuer on loopback only).";
        }

        if (!_auth.RequireHttpsMetadata && !IsLoopback(authority.Host))
        {
            return $"NrpHost:Auth:RequireHttpsMetadata=false is allowed for an issuer on loopback only, not for '{authority.Host}'.";
        }

        return null;
    }

    internal static bool IsReachableFromOtherMachines(string address) => !IsLoopback(BindingAddress.Parse(address).Host);

    private static bool IsLoopback(string host) =>
        string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    private Decision Decide()
    {
        // Every request asks: once made, the decision is read without the lock.
        if (Volatile.Read(ref _decision) is { } decided)
        {
            return decided;
        }

        lock (_lock)
        {
            if (_decision is { } made)
            {
                return made;
            }

            Decision decision;
            bool final;
            if (UsesOpenIdConnect)
            {
                (decision, final) = (new Decision(AccessMode.OpenIdConnect, null, false), true);
            }
            else if (_proxy)
            {
                (decision, final) = (new Decision(AccessMode.StorageProxy, null, false), true);
            }
            else if (_api.Token is { Length: > 0 } token)
            {
                (decision, final) = (new Decision(AccessMode.Token, token.Trim(), false), true);
            }
            else
            {
                // Before the listeners are bound there is nothing to decide on yet: open for now, decided again later.
                var bound = _server.Features.Get<IServerAddressesFeature>()?.Addresses.Count > 0;
                decision = bound && !_api.AnonymousAllowed && ExposedAddresses().Count > 0
                    ? new Decision(AccessMode.Token, Base64Url(RandomNumberGenerator.GetBytes(32)), true)
                    : new Decision(AccessMode.Open, null, false);
                final = bound;
            }

            if (final)
            {
                Volatile.Write(ref _decision, decision);
            }

            return decision;
        }
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private sealed record Decision(AccessMode Mode, string? Token, bool Generated);
}
