namespace NrpHost.Python;

/// <summary>What is known about the embedded interpreter, for health reports.</summary>
/// <param name="State">Whether CPython was initialised, failed, or has not been needed yet.</param>
/// <param name="Version">The Python version (for example <c>3.11.7</c>) once known.</param>
/// <param name="Library">The shared library that was (or would be) loaded.</param>
/// <param name="Executable">The interpreter that <c>sys.executable</c> points at.</param>
/// <param name="Error">Why Python is not usable, when it is not.</param>
public sealed record PythonRuntimeStatus(
    PythonRuntimeState State,
    string? Version,
    string? Library,
    string? Executable,
    string? Error);

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
