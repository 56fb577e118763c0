namespace NrpHost.Python;

/// <summary>What is known about the embedded interpreter, for health reports.</summary>
public sealed record PythonRuntimeStatus
{
    /// <summary>Whether CPython was initialised, failed, or has not been needed yet.</summary>
    public required PythonRuntimeState State { get; init; }

    /// <summary>The Python version (for example <c>3.11.7</c>) once known.</summary>
    public string? Version { get; init; }

    /// <summary>The shared library that was (or would be) loaded.</summary>
    public string? Library { get; init; }

    /// <summary>The interpreter that <c>sys.executable</c> points at.</summary>
    public string? Executable { get; init; }

    /// <summary>Why Python is not usable, when it is not.</summary>
    public string? Error { get; init; }

    /// <summary>The interpreter's prefix (<c>PYTHONHOME</c>) when it was learnt, so a worker process need not ask again.</summary>
    internal string? Home { get; init; }
}

/// <summary>The life of the embedded interpreter.</summary>
public enum PythonRuntimeState
{
    /// <summary>Not initialised yet; it will be when the first simulation needs it.</summary>
    NotInitialized,

    /// <summary>Initialised and usable.</summary>
    Ready,

    /// <summary>Could not be found or loaded; see <see cref="PythonRuntimeStatus.Error"/>.</summary>
    Failed,
}
