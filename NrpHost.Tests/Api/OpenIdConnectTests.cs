using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Api;

/// <summary>
/// OpenID Connect (<c>NrpHost:Auth:Authority</c>) against an issuer the test starts on loopback: a discovery document
/// and a JWKS, signing its own RS256 tokens, as Keycloak does. The server finds the keys itself, over HTTP.
/// </summary>
public sealed class OpenIdConnectTests : IAsyncLifetime
{
    private const string Audience = "nrphost";
    private TestIssuer _issuer = null!;
    private ApiHost _host = null!;

    public async Task InitializeAsync()
    {
        _issuer = await TestIssuer.StartAsync();
        _host = await ApiHost.StartAsync(s =>
        {
            s["NrpHost:Auth:Authority"] = _issuer.Authority;
            s["NrpHost:Auth:Audience"] = Audience;
            s["NrpHost:Auth:RequireHttpsMetadata"] = "false";
        });
        _host.LongExperiment().Build();
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _issuer.DisposeAsync();
    }

    [Fact]
    public async Task AValidToken_LetsItsUserIn_AsTheOwnerOfWhatItCreates()
    {
        var alice = _issuer.Token(("preferred_username", "alice"), ("sub", "0b5c-alice"));

        var created = await _host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""", token: alice);

        Assert.True(created.Code == 201, created.Text);
        Assert.Equal("alice", created.Json.GetProperty("owner").GetString());
        Assert.Equal(200, (await _host.GetAsync("/simulation", alice)).Code);
        Assert.Equal(200, (await _host.PutStateAsync(0, "started", alice)).Code);
        Assert.Equal(200, (await _host.PutStateAsync(0, "stopped", alice)).Code);
    }

    [Fact]
    public async Task WithoutPreferredUsername_TheSubjectIsTheUser_AndOnlyTheOwnerChangesState()
    {
        var alice = _issuer.Token(("preferred_username", "alice"), ("sub", "0b5c-alice"));
        var bob = _issuer.Token(("sub", "7f3e-bob"));
        Assert.Equal(201, (await _host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""", token: alice)).Code);

        Assert.Equal(200, (await _host.GetAsync("/simulation/0", bob)).Code); // anyone signed in may watch
        (await _host.PutStateAsync(0, "started", bob)).AssertNrpError(403, "Insufficient permissions to apply changes. Operation only allowed by simulation owner", "Client error");
        (await _host.PutStateAsync(0, "stopped", bob)).AssertNrpError(403, "Insufficient permissions to apply changes. Operation only allowed by simulation owner", "Client error");
        Assert.Equal(200, (await _host.PutStateAsync(0, "stopped", alice)).Code);

        var bobs = await _host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""", token: bob);
        Assert.True(bobs.Code == 201, bobs.Text);
        Assert.Equal("7f3e-bob", bobs.Json.GetProperty("owner").GetString());
        await _host.PutStateAsync(1, "stopped", bob);
    }

    [Fact]
    public async Task NoExpiredForeignOrForgedToken_GetsIn()
    {
        var expired = _issuer.Token([("preferred_username", "alice")], expires: DateTime.UtcNow.AddHours(-1));
        var otherAudience = _issuer.Token([("preferred_username", "alice")], audience: "another-service");
        var forged = _issuer.Token([("preferred_username", "alice")], key: new RsaSecurityKey(RSA.Create(2048)) { KeyId = _issuer.KeyId });

        var none = await _host.GetAsync("/simulation");
        none.AssertNrpError(401, "This NrpHost needs an access token of its identity provider: send Authorization: Bearer <token> (or ?access_token=<token> on the events stream and WebSocket).", "Client error");
        foreach (var (token, why) in new[] { (expired, "IDX10223"), (otherAudience, "IDX10214"), (forged, "IDX10511"), ("not-a-jwt", "IDX14100") })
        {
            var refused = await _host.GetAsync("/simulation", token);
            Assert.True(refused.Code == 401, $"{why}: {refused.Code} {refused.Text}");
            Assert.Equal("The access token was refused: it is expired, not for this audience, or not signed by the identity provider.", refused.Json.GetProperty("message").GetString());
            Assert.Contains(why, refused.Json.GetProperty("data").GetString(), StringComparison.Ordinal);
            Assert.Equal("Bearer error=\"invalid_token\"", refused.Headers["WWW-Authenticate"]);
        }

        Assert.Equal(200, (await _host.GetAsync("/health")).Code);
        Assert.Equal("""{"tokenRequired":true,"auth":"oidc"}""", (await _host.GetAsync("/dashboard/settings.json")).Text);
        Assert.DoesNotContain(_host.Logs.Entries, e => e.ToString().Contains(expired, StringComparison.Ordinal) || e.ToString().Contains(forged, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnIssuerThatCannotBeReached_Is503_NotTheCallersFault()
    {
        var nobody = Messaging.FreePort.Next();
        await using var host = await ApiHost.StartAsync(s =>
        {
            s["NrpHost:Auth:Authority"] = $"http://127.0.0.1:{nobody}/realms/nrp";
            s["NrpHost:Auth:RequireHttpsMetadata"] = "false";
        });

        var response = await host.GetAsync("/simulation", _issuer.Token(("preferred_username", "alice")));

        response.AssertNrpError(503, "The identity provider (NrpHost:Auth:Authority) cannot be reached to check the token; try again later.", "Server Error");
        Assert.Equal(401, (await host.GetAsync("/simulation")).Code); // no token: nothing to check
    }

    [Fact]
    public async Task TheEventsStream_TakesTheTokenFromTheQuery()
    {
        var alice = _issuer.Token(("preferred_username", "alice"));
        Assert.Equal(201, (await _host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"exp"}""", token: alice)).Code);

        using var stream = await _host.Client.GetAsync("/simulation/0/events?access_token=" + alice, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(System.Net.HttpStatusCode.OK, stream.StatusCode);
        using var refused = await _host.Client.GetAsync("/simulation?access_token=" + alice); // only the stream and WebSocket take it there
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, refused.StatusCode);
        await _host.PutStateAsync(0, "stopped", alice);
    }

    [Fact]
    public async Task MqttOverWebSocket_TakesTheAccessToken_InTheUpgradeOrAsTheMqttPassword()
    {
        var alice = _issuer.Token(("preferred_username", "alice"));
        var expired = _issuer.Token([("preferred_username", "alice")], expires: DateTime.UtcNow.AddHours(-1));
        var ws = new UriBuilder(_host.BaseAddress) { Scheme = "ws", Path = "/mqtt" }.Uri;

        Assert.Equal("Success", await ApiAccessTests.ConnectResultAsync(new UriBuilder(ws) { Query = "access_token=" + alice }.Uri, password: null));
        Assert.Equal("Success", await ApiAccessTests.ConnectResultAsync(ws, password: alice));
        Assert.Contains("BadUserNameOrPassword", await ApiAccessTests.ConnectResultAsync(ws, password: expired), StringComparison.Ordinal);
        Assert.Contains("BadUserNameOrPassword", await ApiAccessTests.ConnectResultAsync(ws, password: null), StringComparison.Ordinal);
        await _host.Logs.WaitForAsync(e => e.Message.Contains("its password is not a valid access token (IDX10223", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheOpenApiDocument_NamesTheIssuer_AndLeavesHealthAndVersionOpen()
    {
        var alice = _issuer.Token(("preferred_username", "alice"));

        var document = (await _host.GetAsync("/openapi/v1.json", alice)).Json;

        var schemes = document.GetProperty("components").GetProperty("securitySchemes");
        Assert.Equal(_issuer.Authority + "/.well-known/openid-configuration", schemes.GetProperty("oidc").GetProperty("openIdConnectUrl").GetString());
        Assert.Equal("JWT", schemes.GetProperty("bearer").GetProperty("bearerFormat").GetString());
        Assert.Equal(1, document.GetProperty("security").GetArrayLength());
        Assert.Equal(0, document.GetProperty("paths").GetProperty("/health").GetProperty("get").GetProperty("security").GetArrayLength());
    }

    /// <summary>An OpenID Connect issuer on loopback: discovery, JWKS, and RS256 tokens signed with its key.</summary>
    private sealed class TestIssuer : IAsyncDisposable
    {
        private readonly RsaSecurityKey _key = new(RSA.Create(2048)) { KeyId = "test-key-1" };
        private WebApplication _app = null!;

        public string Authority { get; private set; } = null!;

        public string KeyId => _key.KeyId;

        public static async Task<TestIssuer> StartAsync()
        {
            var issuer = new TestIssuer();
            (issuer._app, var address) = await LoopbackApp.StartAsync(app =>
            {
                app.MapGet("/realms/nrp/.well-known/openid-configuration", () => Results.Text(JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["issuer"] = issuer.Authority,
                    ["jwks_uri"] = issuer.Authority + "/protocol/openid-connect/certs",
                    ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
                }), "application/json"));
                app.MapGet("/realms/nrp/protocol/openid-connect/certs", () =>
                {
                    var key = issuer._key.Rsa.ExportParameters(false);
                    return Results.Text(JsonSerializer.Serialize(new
                    {
                        keys = new[] { new { kty = "RSA", use = "sig", alg = "RS256", kid = issuer.KeyId, n = Base64UrlEncoder.Encode(key.Modulus), e = Base64UrlEncoder.Encode(key.Exponent) } },
                    }), "application/json");
                });
            });
            issuer.Authority = address + "/realms/nrp";
            return issuer;
        }

        public string Token(params (string Type, string Value)[] claims) => Token(claims, null);

        public string Token((string Type, string Value)[] claims, DateTime? expires = null, string audience = Audience, SecurityKey? key = null)
        {
            var now = DateTime.UtcNow;
            return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
            {
                Issuer = Authority,
                Audience = audience,
                Subject = new ClaimsIdentity(claims.Select(c => new Claim(c.Type, c.Value))),
                NotBefore = (expires ?? now.AddHours(1)).AddHours(-2),
                IssuedAt = (expires ?? now.AddHours(1)).AddHours(-2),
                Expires = expires ?? now.AddHours(1),
                SigningCredentials = new SigningCredentials(key ?? _key, SecurityAlgorithms.RsaSha256),
            });
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
