using Microsoft.AspNetCore.WebUtilities;
using NrpHost.Api.Contracts;

namespace NrpHost.Api.Http;

/// <summary>
/// Makes every error an NRP error body (<c>{"message","type","data"}</c>, <c>application/json</c>): unknown routes
/// (404), wrong methods (405), requests Kestrel rejects (e.g. 413), and unhandled exceptions (500, without
/// internals; the exception is logged). The NRP Frontend calls <c>.json()</c> on every response.
/// </summary>
internal sealed class NrpErrorMiddleware(RequestDelegate next, ILogger<NrpErrorMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
        {
            ApiLog.BadRequest(logger, context.Request.Method, context.Request.Path.ToString(), ex.StatusCode, ex.Message);
            await WriteAsync(context, ex.StatusCode, ErrorResponse.Client(ex.Message)).ConfigureAwait(false);
            return;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is nobody to answer.
            return;
        }
#pragma warning disable CA1031 // Any fault of a handler becomes a 500 NRP error body instead of an empty or HTML page.
        catch (Exception ex) when (!context.Response.HasStarted)
#pragma warning restore CA1031
        {
            ApiLog.UnhandledException(logger, context.Request.Method, context.Request.Path.ToString(), ex);
            await WriteAsync(context, StatusCodes.Status500InternalServerError,
                ErrorResponse.Internal("the request could not be completed; see the server log.")).ConfigureAwait(false);
            return;
        }

        var response = context.Response;
        if (response.StatusCode >= 400 && !response.HasStarted && response.ContentLength is null && string.IsNullOrEmpty(response.ContentType))
        {
            await WriteAsync(context, response.StatusCode, DefaultError(response.StatusCode)).ConfigureAwait(false);
        }
    }

    private static ErrorResponse DefaultError(int statusCode) => statusCode switch
    {
        StatusCodes.Status404NotFound => ErrorResponse.Client("The command you requested was not found on this server"),
        StatusCodes.Status405MethodNotAllowed => ErrorResponse.Client("The method is not allowed for the requested URL."),
        < 500 => ErrorResponse.Client(ReasonPhrases.GetReasonPhrase(statusCode)),
        _ => ErrorResponse.Internal(ReasonPhrases.GetReasonPhrase(statusCode)),
    };

    private static Task WriteAsync(HttpContext context, int statusCode, ErrorResponse error)
    {
        var allow = context.Response.Headers.Allow;
        context.Response.Clear();
        context.Response.Headers.Allow = allow;
        context.Response.StatusCode = statusCode;
        return context.Response.WriteAsJsonAsync(error, NrpJsonContext.Wire.ErrorResponse, "application/json; charset=utf-8");
    }
}
