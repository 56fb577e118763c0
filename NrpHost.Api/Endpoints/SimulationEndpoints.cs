using System.Globalization;
using Microsoft.Extensions.Options;
using NrpHost.Api.Contracts;
using NrpHost.Api.Http;
using NrpHost.Api.Identity;
using NrpHost.Messaging;
using NrpHost.Simulation;

namespace NrpHost.Api.Endpoints;

/// <summary>
/// The NRP backend's simulation resource: <c>POST /simulation</c>, <c>GET /simulation</c>,
/// <c>GET /simulation/{id}</c>, <c>GET</c> and <c>PUT /simulation/{id}/state</c>, and NrpHost's <c>GET /simulation/{id}/profile</c>. Ids are non-negative integers;
/// any other id segment is an unknown route (404), as in the NRP backend.
/// </summary>
internal static class SimulationEndpoints
{
    private const string LoggerCategory = "NrpHost.Api";

    public static IEndpointRouteBuilder MapSimulationEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/simulation").WithTags("Simulation");

        group.MapPost("", CreateAsync)
            .WithName("CreateSimulation")
            .WithSummary("Creates a simulation of a storage experiment and initialises it (it is paused when this returns).")
            .Accepts<CreateSimulationRequest>("application/json", "*/*")
            .ProducesNrpErrors(StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status422UnprocessableEntity,
                StatusCodes.Status500InternalServerError, StatusCodes.Status502BadGateway, StatusCodes.Status503ServiceUnavailable);

        group.MapGet("", List)
            .WithName("ListSimulations")
            .WithSummary("Every simulation of this process, in id order (finished ones included). Open to all callers.");

        group.MapGet("/{id:int:min(0)}", GetAsync)
            .WithName("GetSimulation")
            .WithSummary("One simulation.")
            .ProducesNrpErrors(StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden);

        // The services the polled route needs are singletons, taken once here rather than from each request.
        var manager = app.ServiceProvider.GetRequiredService<ISimulationManager>();
        var callers = app.ServiceProvider.GetRequiredService<CallerResolver>();
        var loggers = app.ServiceProvider.GetRequiredService<ILoggerFactory>();
        group.MapGet("/{id:int:min(0)}/state", (int id, HttpRequest request) => GetStateAsync(id, request, manager, callers, loggers))
            .WithName("GetSimulationState")
            .WithSummary("A simulation's state.")
            .ProducesNrpErrors(StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden);

        group.MapGet("/{id:int:min(0)}/profile", GetProfileAsync)
            .WithName("GetSimulationProfile")
            .WithSummary("The step-latency profile of a simulation created with \"profile\": true (microseconds per phase, engine and function); kept until it is stopped. 404 when it has none.")
            .ProducesNrpErrors(StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden);

        group.MapPut("/{id:int:min(0)}/state", PutStateAsync)
            .WithName("SetSimulationState")
            .WithSummary("Starts, pauses, resumes or stops a simulation (owner only). Stopping returns once it is cleaned up.")
            .Accepts<StateRequest>("application/json", "*/*")
            .ProducesNrpErrors(StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status413PayloadTooLarge,
                StatusCodes.Status500InternalServerError, StatusCodes.Status502BadGateway);

