using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace NrpHost.Api.Security;

/// <summary>How callers are let in: <see cref="ApiAccess"/>, and with <c>NrpHost:Auth:Authority</c> ASP.NET Core's JWT bearer handler.</summary>
internal static class AuthSetup
{
    /// <summary>The claims that name a token's user, in order (as the Storage Proxy's <c>/identity/me</c> names the same user).</summary>
    public static readonly string[] UserClaims = ["preferred_username", "sub"];

    public static void AddApiAccess(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuthOptions>().Bind(builder.Configuration.GetSection(AuthOptions.SectionName));
        builder.Services.TryAddSingleton<ApiAccess>();
        var auth = builder.Configuration.GetSection(AuthOptions.SectionName).Get<AuthOptions>() ?? new AuthOptions();
        if (string.IsNullOrWhiteSpace(auth.Authority))
        {
            return;
        }

        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        builder.Services.AddSingleton<IConfigureOptions<JwtBearerOptions>, ConfigureJwtBearer>();
    }

    /// <summary>Refuses to serve with a configuration that cannot be meant (a clear message at start, not a surprise later).</summary>
    public static void ValidateApiAccess(this WebApplication app)
    {
        if (app.Services.GetRequiredService<ApiAccess>().ConfigurationProblem() is { } problem)
        {
            throw new OptionsValidationException(ApiOptions.SectionName, typeof(ApiOptions), [problem]);
        }
    }

    /// <summary>
    /// Whether the issuer's discovery document and keys can be had (the JwtBearer handler remembers them once fetched, so
    /// this asks the issuer only while they cannot). A token refused while they cannot is not the caller's fault.
    /// </summary>
    public static async Task<bool> IssuerReachableAsync(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptionsMonitor<JwtBearerOptions>>().Get(JwtBearerDefaults.AuthenticationScheme);
        try
        {
            await options.ConfigurationManager!.GetConfigurationAsync(CancellationToken.None).ConfigureAwait(false);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>The user a verified token names: <c>preferred_username</c>, else <c>sub</c>.</summary>
    public static string? UserOf(System.Security.Claims.ClaimsPrincipal user) =>
        user.Identity?.IsAuthenticated == true
            ? UserClaims.Select(type => user.FindFirst(type)?.Value).FirstOrDefault(value => !string.IsNullOrEmpty(value))
            : null;

    private sealed class ConfigureJwtBearer(IOptions<AuthOptions> auth) : IConfigureNamedOptions<JwtBearerOptions>
    {
        public void Configure(string? name, JwtBearerOptions options)
        {
            if (name != JwtBearerDefaults.AuthenticationScheme)
            {
                return;
            }

            var settings = auth.Value;
            options.Authority = settings.Authority;
            options.Audience = settings.Audience;
            options.RequireHttpsMetadata = settings.RequireHttpsMetadata;
            options.MapInboundClaims = false; // keep the issuer's claim names (preferred_username, sub)
            options.TokenValidationParameters.ValidateAudience = !string.IsNullOrEmpty(settings.Audience);
            options.TokenValidationParameters.NameClaimType = UserClaims[0];
            options.Events = new JwtBearerEvents
            {
                // Browsers cannot give EventSource or WebSocket a header: those two may carry the token in the query.
                OnMessageReceived = context =>
                {
                    if (string.IsNullOrEmpty(context.Token) && QueryToken(context.Request) is { } token)
                    {
                        context.Token = token;
                    }

                    return Task.CompletedTask;
                },
            };
        }

        public void Configure(JwtBearerOptions options) => Configure(Options.DefaultName, options);

        private static string? QueryToken(HttpRequest request) =>
            request.Headers.Authorization.Count == 0 ? AccessGate.PresentedToken(request) : null;
    }
}
