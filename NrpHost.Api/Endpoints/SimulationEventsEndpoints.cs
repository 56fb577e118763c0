using Microsoft.Extensions.Options;
using NrpHost.Api.Contracts;
using NrpHost.Api.Events;
using NrpHost.Api.Http;
using NrpHost.Api.Identity;
using NrpHost.Simulation;

namespace NrpHost.Api.Endpoints;

/// <summary>
/// <c>GET /simulation/{id}/events</c>: a simulation's status, runtime errors and output as Server-Sent Events, for
/// browsers and <c>curl -N</c> (no MQTT client needed). Who may open it is decided as for
/// <c>GET /simulation/{id}/state</c>.
/// </summary>
internal static class SimulationEventsEndpoints
{
    private const string LoggerCategory = "NrpHost.Api";

    public static IEndpointRouteBuilder MapSimulationEventsEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/simulation/{id:int:min(0)}/events", GetEventsAsync)
            .WithName("GetSimulationEvents")
            .WithTags("Simulation")
            .WithSummary("Follows a simulation: text/event-stream of status (at once, on change, every second), runtime_error, log and end.")
            .WithDescription("""
                Events, each `event: <name>` and one `data:` line of JSON:
                `status` {"realTime","simulationTime","state","simulationTimeLeft"} (the MQTT status), sent at once, on every state change and every second;
                `runtime_error` {"sim_id","msg","error_type","fileName","line_number","offset","line_text"} (the MQTT runtime_error);
                `log` {"level","text"} per line the script prints or logs, rate-limited; a notice {"level":"warning","text","dropped"} counts the lines left out;
                `end` {"state"} once the simulation is stopped or failed, after which the stream closes.
                Comments (`: keep-alive`) keep proxies from closing an idle stream.
                At most `NrpHost:Api:MaxEventStreams` streams (100) are open at once; one more is answered 503 with `Retry-After`.
                One caller (the authenticated user, else the remote address) may have `NrpHost:Api:MaxEventStreamsPerCaller`
                (10) open; one more is answered 429 with `Retry-After`. A client that stops reading has its stream closed
                after `NrpHost:Api:EventStreamStuckSeconds` (30).
                """)
            .Produces<string>(StatusCodes.Status200OK, "text/event-stream")
            .ProducesNrpErrors(StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status429TooManyRequests, StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    internal static async Task<Results<SimulationEventStream, NotFound<ErrorResponse>, NrpErrorResult>> GetEventsAsync(
        int id,
        HttpRequest request,
        ISimulationManager manager,
        CallerResolver callers,
        IOptions<ApiOptions> options,
        EventStreamRegistry registry,
        TimeProvider time,
        ILoggerFactory loggers)
    {
        if (manager.Find(id) is not { } simulation)
        {
            return TypedResults.NotFound(ErrorResponse.SimulationNotFound());
        }

        var denied = await SimulationEndpoints.CheckViewAsync(request, simulation, callers, loggers).ConfigureAwait(false);
        if (denied is not null)
        {
            return denied;
        }

        var caller = await callers.ResolveAsync(request, request.HttpContext.RequestAborted).ConfigureAwait(false);
        return new SimulationEventStream(id, StreamOwner(callers, caller, request), manager, options.Value, time, registry, loggers.CreateLogger(LoggerCategory));
    }

    /// <summary>Whose streams count together: the authenticated user where there is one, else the remote address.</summary>
    private static string StreamOwner(CallerResolver callers, Caller caller, HttpRequest request) =>
        caller.UserId is { } user && (callers.VerifiesIdentity || user != CallerResolver.DefaultOwner)
            ? "user " + user
            : "address " + (request.HttpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown");
}
