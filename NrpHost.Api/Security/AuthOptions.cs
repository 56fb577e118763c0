namespace NrpHost.Api.Security;

/// <summary>
/// OpenID Connect (<c>NrpHost:Auth</c>): with an <see cref="Authority"/>, every call needs a JWT bearer token that this
/// issuer signed, found through its discovery document and keys (Keycloak, as NRP deploys it, or any other provider).
/// </summary>
public sealed class AuthOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "NrpHost:Auth";

    /// <summary>The issuer's URL (its discovery document is <c>&lt;Authority&gt;/.well-known/openid-configuration</c>). Unset: no OpenID Connect.</summary>
    public string? Authority { get; set; }

    /// <summary>The audience tokens must be issued for (<c>aud</c>). Unset: any audience of this issuer.</summary>
    public string? Audience { get; set; }

    /// <summary>Whether the issuer's metadata must come over HTTPS. Default true; false is allowed for an issuer on loopback only.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;
}
