namespace NrpHost.Storage;

/// <summary>
/// Who a bearer token belongs to and what it may see, as the experiment storage decides. With local storage there
/// is no such authority: <see cref="IsConfigured"/> is false, no token resolves, and everything is visible.
/// </summary>
public interface IUserDirectory
{
    /// <summary>Whether a storage service backs identity and access (the NRP Storage Proxy).</summary>
    bool IsConfigured { get; }

    /// <summary>The user id of <paramref name="token"/>, or null when the token is not known.</summary>
    /// <exception cref="ExperimentStorageException">
    /// The directory could not be asked (<see cref="ExperimentStorageError.Unavailable"/>): nothing is known about the token.
    /// </exception>
    Task<string?> FindUserIdAsync(string token, CancellationToken cancellationToken = default);

    /// <summary>Whether the token's owner may see the experiment (in the given collab context).</summary>
    Task<bool> CanViewAsync(string token, string experimentId, string? contextId, CancellationToken cancellationToken = default);
}

/// <summary>Local storage: no identities, everything visible.</summary>
internal sealed class LocalUserDirectory : IUserDirectory
{
    public bool IsConfigured => false;

    public Task<string?> FindUserIdAsync(string token, CancellationToken cancellationToken = default) => Task.FromResult<string?>(null);

    public Task<bool> CanViewAsync(string token, string experimentId, string? contextId, CancellationToken cancellationToken = default) =>
        Task.FromResult(true);
}
