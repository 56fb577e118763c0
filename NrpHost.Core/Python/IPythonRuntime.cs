namespace NrpHost.Python;

/// <summary>
/// The process-wide embedded CPython interpreter. It is initialised once, the first time it is needed, and
/// never shut down and re-initialised.
/// </summary>
public interface IPythonRuntime
{
    /// <summary>
    /// Initialises CPython if that has not happened yet. Safe to call from many threads at once.
    /// </summary>
    /// <exception cref="PythonNotAvailableException">CPython could not be found or loaded.</exception>
    void EnsureInitialized();

    /// <summary>
    /// Locates CPython (without loading it) if it is not initialised yet, and reports what is known.
    /// </summary>
    PythonRuntimeStatus GetStatus();
}
