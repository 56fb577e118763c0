using Python.Runtime;

namespace NrpHost.Simulation;

/// <summary>
/// The .NET side of <c>nrphost.runner.Session</c>: one simulation's compiled script, nrp-core client and log
/// files. Every method takes the GIL itself. All but the static ones are called on the simulation's own thread.
/// </summary>
internal sealed partial class ScriptSession
{
    private readonly PyObject _session;
    private readonly string _mainScript;
    private readonly int _simulationId;

    private readonly IReadOnlyList<string> _clientRoots;

    private ScriptSession(PyObject session, int simulationId, string mainScript, IReadOnlyList<string> clientRoots)
    {
        _clientRoots = clientRoots;
        _session = session;
        _simulationId = simulationId;
        _mainScript = mainScript;
    }

    /// <summary>Creates the session and its log files.</summary>
    public static ScriptSession Create(
        int simulationId, string directory, string mainScript, ControlBlock control, Action wait, long maxSteps, long logLimit, IReadOnlyList<string> extraPythonPath)
    {
        using (Py.GIL())
        {
            if (extraPythonPath.Count > 0)
            {
                using var sys = Py.Import("sys");
                using var path = sys.GetAttr("path");
                // In front, so the configured client wins over any installed package of the same name.
                foreach (var entry in extraPythonPath.Reverse())
                {
                    using var item = new PyString(entry);
                    while (path.InvokeMethod("__contains__", item).IsTrue())
                    {
                        path.InvokeMethod("remove", item).Dispose();
                    }

                    using var zero = new PyInt(0);
                    path.InvokeMethod("insert", zero, item).Dispose();
                }
            }

            using var runner = Py.Import("nrphost.runner");
            using var id = new PyInt(simulationId);
            using var dir = new PyString(directory);
            using var script = new PyString(mainScript);
            using var address = new PyInt((long)control.Address);
            using var waitFn = wait.ToPython();
            using var max = new PyInt(maxSteps);
            using var limit = new PyInt(logLimit);
            var session = runner.InvokeMethod("Session", id, dir, script, address, waitFn, max, limit);
            try
            {
                session.InvokeMethod("open_logs").Dispose();
            }
            catch
            {
                session.Dispose();
                throw;
            }

            return new ScriptSession(session, simulationId, mainScript, extraPythonPath);
        }
    }

    /// <summary>Reads and compiles the script; a report when that fails.</summary>
    public SimulationError? Load()
    {
        using (Py.GIL())
        {
            using var report = _session.InvokeMethod("load");
            return ToError(report);
        }
    }

    /// <summary>Constructs and initialises the nrp-core client; a report when that fails.</summary>
    public SimulationError? CreateClient(string factory, string address, string configFile, string arguments)
    {
        using (Py.GIL())
        {
            using var f = new PyString(factory);
            using var a = new PyString(address);
            using var c = new PyString(configFile);
            using var o = new PyString(arguments);
            using var roots = new PyList(_clientRoots.Select(r => (PyObject)new PyString(r)).ToArray());
            using var report = _session.InvokeMethod("create_client", f, a, c, o, roots);
            return ToError(report);
        }
    }

    /// <summary>Runs the script to its end. Returns whether it ended because of a stop, and its fault if any.</summary>
    public (bool Stopped, SimulationError? Error) Run()
    {
        using (Py.GIL())
        {
            using var result = _session.InvokeMethod("run");
            using var stopped = result[0];
            using var report = result[1];
            return (stopped.IsTrue(), ToError(report));
        }
    }

    /// <summary>Shuts the client down; the error text when that fails.</summary>
    public string? ShutdownClient()
    {
        using (Py.GIL())
        {
            using var error = _session.InvokeMethod("shutdown_client");
            return error.IsNone() ? null : error.As<string>();
        }
    }

    /// <summary>
    /// Raises the stop signal in the simulation thread when it runs user code (see <see cref="ControlBlock.InUserCode"/>).
    /// Takes the GIL: while it is held the simulation thread cannot run, so the flag cannot change between the check and
    /// the raise. True when the signal was raised.
    /// </summary>
    public static bool Interrupt(ControlBlock control)
    {
        using (Py.GIL())
        {
            var thread = control.PythonThreadId;
            if (thread == 0 || !control.InUserCode)
            {
                return false;
            }

            using var runner = Py.Import("nrphost.runner");
            using var id = new PyInt(thread);
            runner.InvokeMethod("interrupt", id).Dispose();
            return true;
        }
    }

    /// <summary>
    /// Where the simulation thread is in the experiment's own files (innermost frame): <c>(file, line, function)</c>
    /// with the file relative to <paramref name="directory"/>, or null when it runs none of them. Takes the GIL.
    /// </summary>
    public static CodeLocation? Where(long pythonThreadId, string directory)
    {
        using (Py.GIL())
        {
            using var runner = Py.Import("nrphost.runner");
            using var id = new PyInt(pythonThreadId);
            using var dir = new PyString(directory);
            using var where = runner.InvokeMethod("where", id, dir);
            if (where.IsNone())
            {
                return null;
            }

            using var file = where[0];
            using var line = where[1];
            using var function = where[2];
            return new CodeLocation(file.As<string>(), line.As<int>(), function.As<string>());
        }
    }

