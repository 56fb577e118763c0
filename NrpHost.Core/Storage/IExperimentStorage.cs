namespace NrpHost.Storage;

/// <summary>Where experiments come from and where their log archives go.</summary>
public interface IExperimentStorage
{
    /// <summary>
    /// Copies the experiment's files into <paramref name="targetDirectory"/> (which exists and is empty), leaving
    /// out top-level <c>*.log</c>, <c>*.log.zip</c>, <c>logs/</c> and <c>__pycache__/</c>. Every file lands inside
    /// the target directory; a name that would not is refused with <see cref="ExperimentStorageException"/>.
    /// </summary>
    Task StageAsync(ExperimentLocation experiment, string targetDirectory, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores a file (a log archive) at the top level of the experiment, never over an existing one: when the name is
    /// taken, a suffix is added. Returns the name it was stored under.
    /// </summary>
    Task<string> UploadAsync(ExperimentLocation experiment, string fileName, Stream content, CancellationToken cancellationToken = default);
    /// <summary>
    /// The experiments the holder of <paramref name="token"/> can launch, in id order. Storage that knows no users
    /// ignores the token; the NRP Storage Proxy lists only what the token's user may see, and refuses an unknown token
    /// with <see cref="ExperimentStorageException"/> (<see cref="ExperimentStorageError.Unauthorized"/>).
    /// </summary>
    Task<IReadOnlyList<ExperimentSummary>> ListAsync(string? token, CancellationToken cancellationToken = default);

    /// <summary>
    /// Whether the experiment exists, asked before a simulation is made for it (so an unknown one uses no simulation
    /// id and writes nothing); null when this storage cannot tell without staging it (the default).
    /// </summary>
    Task<bool?> ExistsAsync(ExperimentLocation experiment, CancellationToken cancellationToken = default) => Task.FromResult<bool?>(null);
}

/// <summary>An experiment in storage and the credentials to reach it.</summary>
/// <param name="ExperimentId">The experiment's id (its folder name).</param>
public sealed record ExperimentLocation(string ExperimentId)
{
    /// <summary>The caller's bearer token, if any. Never printed.</summary>
    public string? Token { get; init; }

    /// <summary>The collab context id, if any.</summary>
    public string? ContextId { get; init; }

    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append("ExperimentId = ").Append(ExperimentId)
            .Append(", ContextId = ").Append(ContextId)
            .Append(", Token = ").Append(Token is null ? "(none)" : "(hidden)");
        return true;
    }
}

/// <summary>Why a storage operation failed.</summary>
public enum ExperimentStorageError
{
    /// <summary>The experiment or file does not exist.</summary>
    NotFound,

    /// <summary>The credentials were not accepted.</summary>
    Unauthorized,

    /// <summary>The credentials do not give access.</summary>
    Forbidden,

    /// <summary>A name from storage or from the request would land outside the simulation directory.</summary>
    InvalidPath,

    /// <summary>Storage could not be reached, timed out or failed.</summary>
    Unavailable,

    /// <summary>A file that storage listed for the experiment could not be fetched; the message names it.</summary>
    FileMissing,
}

/// <summary>A storage operation failed.</summary>
public sealed class ExperimentStorageException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ExperimentStorageException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public ExperimentStorageException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public ExperimentStorageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a reason.</summary>
    public ExperimentStorageException(ExperimentStorageError error, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Error = error;
    }

    /// <summary>Why it failed.</summary>
    public ExperimentStorageError Error { get; } = ExperimentStorageError.Unavailable;
}
