using NrpHost.Api.Contracts;

namespace NrpHost.Api.Http;

/// <summary>
/// An NRP error body with any status code, for the codes that have no typed result with a body in ASP.NET Core
/// (401, 403, 413, 500, 502). Endpoints declare which of those codes they can answer with
/// <see cref="NrpErrorResultExtensions.ProducesNrpErrors"/>, so OpenAPI lists them.
/// </summary>
internal sealed class NrpErrorResult(int statusCode, ErrorResponse error)
    : IResult, IStatusCodeHttpResult, IValueHttpResult, IValueHttpResult<ErrorResponse>, IContentTypeHttpResult
{
    public int StatusCode { get; } = statusCode;

    int? IStatusCodeHttpResult.StatusCode => StatusCode;

    public ErrorResponse Value { get; } = error;

    object? IValueHttpResult.Value => Value;

    public string ContentType => "application/json; charset=utf-8";

    public static NrpErrorResult Unauthorized(ErrorResponse error) => new(StatusCodes.Status401Unauthorized, error);

    public static NrpErrorResult Forbidden(ErrorResponse error) => new(StatusCodes.Status403Forbidden, error);

    public static NrpErrorResult BadGateway(ErrorResponse error) => new(StatusCodes.Status502BadGateway, error);

    public static NrpErrorResult UnprocessableEntity(ErrorResponse error) => new(StatusCodes.Status422UnprocessableEntity, error);

    public static NrpErrorResult ServerError(ErrorResponse error) => new(StatusCodes.Status500InternalServerError, error);

    public static NrpErrorResult ServiceUnavailable(ErrorResponse error) => new(StatusCodes.Status503ServiceUnavailable, error);

    public static NrpErrorResult TooManyRequests(ErrorResponse error) => new(StatusCodes.Status429TooManyRequests, error);

    public Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        httpContext.Response.StatusCode = StatusCode;
        return httpContext.Response.WriteAsJsonAsync(Value, NrpJsonContext.Wire.ErrorResponse, ContentType, httpContext.RequestAborted);
    }
}

/// <summary>Declares an endpoint's NRP error codes for OpenAPI.</summary>
internal static class NrpErrorResultExtensions
{
    public static RouteHandlerBuilder ProducesNrpErrors(this RouteHandlerBuilder builder, params int[] statusCodes)
    {
        foreach (var statusCode in statusCodes)
        {
            builder.Produces<ErrorResponse>(statusCode, "application/json");
        }

        return builder;
    }
}
