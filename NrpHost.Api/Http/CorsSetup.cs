using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Options;

namespace NrpHost.Api.Http;

/// <summary>
/// The default CORS policy for browser clients (the NRP Frontend calls the backend directly from the browser,
/// with <c>Authorization</c> and a JSON <c>Content-Type</c>, so every call is preflighted). Origins come from
/// <see cref="ApiOptions.CorsOrigins"/>; when none are listed any origin is allowed and echoed back, like the NRP
/// backend's nginx. <c>Location</c> is exposed so a browser can read where a new simulation is. CORS does not stop
/// cross-site writes or WebSocket upgrades; <see cref="OriginPolicy"/> does.
/// </summary>
internal sealed class CorsSetup(IOptions<ApiOptions> api) : IConfigureOptions<CorsOptions>
{
    public void Configure(CorsOptions options)
    {
        var origins = OriginPolicy.AllowedOrigins(api.Value);
        options.AddDefaultPolicy(policy =>
        {
            if (origins.Length == 0)
            {
                policy.SetIsOriginAllowed(_ => true);
            }
            else
            {
                policy.WithOrigins(origins);
            }

            policy.WithMethods("GET", "POST", "PUT", "DELETE", "OPTIONS")
                .AllowAnyHeader()
                .WithExposedHeaders("Location")
                .SetPreflightMaxAge(TimeSpan.FromMinutes(10));
        });
    }
}
