using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using NrpHost.Storage;

namespace NrpHost.Api.Health;

/// <summary>
/// The <c>security</c> part of <c>/health</c>. Without a user directory (local storage) nobody can be identified, so
/// every caller owns every simulation. That is fine on loopback; on an address other machines reach it means anyone on
/// the network can start, stop and watch simulations. Then this check is degraded (and a warning is logged at
/// start-up), unless <see cref="ApiOptions.AllowAnonymousRemote"/> says it is intended.
/// </summary>
internal sealed class SecurityHealthCheck(IServer server, IUserDirectory directory, IOptions<ApiOptions> options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var problem = Problem();
        if (problem is not null)
        {
            return Task.FromResult(HealthCheckResult.Degraded(problem));
        }

        return Task.FromResult(HealthCheckResult.Healthy(directory.IsConfigured
            ? "callers are identified by the NRP Storage Proxy"
            : options.Value.AllowAnonymousRemote
                ? "every caller is the owner (local storage), reachable remotely as NrpHost:Api:AllowAnonymousRemote allows"
                : "every caller is the owner (local storage); the API listens on loopback only"));
    }

    /// <summary>What is exposed and how to fix it, or null when nothing is.</summary>
    public string? Problem()
    {
        if (directory.IsConfigured || options.Value.AllowAnonymousRemote)
        {
            return null;
        }

        var exposed = server.Features.Get<IServerAddressesFeature>()?.Addresses.Where(IsReachableFromOtherMachines).ToList() ?? [];
        return exposed.Count == 0
            ? null
            : $"The API listens on {string.Join(", ", exposed)} without identifying callers (local storage): anyone who can reach it "
              + "may start, stop and watch every simulation. Listen on loopback only (--urls http://localhost:8090), use the NRP Storage "
              + "Proxy (NrpHost:Storage:ProxyUrl), or set NrpHost:Api:AllowAnonymousRemote=true if this is intended.";
    }

    /// <summary>Logs the problem once the server listens (its addresses are known only then).</summary>
    public static void WarnAtStartup(WebApplication app)
    {
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var check = ActivatorUtilities.CreateInstance<SecurityHealthCheck>(app.Services);
            if (check.Problem() is { } problem)
            {
                ApiLog.AnonymousRemote(app.Logger, problem);
            }
        });
    }

    internal static bool IsReachableFromOtherMachines(string address)
    {
        var host = BindingAddress.Parse(address).Host;
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return !IPAddress.TryParse(host.Trim('[', ']'), out var ip) || !IPAddress.IsLoopback(ip);
    }
}
