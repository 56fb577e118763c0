using System.Reflection;
using Microsoft.Extensions.Options;
using NrpHost.Api.Contracts;
using NrpHost.Hosting;

namespace NrpHost.Api.Endpoints;

/// <summary><c>GET /version</c>.</summary>
internal static class VersionEndpoints
{
    internal static readonly string Version =
        typeof(Simulation.SimulationState).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "0.0.0";

    public static IEndpointRouteBuilder MapVersionEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/version", GetVersion).WithName("GetVersion").WithTags("Version")
            .WithSummary("NrpHost's version (as the NRP backend's hbp_nrp_backend and hbp_nrp_simserver) and the id of the host that answered.");
        return app;
    }

    internal static Ok<VersionResponse> GetVersion(IOptions<HostIdentityOptions> host) =>
        TypedResults.Ok(new VersionResponse(Version, Version, host.Value.HostId ?? string.Empty));
}
