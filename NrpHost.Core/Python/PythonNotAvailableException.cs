namespace NrpHost.Python;

/// <summary>
/// CPython could not be found or loaded. The message lists every place that was tried and how to fix it.
/// </summary>
public sealed class PythonNotAvailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public PythonNotAvailableException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public PythonNotAvailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the underlying cause.</summary>
    public PythonNotAvailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
