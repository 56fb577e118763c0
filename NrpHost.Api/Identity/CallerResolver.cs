using Microsoft.Extensions.Options;
using NrpHost.Simulation;
using NrpHost.Storage;

namespace NrpHost.Api.Identity;

/// <summary>Who sent a request: the bearer token (if any) and the user id it stands for (null when unknown).</summary>
/// <param name="Token">The token: the second word of <c>Authorization</c>.</param>
/// <param name="UserId">The caller's user id, or null when the caller could not be identified.</param>
/// <param name="DirectoryUnavailable">Why the user directory could not be asked, when that is why the caller is unidentified.</param>
internal sealed record Caller(string? Token, string? UserId, string? DirectoryUnavailable = null)
{
    public override string ToString() => UserId ?? "(unidentified)";
}

/// <summary>The outcome of an access check.</summary>
internal enum AccessDecision
{
    /// <summary>Go ahead.</summary>
    Allowed,

    /// <summary>No usable credentials (401).</summary>
    Unauthenticated,

    /// <summary>Credentials known, access refused (403).</summary>
    Forbidden,
}

/// <summary>
/// The one place that decides who the caller is and what it may do.
/// <list type="bullet">
/// <item>Token: the second whitespace-separated word of <c>Authorization</c> (the scheme is not checked, as in the NRP
/// backend); a header of one word carries no token.</item>
/// <item><c>X-User-Name</c> names the caller only with <see cref="ApiOptions.TrustUserNameHeader"/>.</item>
/// <item>With a configured <see cref="IUserDirectory"/> (the NRP Storage Proxy) the user id is the directory's answer
/// for the token (the directory remembers its answers for a short while); no token or an unknown token leaves the
/// caller unidentified.</item>
/// <item>Without one, with OpenID Connect (<c>NrpHost:Auth:Authority</c>), the user id is the verified token's
/// <c>preferred_username</c>, or its <c>sub</c> (the access gate has checked the token before).</item>
/// <item>Without either (local storage, open or with the API token) nobody can be told apart, so every caller is
/// <c>default-owner</c>, as in the NRP backend with no storage identity.</item>
/// <item>Viewing a simulation needs, with a configured directory, a token that may see its experiment; otherwise it is
/// open. Changing its state needs the owner.</item>
/// </list>
/// </summary>
internal sealed class CallerResolver
{
    public const string DefaultOwner = "default-owner";
    public const string UserNameHeader = "X-User-Name";

    private readonly IUserDirectory _directory;
    private readonly ApiOptions _options;
    private readonly Security.ApiAccess _access;
    private readonly ILogger _logger;

    public CallerResolver(IUserDirectory directory, IOptions<ApiOptions> options, Security.ApiAccess access, ILogger<CallerResolver> logger)
    {
        _directory = directory;
        _options = options.Value;
        _access = access;
        _logger = logger;
    }

    /// <summary>Whether identities are verified (by the Storage Proxy or the OpenID Connect issuer).</summary>
    public bool VerifiesIdentity => _access.VerifiesIdentity;

    /// <summary>The bearer token: the second word of <c>Authorization</c>, or null.</summary>
    public static string? ReadToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.Length == 0)
        {
            return null;
        }

        var words = header.Split((char[]?)null, 3, StringSplitOptions.RemoveEmptyEntries);
        return words.Length >= 2 ? words[1] : null;
    }

    public async ValueTask<Caller> ResolveAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var token = ReadToken(request);
        if (_options.TrustUserNameHeader
            && request.Headers[UserNameHeader].ToString() is { Length: > 0 } name
            && name != DefaultOwner)
        {
            return new Caller(token, name);
        }

        if (!_directory.IsConfigured)
        {
            return _access.UsesOpenIdConnect
                ? new Caller(token, Security.AuthSetup.UserOf(request.HttpContext.User))
                : new Caller(token, DefaultOwner);
        }

        if (token is null)
        {
            return new Caller(null, null);
        }

        try
        {
            return new Caller(token, await FindUserAsync(token, cancellationToken).ConfigureAwait(false));
        }
        catch (ExperimentStorageException ex) when (ex.Error == ExperimentStorageError.Unavailable)
        {
            return new Caller(token, null, ex.Message);
        }
    }

    /// <summary>Whether the caller may see <paramref name="simulation"/> (and its state).</summary>
    public async ValueTask<AccessDecision> CanViewAsync(HttpRequest request, SimulationSnapshot simulation, CancellationToken cancellationToken)
    {
        if (!_directory.IsConfigured)
        {
            return AccessDecision.Allowed;
        }

        var token = ReadToken(request);
        if (token is null)
        {
            return AccessDecision.Unauthenticated;
        }

        bool allowed;
        try
        {
            // The directory remembers its answers (refusals only briefly), so a blip does not lock anyone out for long.
            allowed = await _directory.CanViewAsync(token, simulation.ExperimentId, simulation.ContextId, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            ApiLog.ViewCheckFailed(_logger, simulation.ExperimentId, ex);
            allowed = false;
        }

        return allowed ? AccessDecision.Allowed : AccessDecision.Forbidden;
    }

    /// <summary>Whether <paramref name="caller"/> may change <paramref name="simulation"/>'s state: only its owner.</summary>
    public static AccessDecision CanModify(Caller caller, SimulationSnapshot simulation) =>
        caller.UserId is null ? AccessDecision.Unauthenticated
        : string.Equals(caller.UserId, simulation.Owner, StringComparison.Ordinal) ? AccessDecision.Allowed
        : AccessDecision.Forbidden;

    private async Task<string?> FindUserAsync(string token, CancellationToken cancellationToken)
    {
        try
        {
            var user = await _directory.FindUserIdAsync(token, cancellationToken).ConfigureAwait(false);
            return string.IsNullOrEmpty(user) ? null : user;
        }
        catch (ExperimentStorageException ex) when (ex.Error == ExperimentStorageError.Unavailable)
        {
            // Not remembered: the next request asks again.
            ApiLog.IdentityLookupFailed(_logger, ex);
            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Not remembered: the next request asks again.
            ApiLog.IdentityLookupFailed(_logger, ex);
            return null;
        }
    }
}
