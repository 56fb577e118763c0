using NrpHost.Api.Contracts;
using NrpHost.Api.Http;
using NrpHost.Api.Identity;
using NrpHost.Storage;

namespace NrpHost.Api.Endpoints;

/// <summary>
/// <c>GET /experiments</c>: the experiments the caller can launch (not part of the NRP backend's contract; the NRP
/// Frontend asks the Storage Proxy instead). Local storage lists its folders to anyone; with the NRP Storage Proxy the
/// list is the proxy's <c>/storage/experiments</c> for the caller's token, which is then required.
/// </summary>
internal static class ExperimentEndpoints
{
    private const string LoggerCategory = "NrpHost.Api";

    public static IEndpointRouteBuilder MapExperimentEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/experiments", ListAsync)
            .WithName("ListExperiments")
            .WithTags("Experiments")
            .WithSummary("The experiments the caller can launch: id (the experimentID to POST), name, description and configuration files.")
            .ProducesNrpErrors(StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status500InternalServerError,
                StatusCodes.Status502BadGateway);
        return app;
    }

    internal static async Task<Results<Ok<ExperimentResponse[]>, NrpErrorResult>> ListAsync(
        HttpRequest request, IExperimentStorage storage, CallerResolver callers, ILoggerFactory loggers)
    {
        var token = CallerResolver.ReadToken(request);
        if (callers.VerifiesIdentity && token is null)
        {
            return NrpErrorResult.Unauthorized(ErrorResponse.NotIdentified());
        }

        try
        {
            var experiments = await storage.ListAsync(token, request.HttpContext.RequestAborted).ConfigureAwait(false);
            return TypedResults.Ok(experiments.Select(ExperimentResponse.From).ToArray());
        }
        catch (ExperimentStorageException ex)
        {
            ApiLog.ListExperimentsFailed(loggers.CreateLogger(LoggerCategory), ex.Error, ex.Message);
            var storageName = callers.VerifiesIdentity ? "the NRP Storage Proxy" : "the local experiment folder";
            return ex.Error switch
            {
                ExperimentStorageError.Unauthorized => NrpErrorResult.Unauthorized(ErrorResponse.Client($"The credentials were not accepted by {storageName}", ex.Message)),
                ExperimentStorageError.Forbidden => NrpErrorResult.Forbidden(ErrorResponse.Client($"The experiments could not be listed: {storageName} refused access", ex.Message)),
                // A proxy that has no such route is as unusable as one that does not answer.
                ExperimentStorageError.Unavailable or ExperimentStorageError.NotFound => NrpErrorResult.BadGateway(new ErrorResponse(
                    $"The experiment storage ({storageName}) is unavailable", ErrorResponse.ServerErrorType, ex.Message)),
                _ => NrpErrorResult.ServerError(ErrorResponse.Internal("the experiments could not be listed: " + ex.Message)),
            };
        }
    }
}
