// Design note: the interpreter and the GIL
// ----------------------------------------
// CPython is initialised once per process (pythonnet cannot shut down and re-initialise) and the
// initialising thread gives the GIL away at once with BeginAllowThreads, so that any thread can take it
// later with Py.GIL(). Rules every caller in NrpHost follows:
//  * Each simulation's script runs on its own dedicated thread and holds the GIL only while Python runs.
//    Every .NET method that Python calls runs *without* the GIL (pythonnet releases it), so a host wait
//    (the pause gate) never blocks other Python threads; a callback that touches a PyObject must take
//    Py.GIL() again first.
//  * Request threads never run user Python. They take the GIL only for short host operations (raising
//    the stop exception in a script thread, reading counters) and always dispose Py.GIL() on the thread
//    that acquired it.
//  * Output is buffered on the Python side (nrphost._output) and drained here on one background thread,
//    so a print never costs a .NET call.
//  * User code never runs through anything that calls Py_Exit on SystemExit (no RunSimpleString).
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Python.Runtime;

namespace NrpHost.Python;

/// <summary>
/// Owns the process-wide interpreter: locates libpython, initialises CPython once, puts the shipped packages
/// on <c>sys.path</c>, and pumps Python output into <see cref="ILogger"/>.
/// </summary>
internal sealed partial class PythonRuntime : IPythonRuntime, IDisposable
{
    private static readonly Lock ProcessLock = new();
    private static PythonInstallation? s_installation;
    private static string? s_version;
    private static Exception? s_initFailure;
    private static string? s_unusable;
    private static Thread? s_drainThread;
    private static volatile bool s_exiting;
    private static readonly List<PythonRuntime> Sinks = [];

    private readonly PythonOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly Func<string, string?> _environment;
    private readonly Lock _instanceLock = new();
    private PythonInstallation? _located;
    private Exception? _locateFailure;
    private bool _registered;

    public PythonRuntime(IOptions<PythonOptions> options, ILoggerFactory loggerFactory)
        : this(options.Value, loggerFactory, Environment.GetEnvironmentVariable)
    {
    }

    internal PythonRuntime(PythonOptions options, ILoggerFactory loggerFactory, Func<string, string?> environment)
    {
        _options = options;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("NrpHost.Python");
        _environment = environment;
    }

    /// <summary>The folder of the Python packages shipped with NrpHost.Core.</summary>
    internal string PackagesPath => _options.ResolvePackagesPath();

    public void EnsureInitialized()
    {
        lock (ProcessLock)
        {
            if (s_initFailure is not null)
            {
                throw new PythonNotAvailableException(s_initFailure.Message, s_initFailure);
            }

            if (s_unusable is not null)
            {
                throw new PythonNotAvailableException(s_unusable);
            }

            if (s_installation is null)
            {
                var installation = Locate();
                Initialize(installation);
            }

            if (!_registered)
            {
                Sinks.Add(this);
                _registered = true;
            }
        }
    }

    public PythonRuntimeStatus GetStatus()
    {
        lock (ProcessLock)
        {
            if (s_installation is { } running)
            {
                return new PythonRuntimeStatus
                {
                    State = s_unusable is null ? PythonRuntimeState.Ready : PythonRuntimeState.Failed,
                    Version = s_version,
                    Library = running.Library,
                    Executable = running.Executable,
                    Home = running.Home,
                    Error = s_unusable,
                };
            }

            if (s_initFailure is not null)
            {
                return new PythonRuntimeStatus { State = PythonRuntimeState.Failed, Error = s_initFailure.Message };
            }
        }

        try
        {
            var found = Locate();
            return new PythonRuntimeStatus { State = PythonRuntimeState.NotInitialized, Library = found.Library, Executable = found.Executable, Home = found.Home };
        }
        catch (PythonNotAvailableException ex)
        {
            return new PythonRuntimeStatus { State = PythonRuntimeState.Failed, Error = ex.Message };
        }
    }

    private PythonInstallation Locate()
    {
        lock (_instanceLock)
        {
            if (_located is not null)
            {
                return _located;
            }

            if (_locateFailure is not null)
            {
                throw new PythonNotAvailableException(_locateFailure.Message, _locateFailure);
            }

            try
            {
                // A worker process is given what its host located; it does not ask the executable again.
                _located = _options.Installation ?? PythonLocator.Locate(_options, _environment);
                return _located;
            }
            catch (PythonNotAvailableException ex)
            {
                _locateFailure = ex;
                LogPythonNotFound(_logger, ex.Message);
                throw;
            }
        }
    }

