using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using NrpHost.Messaging;

namespace NrpHost.Api.Security;

/// <summary>
/// The second way into MQTT over WebSocket when callers need a token: an upgrade that carried none is accepted, and the
/// MQTT client then presents the token as its CONNECT password (the API token, or an access token of the OpenID Connect
/// issuer). The embedded broker asks here about each connection; only those of such upgrades are checked, so the TCP
/// listener and upgrades that carried a token are not.
/// </summary>
internal sealed class WebSocketCredentials(ApiAccess access, IServiceProvider services) : IMqttConnectionCheck
{
    private readonly ConcurrentDictionary<string, byte> _pending = new(StringComparer.Ordinal);

    /// <summary>Notes that the connection from <paramref name="remote"/> must present the token as its password, until the returned handle is disposed.</summary>
    public IDisposable RequireFrom(EndPoint remote)
    {
        var key = remote.ToString() ?? string.Empty;
        _pending[key] = 0;
        return new Release(() => _pending.TryRemove(key, out _));
    }

    public async ValueTask<string?> RefuseAsync(string endpoint, string? userName, ReadOnlyMemory<byte> password)
    {
        if (!_pending.ContainsKey(endpoint))
        {
            return null;
        }

        var presented = password.IsEmpty ? null : Encoding.UTF8.GetString(password.Span);
        if (presented is null)
        {
            return "its WebSocket upgrade carried no token, and its CONNECT has no password (give the token as either)";
        }

        return access.Mode switch
        {
            AccessMode.Token => access.IsToken(presented) ? null : "its password is not the API token",
            AccessMode.OpenIdConnect => await RefuseJwtAsync(presented).ConfigureAwait(false),
            _ => null,
        };
    }

    private async Task<string?> RefuseJwtAsync(string token)
    {
        var options = services.GetRequiredService<IOptionsMonitor<JwtBearerOptions>>().Get(JwtBearerDefaults.AuthenticationScheme);
        try
        {
            var configuration = await options.ConfigurationManager!.GetConfigurationAsync(CancellationToken.None).ConfigureAwait(false);
            var parameters = options.TokenValidationParameters.Clone();
            parameters.ValidIssuers = [configuration.Issuer];
            parameters.IssuerSigningKeys = configuration.SigningKeys;
            parameters.ValidAudience ??= options.Audience;
            var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, parameters).ConfigureAwait(false);
            return result.IsValid ? null : "its password is not a valid access token (" + result.Exception?.Message.Split('\n', 2)[0] + ")";
        }
        catch (InvalidOperationException ex)
        {
            return "the identity provider cannot be reached to check its password (" + ex.Message.Split('\n', 2)[0] + ")";
        }
    }

    private sealed class Release(Action release) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                release();
            }
        }
    }
}
