using NrpHost.Simulation;

namespace NrpHost.Api;

/// <summary>The API's log messages (EventIds 5xx).</summary>
internal static partial class ApiLog
{
    [LoggerMessage(500, LogLevel.Information, "Simulation {SimulationId} of experiment {ExperimentId} created for {Owner}")]
    public static partial void SimulationCreated(ILogger logger, int simulationId, string experimentId, string owner);

    [LoggerMessage(514, LogLevel.Warning, "Simulation {SimulationId} created for experiment {ExperimentId} by {Owner}, with a warning: {Warning}")]
    public static partial void SimulationCreatedWithWarning(ILogger logger, int simulationId, string experimentId, string owner, string warning);

    [LoggerMessage(501, LogLevel.Information, "Simulation of experiment {ExperimentId} refused ({Status}): {Reason}")]
    public static partial void CreateRefused(ILogger logger, string experimentId, CreateSimulationStatus status, string? reason);

    [LoggerMessage(502, LogLevel.Warning, "Simulation {SimulationId} of experiment {ExperimentId} failed to start ({Fault}): {Reason}")]
    public static partial void CreateFailed(ILogger logger, int? simulationId, string experimentId, SimulationFault fault, string? reason);

    [LoggerMessage(503, LogLevel.Information, "Simulation {SimulationId}: {Caller} requested {Requested}, now {State} ({Status})")]
    public static partial void StateRequested(ILogger logger, int simulationId, string caller, SimulationState requested, SimulationState state, StateChangeStatus status);

    [LoggerMessage(504, LogLevel.Information, "Simulation {SimulationId}: {Caller} requested {Requested}, refused ({Status}): {Reason}")]
    public static partial void StateRefused(ILogger logger, int simulationId, string caller, SimulationState requested, StateChangeStatus status, string? reason);

    [LoggerMessage(505, LogLevel.Information, "{Method} {Path}: access denied ({Decision}) for {Caller}")]
    public static partial void AccessDenied(ILogger logger, string method, string path, string decision, string caller);

    [LoggerMessage(506, LogLevel.Warning, "Could not resolve the caller's identity; the token is treated as unknown")]
    public static partial void IdentityLookupFailed(ILogger logger, Exception exception);

    [LoggerMessage(507, LogLevel.Warning, "Could not check whether the caller may view experiment {ExperimentId}; access is refused")]
    public static partial void ViewCheckFailed(ILogger logger, string experimentId, Exception exception);

    [LoggerMessage(508, LogLevel.Error, "Unhandled exception in {Method} {Path}")]
    public static partial void UnhandledException(ILogger logger, string method, string path, Exception exception);

    [LoggerMessage(509, LogLevel.Debug, "{Method} {Path} rejected with {StatusCode}: {Reason}")]
    public static partial void BadRequest(ILogger logger, string method, string path, int statusCode, string reason);

    [LoggerMessage(510, LogLevel.Debug, "{Method} {Path} from origin {Origin} refused with 403: the origin is not in NrpHost:Api:CorsOrigins")]
    public static partial void OriginRefused(ILogger logger, string method, string path, string origin);

    [LoggerMessage(511, LogLevel.Warning, "Health check {Name} is now {Status}: {Description}")]
    public static partial void HealthWorse(ILogger logger, string name, string status, string? description);

    [LoggerMessage(512, LogLevel.Information, "Health check {Name} is {Status} again: {Description}")]
    public static partial void HealthBetter(ILogger logger, string name, string status, string? description);

    [LoggerMessage(513, LogLevel.Warning, "The API listens on {Addresses} and lets anyone in without a token, as NrpHost:Api:AllowAnonymous=true says: whoever reaches it may start, stop and watch every simulation and run Python on this machine")]
    public static partial void AnonymousRemote(ILogger logger, string addresses);

    [LoggerMessage(516, LogLevel.Warning, "The API listens on {Addresses} with neither a Storage Proxy nor an identity provider: callers need the token generated at start, printed with the dashboard's address on standard output (not in this log). Set NrpHost:Api:Token to choose it, or NrpHost:Auth:Authority for OpenID Connect")]
    public static partial void TokenGenerated(ILogger logger, string addresses);

    [LoggerMessage(517, LogLevel.Debug, "Refused {Method} {Path} from {Remote}: {Reason}")]
    public static partial void AccessRefused(ILogger logger, string method, string path, string remote, string reason);
}
