namespace NrpHost.Python;

/// <summary>
/// Where NrpHost finds CPython. Every value is optional: on a normal Linux machine the shared
/// library is found without configuration.
/// </summary>
public sealed class PythonOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "NrpHost:Python";

    /// <summary>
    /// Full path of the CPython shared library (for example <c>/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0</c>).
    /// When set, it is the only place tried.
    /// </summary>
    public string? Library { get; set; }

    /// <summary>
    /// The Python executable asked for its <c>sysconfig</c> library directory when no library is configured.
    /// It also becomes <c>sys.executable</c> for scripts. Default <c>python3</c> (looked up on <c>PATH</c>).
    /// </summary>
    public string Executable { get; set; } = "python3";

    /// <summary>
    /// Folder that holds the Python packages shipped with NrpHost.Core (the embedded nrp-core runtime and the
    /// host helpers). Default: <c>nrphost-python</c> next to the application.
    /// </summary>
    public string? PackagesPath { get; set; }

    /// <summary>
    /// How often, in milliseconds, buffered Python output (<c>print</c>, <c>logging</c>) is moved into
    /// <c>ILogger</c>. Output is also moved when a script ends.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(10, 60_000)]
    public int OutputDrainIntervalMilliseconds { get; set; } = 200;

    /// <summary>
    /// Initialise CPython when the host starts instead of when the first simulation needs it. A failure is logged
    /// and shown by the health report; it never stops the host.
    /// </summary>
    public bool InitializeAtStartup { get; set; }

    /// <summary>An interpreter already located (by the host, for a worker process): used as it is, without looking.</summary>
    internal PythonInstallation? Installation { get; set; }

    /// <summary>The folder of the shipped Python packages: <see cref="PackagesPath"/>, or <c>nrphost-python</c> next to the application.</summary>
    internal string ResolvePackagesPath() => PackagesPath is { Length: > 0 } path
        ? Path.GetFullPath(path)
        : Path.Combine(AppContext.BaseDirectory, "nrphost-python");
}
