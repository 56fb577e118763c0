using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Polly;
using Refit;

namespace NrpHost.Storage;

/// <summary>
/// Runs calls of <see cref="IStorageProxyApi"/> and turns every failure into an <see cref="ExperimentStorageException"/>,
/// so no Refit, Polly or HTTP type leaves the storage folder. Timeouts and retries are the HTTP client's resilience
/// handler; the bound here also covers reading a response body.
/// </summary>
internal sealed class StorageProxyClient
{
    /// <summary>The name of the HTTP client (and its resilience pipeline).</summary>
    public const string HttpClientName = "NrpHost.StorageProxy";

    /// <summary>The token sent when the request had none (as the reference backend).</summary>
    public const string NoToken = "no_token";

    private readonly IServiceProvider _services;
    private readonly TimeProvider _time;

    public StorageProxyClient(IServiceProvider services, IOptions<ProxyStorageOptions> options, TimeProvider time)
    {
        _services = services;
        _time = time;
        Options = options.Value;
        ProxyUrl = ProxyStorageOptions.TryGetBaseUri(Options.ProxyUrl)?.ToString() ?? Options.ProxyUrl ?? "(not configured)";
    }

    public ProxyStorageOptions Options { get; }

    /// <summary>The configured proxy base, for messages.</summary>
    public string ProxyUrl { get; }

    public static string TokenOrSentinel(string? token) => string.IsNullOrWhiteSpace(token) ? NoToken : token;

    /// <summary>
    /// Calls the proxy. <paramref name="what"/> completes "… while <c>what</c>" in error messages. Cancellation by
    /// the caller is an <see cref="OperationCanceledException"/>; everything else an <see cref="ExperimentStorageException"/>.
    /// </summary>
    public async Task<T> CallAsync<T>(string what, Func<IStorageProxyApi, CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        // A typed Refit client per call: its HttpClient comes from the factory, so handlers are rotated as usual.
        var api = _services.GetRequiredService<IStorageProxyApi>();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(Options.TimeoutSeconds), _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, bound.Token);
        try
        {
            return await call(api, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (ApiRequestException ex) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The storage call was cancelled.", ex, cancellationToken);
        }
        catch (ExperimentStorageException)
        {
            throw;
        }
        catch (ApiException ex)
        {
            throw FromStatus((int)ex.StatusCode, what, ex);
        }
        catch (Exception ex) when (IsTransportFailure(ex))
        {
            throw Describe(ex, what);
        }
    }

    /// <summary>Whether <paramref name="exception"/> is a failure to talk to the proxy (Refit wraps those).</summary>
    private static bool IsTransportFailure(Exception exception) =>
        exception is ApiRequestException or HttpRequestException or ExecutionRejectedException or OperationCanceledException
            or IOException or System.Text.Json.JsonException;

    private ExperimentStorageException Describe(Exception exception, string what)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is Polly.Timeout.TimeoutRejectedException or OperationCanceledException)
            {
                return new ExperimentStorageException(ExperimentStorageError.Unavailable,
                    $"The storage proxy at {ProxyUrl} did not answer within {Options.TimeoutSeconds:0.###} s while {what}.", exception);
            }
        }

        var innermost = exception;
        while (innermost.InnerException is not null && innermost is ApiRequestException)
        {
            innermost = innermost.InnerException;
        }

        return new ExperimentStorageException(ExperimentStorageError.Unavailable,
            $"The storage proxy at {ProxyUrl} could not be reached while {what}: {innermost.Message}", exception);
    }

    /// <summary>The error for a non-success status of the proxy.</summary>
    public ExperimentStorageException FromStatus(int status, string what, Exception? inner = null) => status switch
    {
        477 or 401 => new ExperimentStorageException(ExperimentStorageError.Unauthorized,
            $"The storage proxy did not accept the token while {what} (status {status}); log in again.", inner),
        403 => new ExperimentStorageException(ExperimentStorageError.Forbidden,
            $"The storage proxy refused access while {what} (status 403): the experiment does not exist or is not shared with you.", inner),
        404 => new ExperimentStorageException(ExperimentStorageError.NotFound,
            $"The storage proxy found nothing while {what} (status 404).", inner),
        >= 200 and < 300 => new ExperimentStorageException(ExperimentStorageError.Unavailable,
            $"The storage proxy at {ProxyUrl} sent an answer that could not be read while {what} (status {status}).", inner),
        _ => new ExperimentStorageException(ExperimentStorageError.Unavailable,
            $"The storage proxy at {ProxyUrl} failed while {what} (status {status}).", inner),
    };
}