        return app;
    }

    internal static async Task<Results<Created<SimulationResponse>, BadRequest<ErrorResponse>, NotFound<ErrorResponse>, Conflict<ErrorResponse>, NrpErrorResult>> CreateAsync(
        HttpRequest request,
        ISimulationManager manager,
        CallerResolver callers,
        IOptions<ApiOptions> api,
        IOptions<MqttOptions> mqtt,
        ILoggerFactory loggers)
    {
        var cancellationToken = request.HttpContext.RequestAborted;
        var caller = await callers.ResolveAsync(request, cancellationToken).ConfigureAwait(false);
        if (caller.UserId is null)
        {
            // Only with a user directory: a simulation needs an owner who can later control it.
            return caller.DirectoryUnavailable is { } reason
                ? NrpErrorResult.BadGateway(ErrorResponse.DirectoryUnavailable(reason))
                : NrpErrorResult.Unauthorized(ErrorResponse.NotIdentified());
        }

        var (body, bodyError) = await JsonBody.ReadObjectAsync(request, api.Value.MaxRequestBodyBytes).ConfigureAwait(false);
        if (bodyError is not null)
        {
            return bodyError;
        }

        if (!CreateSimulationRequest.TryRead(body, out var create, out var invalid))
        {
            return TypedResults.BadRequest(invalid);
        }

        var logger = loggers.CreateLogger(LoggerCategory);
        var result = await manager.CreateAsync(
            new SimulationRequest(create!.ExperimentId)
            {
                ExperimentConfiguration = create.ExperimentConfiguration!,
                MainScript = create.MainScript!,
                ContextId = create.CtxId,
                Profile = create.Profile ?? false,
                Owner = caller.UserId,
                Token = caller.Token,
            },
            CancellationToken.None).ConfigureAwait(false);

        switch (result.Status)
        {
            case CreateSimulationStatus.Ready:
                var simulation = result.Simulation!;
                if (result.Warnings.Count == 0)
                {
                    ApiLog.SimulationCreated(logger, simulation.Id, simulation.ExperimentId, simulation.Owner);
                }
                else
                {
                    ApiLog.SimulationCreatedWithWarning(logger, simulation.Id, simulation.ExperimentId, simulation.Owner, string.Join(" ", result.Warnings));
                }

                return TypedResults.Created(
                    string.Create(CultureInfo.InvariantCulture, $"/simulation/{simulation.Id}"),
                    SimulationResponse.From(simulation, mqtt.Value.Prefix));
            case CreateSimulationStatus.Conflict:
                ApiLog.CreateRefused(logger, create.ExperimentId, result.Status, result.Message);
                return TypedResults.Conflict(ErrorResponse.AnotherSimulationRunning(result.Message));
            case CreateSimulationStatus.Unavailable:
                ApiLog.CreateRefused(logger, create.ExperimentId, result.Status, result.Message);
                return NrpErrorResult.ServiceUnavailable(new ErrorResponse(result.Message ?? "Python is not available", ErrorResponse.ServerErrorType));
            case CreateSimulationStatus.Stopped:
                ApiLog.CreateRefused(logger, create.ExperimentId, result.Status, result.Message);
                return TypedResults.Conflict(ErrorResponse.Client(result.Message ?? "The simulation was stopped while it was being created."));
            case CreateSimulationStatus.Invalid:
                ApiLog.CreateRefused(logger, create.ExperimentId, result.Status, result.Message);
                return TypedResults.BadRequest(ErrorResponse.Client(result.Message ?? "The request is invalid."));
            default:
                if (result.Fault == SimulationFault.ExperimentNotFound)
                {
                    // A client's mistake, not the host's failure: it is answered 404 and logged as a refusal.
                    ApiLog.CreateRefused(logger, create.ExperimentId, result.Status, result.Message);
                }
                else
                {
                    ApiLog.CreateFailed(logger, result.Simulation?.Id, create.ExperimentId, result.Fault, result.Message);
                }

                return CreateFailure(create.ExperimentId, create.ExperimentConfiguration!, result, callers.VerifiesIdentity);
        }
    }

    internal static Ok<SimulationResponse[]> List(ISimulationManager manager, IOptions<MqttOptions> mqtt)
    {
        var prefix = mqtt.Value.Prefix;
        return TypedResults.Ok(manager.List().Select(s => SimulationResponse.From(s, prefix)).ToArray());
    }

    internal static async Task<Results<Ok<SimulationResponse>, NotFound<ErrorResponse>, NrpErrorResult>> GetAsync(
        int id, HttpRequest request, ISimulationManager manager, CallerResolver callers, IOptions<MqttOptions> mqtt, ILoggerFactory loggers)
    {
        if (manager.Find(id) is not { } simulation)
        {
            return TypedResults.NotFound(ErrorResponse.SimulationNotFound());
        }

        var denied = await CheckViewAsync(request, simulation, callers, loggers).ConfigureAwait(false);
        return denied is null ? TypedResults.Ok(SimulationResponse.From(simulation, mqtt.Value.Prefix)) : denied;
    }

    internal static Task<Results<Ok<StateResponse>, NotFound<ErrorResponse>, NrpErrorResult>> GetStateAsync(
        int id, HttpRequest request, ISimulationManager manager, CallerResolver callers, ILoggerFactory loggers)
    {
        // The route every frontend polls: without a user directory nothing is checked, so it is one lock-free state
        // read and an answer made once per state.
        if (!callers.VerifiesIdentity)
        {
            return manager.StateOf(id) is { } state ? StateAnswers[(int)state] : NoSuchSimulation;
        }

        return GetStateCheckedAsync(id, request, manager, callers, loggers);
    }

    private static readonly Task<Results<Ok<StateResponse>, NotFound<ErrorResponse>, NrpErrorResult>>[] StateAnswers = AnswerEachState();

    private static readonly Task<Results<Ok<StateResponse>, NotFound<ErrorResponse>, NrpErrorResult>> NoSuchSimulation =
        Task.FromResult<Results<Ok<StateResponse>, NotFound<ErrorResponse>, NrpErrorResult>>(TypedResults.NotFound(ErrorResponse.SimulationNotFound()));

    /// <summary>The answer to <c>GET …/state</c> for each state, indexed by its value (answers hold nothing of a request).</summary>
    private static Task<Results<Ok<StateResponse>, NotFound<ErrorResponse>, NrpErrorResult>>[] AnswerEachState()
    {
        var states = Enum.GetValues<SimulationState>();
        var answers = new Task<Results<Ok<StateResponse>, NotFound<ErrorResponse>, NrpErrorResult>>[states.Max(s => (int)s) + 1];
        foreach (var state in states)
        {
            answers[(int)state] = Task.FromResult<Results<Ok<StateResponse>, NotFound<ErrorResponse>, NrpErrorResult>>(TypedResults.Ok(new StateResponse(state.ToWireName())));
        }

        return answers;
    }

    private static async Task<Results<Ok<StateResponse>, NotFound<ErrorResponse>, NrpErrorResult>> GetStateCheckedAsync(
        int id, HttpRequest request, ISimulationManager manager, CallerResolver callers, ILoggerFactory loggers)
    {
        if (manager.Find(id) is not { } simulation)
        {
            return TypedResults.NotFound(ErrorResponse.SimulationNotFound());
        }

        var denied = await CheckViewAsync(request, simulation, callers, loggers).ConfigureAwait(false);
        return denied is null ? TypedResults.Ok(new StateResponse(simulation.State.ToWireName())) : denied;
    }

    internal static async Task<Results<Ok<ProfileResponse>, NotFound<ErrorResponse>, NrpErrorResult>> GetProfileAsync(
        int id, HttpRequest request, ISimulationManager manager, CallerResolver callers, ILoggerFactory loggers)
    {
        if (manager.Find(id) is not { } simulation)
        {
            return TypedResults.NotFound(ErrorResponse.SimulationNotFound());
        }

        var denied = await CheckViewAsync(request, simulation, callers, loggers).ConfigureAwait(false);
        if (denied is not null)
        {
            return denied;
        }

        return await manager.ReadProfileAsync(id, request.HttpContext.RequestAborted).ConfigureAwait(false) is { } profile
            ? TypedResults.Ok(ProfileResponse.From(profile))
            : TypedResults.NotFound(ErrorResponse.NoProfile(id));
    }

    /// <summary>
    /// Checks in the NRP backend's order: unknown id (404), not the owner (401 without credentials, 403 otherwise),
    /// already final (400), no <c>state</c> (400), not a state (400), transition not possible (400).
    /// </summary>
    internal static async Task<Results<Ok<StateResponse>, BadRequest<ErrorResponse>, NotFound<ErrorResponse>, NrpErrorResult>> PutStateAsync(
        int id, HttpRequest request, ISimulationManager manager, CallerResolver callers, IOptions<ApiOptions> api, ILoggerFactory loggers)
    {
        if (manager.Find(id) is not { } simulation)
        {
            return TypedResults.NotFound(ErrorResponse.SimulationNotFound());
        }

        var logger = loggers.CreateLogger(LoggerCategory);
        var caller = await callers.ResolveAsync(request, request.HttpContext.RequestAborted).ConfigureAwait(false);
        switch (CallerResolver.CanModify(caller, simulation))
        {
            case AccessDecision.Unauthenticated:
                ApiLog.AccessDenied(logger, request.Method, request.Path.ToString(), nameof(AccessDecision.Unauthenticated), caller.ToString());
                return caller.DirectoryUnavailable is { } reason
                    ? NrpErrorResult.BadGateway(ErrorResponse.DirectoryUnavailable(reason))
                    : NrpErrorResult.Unauthorized(ErrorResponse.CannotModify());
            case AccessDecision.Forbidden:
                ApiLog.AccessDenied(logger, request.Method, request.Path.ToString(), nameof(AccessDecision.Forbidden), caller.ToString());
                return NrpErrorResult.Forbidden(ErrorResponse.CannotModify());
        }

        if (simulation.State.IsFinal())
        {
            return TypedResults.BadRequest(ErrorResponse.Finalized());
        }

        var (body, bodyError) = await JsonBody.ReadObjectAsync(request, api.Value.MaxRequestBodyBytes).ConfigureAwait(false);
        if (bodyError is not null)
        {
            return bodyError;
        }

        if (!StateRequest.TryRead(body, out var target, out var invalid))
        {
            return TypedResults.BadRequest(invalid);
        }

        if (target == SimulationState.Created)
        {
            // The NRP backend fails the simulation here; nothing can go back to created, so this is a plain refusal.
            return TypedResults.BadRequest(ErrorResponse.InvalidTransition(simulation.State.ToWireName(), target.ToWireName()));
        }

        // Not bound to the request: a stop that has begun runs to its end even if the client goes away.
        var result = await manager.RequestStateAsync(id, target, CancellationToken.None).ConfigureAwait(false);
        if (result.Succeeded)
        {
            ApiLog.StateRequested(logger, id, caller.ToString(), target, result.State, result.Status);
            return TypedResults.Ok(new StateResponse(result.State.ToWireName()));
        }

        ApiLog.StateRefused(logger, id, caller.ToString(), target, result.Status, result.Message);
        return result.Status switch
        {
            StateChangeStatus.NotFound => TypedResults.NotFound(ErrorResponse.SimulationNotFound()),
            StateChangeStatus.Finalized => TypedResults.BadRequest(ErrorResponse.Finalized()),
            StateChangeStatus.InvalidTransition => TypedResults.BadRequest(result.Message is { } detail
                ? ErrorResponse.InvalidTransition(detail)
                : ErrorResponse.InvalidTransition(result.State.ToWireName(), target.ToWireName())),
            _ => NrpErrorResult.ServerError(ErrorResponse.Internal(result.Message ?? "the state change failed")),
        };
    }

    internal static async ValueTask<NrpErrorResult?> CheckViewAsync(
        HttpRequest request, SimulationSnapshot simulation, CallerResolver callers, ILoggerFactory loggers)
    {
        var decision = await callers.CanViewAsync(request, simulation, request.HttpContext.RequestAborted).ConfigureAwait(false);
        if (decision == AccessDecision.Allowed)
        {
            return null;
        }

        ApiLog.AccessDenied(loggers.CreateLogger(LoggerCategory), request.Method, request.Path.ToString(), decision.ToString(), "(token)");
        return decision == AccessDecision.Unauthenticated
            ? NrpErrorResult.Unauthorized(ErrorResponse.CannotView())
            : NrpErrorResult.Forbidden(ErrorResponse.CannotView());
    }

    private static Results<Created<SimulationResponse>, BadRequest<ErrorResponse>, NotFound<ErrorResponse>, Conflict<ErrorResponse>, NrpErrorResult> CreateFailure(
        string experimentId, string configurationFile, CreateSimulationResult result, bool proxyStorage)
    {
        var cause = result.Message ?? "unknown error";
        var storage = proxyStorage ? "the NRP Storage Proxy" : "the local experiment folder";
        return result.Fault switch
        {
            SimulationFault.ExperimentNotFound => TypedResults.NotFound(ErrorResponse.Client($"The experiment '{experimentId}' was not found in {storage}")),
            SimulationFault.Unauthorized => NrpErrorResult.Unauthorized(ErrorResponse.Client($"The credentials were not accepted by {storage}", cause)),
            SimulationFault.Forbidden => NrpErrorResult.Forbidden(ErrorResponse.Client($"Insufficient permissions to access the experiment '{experimentId}' in {storage}", cause)),
            SimulationFault.ConfigurationNotFound => TypedResults.BadRequest(ErrorResponse.Client(
                $"The experiment '{experimentId}' has no configuration file '{configurationFile}': every experiment needs one (see the README's 'Write your own experiment')", cause)),
            SimulationFault.ExperimentFileMissing => NrpErrorResult.BadGateway(new ErrorResponse(cause, ErrorResponse.ServerErrorType)),
            SimulationFault.StorageUnavailable => NrpErrorResult.BadGateway(new ErrorResponse($"The experiment storage ({storage}) is unavailable", ErrorResponse.ServerErrorType, cause)),
            SimulationFault.ConfigurationRefused => NrpErrorResult.UnprocessableEntity(ErrorResponse.Client($"The experiment '{experimentId}' cannot be run as configured: {cause}", cause)),
            _ => NrpErrorResult.ServerError(ErrorResponse.StartFailed(cause)),
        };
    }
}