    /// <summary>A report for an exception that escaped the Python side (a host fault, not the script's).</summary>
    public static SimulationError HostFault(int simulationId, string mainScript, string errorType, Exception exception)
    {
        // The message only (the traceback, with the host's paths, goes to the log).
        var message = exception is PythonException python ? $"{python.Type?.Name ?? "PythonException"}: {python.Message}" : $"{exception.GetType().Name}: {exception.Message}";
        return new SimulationError { SimulationId = simulationId, Message = message, ErrorType = errorType, FileName = mainScript };
    }

    /// <summary>
    /// Closes the session: ends the child processes the simulation started, gives the interpreter back (see
    /// <c>nrphost._containment</c>), closes the log files and releases Python's view of the control block.
    /// </summary>
    public SessionCloseReport Close()
    {
        using (Py.GIL())
        {
            try
            {
                using var report = _session.InvokeMethod("close");
                using var ended = report.GetItem("ended");
                using var threads = report.GetItem("threads");
                using var problems = report.GetItem("problems");
                return new SessionCloseReport(
                    Strings(ended, item =>
                    {
                        using var pid = item[0];
                        using var how = item[1];
                        return $"{pid.As<long>()} ({how.As<string>()})";
                    }),
                    Strings(threads, item => item.As<string>()),
                    Strings(problems, item => item.As<string>()));
            }
            finally
            {
                _session.Dispose();
            }
        }
    }

    /// <summary>Tells the Python side that the host gave up on the simulation's thread. Takes the GIL.</summary>
    public static void Abandon(int simulationId)
    {
        using (Py.GIL())
        {
            using var containment = Py.Import("nrphost._containment");
            using var id = new PyInt(simulationId);
            containment.InvokeMethod("abandon", id).Dispose();
        }
    }

    /// <summary><c>{simulation id: [thread names]}</c> of threads that ended simulations started and that still run. Takes the GIL.</summary>
    public static IReadOnlyDictionary<int, IReadOnlyList<string>> LeftoverThreads()
    {
        using (Py.GIL())
        {
            using var containment = Py.Import("nrphost._containment");
            using var found = containment.InvokeMethod("leftover_threads");
            using var items = found.InvokeMethod("items");
            using var list = PyList.AsList(items);
            var result = new Dictionary<int, IReadOnlyList<string>>();
            for (var i = 0; i < (int)list.Length(); i++)
            {
                using var pair = list[i];
                using var owner = pair[0];
                using var names = pair[1];
                result[owner.As<int>()] = Strings(names, item => item.As<string>());
            }

            return result;
        }
    }

    private static List<string> Strings(PyObject sequence, Func<PyObject, string> read)
    {
        var result = new List<string>();
        for (var i = 0; i < (int)sequence.Length(); i++)
        {
            using var item = sequence[i];
            result.Add(read(item));
        }

        return result;
    }

    private SimulationError? ToError(PyObject report)
    {
        if (report.IsNone())
        {
            return null;
        }

        string Text(string key)
        {
            using var value = report.GetItem(key);
            return value.IsNone() ? string.Empty : value.As<string>();
        }

        int Int(string key)
        {
            using var value = report.GetItem(key);
            return value.IsNone() ? -1 : value.As<int>();
        }

        bool Has(string key)
        {
            using var name = new PyString(key);
            using var found = report.InvokeMethod("__contains__", name);
            return found.IsTrue();
        }

        int? Errno()
        {
            if (!Has("errno"))
            {
                return null;
            }

            using var value = report.GetItem("errno");
            return value.IsNone() ? null : value.As<int>();
        }

        var fileName = Text("fileName");
        return new SimulationError
        {
            ExceptionType = Has("exception") ? Text("exception") : null,
            Refusal = Has("refusal") ? Text("refusal") : null,
            Errno = Errno(),
            SimulationId = _simulationId,
            Message = Text("msg"),
            ErrorType = Text("error_type"),
            FileName = fileName.Length > 0 ? fileName : _mainScript,
            LineNumber = Int("line_number"),
            Offset = Int("offset"),
            LineText = Text("line_text"),
        };
    }
}

/// <summary>A place in an experiment file: the file relative to the experiment, the line and the function.</summary>
internal readonly record struct CodeLocation(string File, int Line, string Function)
{
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{File} line {Line}, in {Function}");
}

/// <summary>What closing a session found: child processes it ended, its threads still running, what could not be restored.</summary>
internal sealed record SessionCloseReport(IReadOnlyList<string> EndedChildren, IReadOnlyList<string> RunningThreads, IReadOnlyList<string> Problems);
