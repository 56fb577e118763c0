using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace NrpHost.Api.Security;

/// <summary>
/// The <c>security</c> part of <c>/health</c>: how callers are let in (<see cref="ApiAccess"/>). Never the token itself.
/// A server that other machines reach and lets anyone in (<see cref="ApiOptions.AllowAnonymous"/>) is healthy, as its
/// operator chose, but says so here and in a warning at start-up.
/// </summary>
internal sealed class SecurityHealthCheck(ApiAccess access) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(HealthCheckResult.Healthy(access.Mode switch
        {
            AccessMode.StorageProxy => "callers are identified by the NRP Storage Proxy",
            AccessMode.OpenIdConnect => "callers present a token of the OpenID Connect issuer (NrpHost:Auth:Authority)",
            AccessMode.Token when access.TokenWasGenerated => "callers need the API token generated at start (printed on standard output)",
            AccessMode.Token => "callers need the API token (NrpHost:Api:Token)",
            _ when access.AnonymousByChoice => "anyone who reaches the API may use it: NrpHost:Api:AllowAnonymous=true (every caller is the owner)",
            _ => "every caller is the owner (local storage); the API listens on loopback only",
        }));

    /// <summary>
    /// Once the server listens: prints a generated token's dashboard addresses (once, on standard output, never in the
    /// log), and warns when anyone from another machine may come in.
    /// </summary>
    public static void AnnounceAtStartup(WebApplication app, TextWriter console)
    {
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var access = app.Services.GetRequiredService<ApiAccess>();
            if (access.TokenWasGenerated)
            {
                var addresses = access.ExposedAddresses();
                ApiLog.TokenGenerated(app.Logger, string.Join(", ", addresses));
                console.WriteLine("NrpHost requires a token from callers. To use its dashboard, open one of these addresses:");
                foreach (var address in DashboardAddresses(addresses))
                {
                    console.WriteLine($"    {address}/?token={access.Token}");
                }

                console.Flush();
            }
            else if (access.AnonymousByChoice)
            {
                ApiLog.AnonymousRemote(app.Logger, string.Join(", ", access.ExposedAddresses()));
            }
        });
    }

    /// <summary>Where a browser reaches the server: a wildcard address is the machine's name and 127.0.0.1.</summary>
    private static IEnumerable<string> DashboardAddresses(IEnumerable<string> addresses)
    {
        foreach (var address in addresses)
        {
            var binding = BindingAddress.Parse(address);
            if (binding.Host is "0.0.0.0" or "[::]" or "*" or "+")
            {
                yield return $"{binding.Scheme}://{Environment.MachineName}:{binding.Port}";
                yield return $"{binding.Scheme}://127.0.0.1:{binding.Port}";
            }
            else
            {
                yield return address.TrimEnd('/');
            }
        }
    }
}