    private void Initialize(PythonInstallation installation)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            Runtime.PythonDLL = installation.Library;
            if (installation.Home is { Length: > 0 } home)
            {
                PythonEngine.PythonHome = home;
            }

            // Registered before pythonnet registers its own shutdown, so it runs first at process exit.
            AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
            PythonEngine.Initialize(setSysArgv: false, initSigs: false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            s_initFailure = new PythonNotAvailableException(
                $"CPython from '{installation.Library}' ({installation.Source}) could not be loaded: {ex.Message}. " +
                "Make sure it is a CPython 3.11-3.13 shared library that matches this machine's architecture, " +
                "or point NrpHost:Python:Library at another one.",
                ex);
            LogPythonNotFound(_logger, s_initFailure.Message);
            throw (PythonNotAvailableException)s_initFailure;
        }

        try
        {
            var packages = PackagesPath;
            using (Py.GIL())
            {
                using var sys = Py.Import("sys");
                if (installation.Executable is { Length: > 0 } exe)
                {
                    using var pyExe = new PyString(exe);
                    sys.SetAttr("executable", pyExe);
                    sys.SetAttr("_base_executable", pyExe);
                }

                using var path = sys.GetAttr("path");
                using var pyPackages = new PyString(packages);
                if (!path.InvokeMethod("__contains__", pyPackages).IsTrue())
                {
                    using var zero = new PyInt(0);
                    path.InvokeMethod("insert", zero, pyPackages).Dispose();
                }

                using var output = Py.Import("nrphost._output");
                output.InvokeMethod("install").Dispose();
                using var containment = Py.Import("nrphost._containment");
                containment.InvokeMethod("install").Dispose();
                using var version = sys.GetAttr("version_info");
                s_version = $"{version[0]}.{version[1]}.{version[2]}";
            }
        }
        finally
        {
            // Hand the GIL over: from now on any thread takes it with Py.GIL().
            PythonEngine.BeginAllowThreads();
        }

        s_installation = installation;
        var elapsedMs = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        LogPythonInitialized(_logger, s_version ?? "?", installation.Library, installation.Source, elapsedMs);

        s_drainThread = new Thread(DrainLoop)
        {
            IsBackground = true,
            Name = "NrpHost Python output",
        };
        s_drainThread.Start(Math.Max(10, _options.OutputDrainIntervalMilliseconds));
    }

    private static void DrainLoop(object? interval)
    {
        var period = TimeSpan.FromMilliseconds((int)interval!);
        while (!s_exiting)
        {
            Thread.Sleep(period);
            if (s_exiting)
            {
                return;
            }

            try
            {
                DrainOutput();
            }
            catch (PythonException)
            {
                // A failing drain loses nothing that a later one cannot pick up; keep pumping.
            }
        }
    }

    /// <summary>At process exit, the last output is moved into the loggers before pythonnet shuts Python down.</summary>
    private static void OnProcessExit(object? sender, EventArgs e)
    {
        s_exiting = true;
        s_drainThread?.Join(TimeSpan.FromSeconds(2));
        try
        {
            DrainOutput();
        }
        catch (Exception ex) when (ex is PythonException or InvalidOperationException)
        {
            // Exiting anyway.
        }
    }

    /// <summary>
    /// Held while one batch is taken and handed on, so that batches reach <see cref="OutputDrained"/> in the order they
    /// were printed, and a drain returns only once what was printed before it was handed on: a script's runtime error,
    /// reported after its thread drained, never overtakes the lines printed before it.
    /// </summary>
    private static readonly Lock DrainLock = new();

    /// <summary>
    /// Moves buffered Python output into the registered loggers. Takes the GIL; call it from a thread that
    /// does not hold it.
    /// </summary>
    internal static void DrainOutput()
    {
        lock (DrainLock)
        {
            DrainOutputInOrder();
        }
    }

    private static void DrainOutputInOrder()
    {
        List<(string Category, int Level, string Text)> entries;
        List<(string Category, long Count)> dropped;
        lock (ProcessLock)
        {
            if (s_installation is null || Sinks.Count == 0 || !PythonEngine.IsInitialized)
            {
                return;
            }
        }

        using (Py.GIL())
        {
            using var output = Py.Import("nrphost._output");
            using var drained = output.InvokeMethod("drain");
            using var lines = drained[0];
            using var cut = drained[1];
            var count = (int)lines.Length();
            entries = new List<(string, int, string)>(count);
            for (var i = 0; i < count; i++)
            {
                using var item = lines[i];
                using var category = item[0];
                using var level = item[1];
                using var text = item[2];
                entries.Add((category.As<string>(), level.As<int>(), text.As<string>()));
            }

            dropped = [];
            for (var i = 0; i < (int)cut.Length(); i++)
            {
                using var item = cut[i];
                using var category = item[0];
                using var n = item[1];
                dropped.Add((category.As<string>(), n.As<long>()));
            }
        }

        if (entries.Count == 0 && dropped.Count == 0)
        {
            return;
        }

        PythonRuntime[] sinks;
        lock (ProcessLock)
        {
            sinks = [.. Sinks];
        }

        CountDropped(dropped);
        foreach (var sink in sinks)
        {
            sink.Write(entries);
            sink.ReportDropped(dropped);
        }

        OutputDrained?.Invoke(entries, dropped);
    }

    /// <summary>Counts the lines the rate limit held back (<c>nrphost.python.output.dropped</c>).</summary>
    internal static void CountDropped(IEnumerable<(string Category, long Count)> dropped)
    {
        foreach (var (category, count) in dropped)
        {
            PythonMetrics.DroppedLines.Add(count, new KeyValuePair<string, object?>("category", "NrpHost." + category));
        }
    }

    /// <summary>
    /// Marks the interpreter as unusable (a simulation changed it in a way the host could not undo): it stays up for
    /// what runs, but no new simulation is started in it, and the health report says why. Only a restart clears it.
    /// </summary>
    internal static void MarkUnusable(string reason)
    {
        lock (ProcessLock)
        {
            s_unusable ??= reason;
        }
    }

    private void ReportDropped(List<(string Category, long Count)> dropped) => LogDropped(_loggerFactory, dropped);

    /// <summary>Logs how many lines of each category the rate limit held back (also for a worker process's output).</summary>
    internal static void LogDropped(ILoggerFactory loggerFactory, IEnumerable<(string Category, long Count)> dropped)
    {
        foreach (var (category, count) in dropped)
        {
            LogOutputDropped(loggerFactory.CreateLogger("NrpHost." + category), count, PythonOutputRate);
        }
    }

    /// <summary>
    /// Raised on the thread that drains (outside the GIL) with every batch of Python output, after it was logged:
    /// <c>(category, Python logging level, text)</c> per line, oldest first, then how many lines of each category the
    /// rate limit held back. Handlers must return quickly.
    /// </summary>
    internal static event Action<IReadOnlyList<(string Category, int Level, string Text)>, IReadOnlyList<(string Category, long Count)>>? OutputDrained;

    private void Write(List<(string Category, int Level, string Text)> entries) => LogOutput(_loggerFactory, entries);

    /// <summary>Logs Python output lines, each under <c>NrpHost.&lt;category&gt;</c> at its level (also for a worker process's output).</summary>
    internal static void LogOutput(ILoggerFactory loggerFactory, IEnumerable<(string Category, int Level, string Text)> entries)
    {
        foreach (var (category, level, text) in entries)
        {
            var logger = loggerFactory.CreateLogger("NrpHost." + category);
            var logLevel = ToLogLevel(level);
            if (logger.IsEnabled(logLevel))
            {
                LogPythonOutput(logger, logLevel, text);
            }
        }
    }

    internal static LogLevel ToLogLevel(int pythonLevel) => pythonLevel switch
    {
        >= 50 => LogLevel.Critical,
        >= 40 => LogLevel.Error,
        >= 30 => LogLevel.Warning,
        >= 20 => LogLevel.Information,
        >= 10 => LogLevel.Debug,
        _ => LogLevel.Trace,
    };

    public void Dispose()
    {
        lock (ProcessLock)
        {
            Sinks.Remove(this);
        }
    }

    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "CPython {Version} initialised from {Library} (found by {Source}) in {ElapsedMs:F0} ms")]
    private static partial void LogPythonInitialized(ILogger logger, string version, string library, string source, double elapsedMs);

    [LoggerMessage(EventId = 201, Level = LogLevel.Error, Message = "Python is not available: {Reason}")]
    private static partial void LogPythonNotFound(ILogger logger, string reason);

    /// <summary>Lines a second of one category forwarded to the logger (Python's <c>_output.RATE_LINES</c>).</summary>
    private const int PythonOutputRate = 1000;

    [LoggerMessage(EventId = 203, Level = LogLevel.Warning, Message = "{Count} lines of output were not forwarded to the log: more than {Rate} lines a second (the simulation log file keeps them, up to its size limit)")]
    private static partial void LogOutputDropped(ILogger logger, long count, int rate);

    [LoggerMessage(EventId = 202, Message = "{Text}")]
    private static partial void LogPythonOutput(ILogger logger, LogLevel level, string text);
}
