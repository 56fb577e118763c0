using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using NrpHost.Python;
using NrpHost.Simulation;

namespace NrpHost.Isolation;

/// <summary>
/// Starts worker processes: <c>dotnet NrpHost.Worker.dll</c> (inside bubblewrap for <see cref="SimulationIsolation.Sandbox"/>)
/// with the located interpreter, the limits and an environment without the host's secrets. Every worker is started
/// from one thread that lives as long as the host: a worker asks to die with the thread that started it
/// (<c>PR_SET_PDEATHSIG</c>), so that thread must never end before the host does.
/// </summary>
internal sealed class WorkerLauncher
{
    /// <summary>Environment variables a worker does not get: the host's configuration and anything that looks like a secret.</summary>
    private static readonly string[] HiddenVariables = ["TOKEN", "SECRET", "PASSWORD", "PASSWD", "APIKEY", "API_KEY", "CREDENTIAL", "PRIVATE", "AUTH"];

    private static readonly BlockingCollection<Action> Spawns = [];
    private static readonly Lazy<Thread> SpawnThread = new(() =>
    {
        var thread = new Thread(() =>
        {
            foreach (var spawn in Spawns.GetConsumingEnumerable())
            {
                spawn();
            }
        })
        {
            IsBackground = true,
            Name = "NrpHost worker launcher",
        };
        thread.Start();
        return thread;
    });

    private readonly SimulationOptions _options;
    private readonly IPythonRuntime _python;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly SandboxPaths _paths;
    private readonly Func<bool> _relayMqtt;
    private readonly string? _embeddedRuntime;
    private readonly ProcessLimit _processLimit;

    public WorkerLauncher(
        SimulationOptions options, IPythonRuntime python, string pythonPackages, string? embeddedRuntime, SandboxPaths paths, Func<bool> relayMqtt, ILoggerFactory loggerFactory)
    {
        _embeddedRuntime = embeddedRuntime;
        _options = options;
        _python = python;
        PythonPackages = pythonPackages;
        _paths = paths;
        _relayMqtt = relayMqtt;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("NrpHost.Simulation");
        _processLimit = ProcessLimit.Create(options.Limits.Processes, _logger);
        if (ApplicationRunsWorkers && options.Worker.Assembly is not { Length: > 0 } && options.Worker.Dotnet is not { Length: > 0 }
            && IsSelfContained() && Environment.ProcessPath is { } application)
        {
            // A self-contained server has no 'dotnet' to run a framework-dependent worker with: it is its own worker.
            WorkerAssembly = application;
            _command = [application, WorkerArgument];
            return;
        }

        WorkerAssembly = options.Worker.Assembly is { Length: > 0 } configured
            ? Path.GetFullPath(configured)
            : Path.Combine(AppContext.BaseDirectory, "nrphost-worker", "NrpHost.Worker.dll");
        _command = FindDotnet(options.Worker.Dotnet) is { } dotnet ? [dotnet, WorkerAssembly] : null;
    }

    /// <summary>The first argument that makes an application that runs its own workers one (<c>&lt;app&gt; --nrphost-worker &lt;startup&gt;</c>).</summary>
    internal const string WorkerArgument = "--nrphost-worker";

    /// <summary>
    /// Set by an application whose entry point runs <see cref="WorkerProgram"/> when <see cref="WorkerArgument"/> is its
    /// first argument (the server's). Published self-contained, such an application starts itself as its workers.
    /// </summary>
    internal static bool ApplicationRunsWorkers { get; set; }

    /// <summary>Whether this application carries its own runtime (published self-contained): the runtime's files are the application's.</summary>
    private static bool IsSelfContained() =>
        Path.GetDirectoryName(typeof(object).Assembly.Location) is { Length: > 0 } runtime
        && string.Equals(Path.TrimEndingDirectorySeparator(runtime), Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory), StringComparison.Ordinal);

    public string PythonPackages { get; }

    /// <summary>How the process limit is applied (and where workers' cgroups are).</summary>
    public ProcessLimit ProcessLimit => _processLimit;

    /// <summary>The worker's assembly (the application itself when it runs its own workers).</summary>
    public string WorkerAssembly { get; }

    /// <summary>What starts a worker, before its startup argument: <c>dotnet</c> and the worker's assembly, or the application and <see cref="WorkerArgument"/>; null when no <c>dotnet</c> was found.</summary>
    private readonly string[]? _command;

    /// <summary>Why no worker can be started here (no <c>dotnet</c>, no worker assembly, not Linux); null when one can.</summary>
    public string? Unavailable()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "worker processes need Linux (" + RuntimeInformation.OSDescription + ")";
        }

        if (_command is null)
        {
            return "no 'dotnet' host was found to run worker processes (looked next to this runtime, in DOTNET_ROOT and on PATH); set NrpHost:Simulation:Worker:Dotnet";
        }

        return File.Exists(WorkerAssembly)
            ? null
            : $"the worker assembly {WorkerAssembly} is missing; it ships in the 'nrphost-worker' folder next to the application (set NrpHost:Simulation:Worker:Assembly if it is elsewhere)";
    }

    /// <summary>
    /// Starts a worker and waits until its interpreter is loaded. <paramref name="sandbox"/>: what a sandboxed worker may
    /// write (null unless <see cref="SimulationIsolation.Sandbox"/>).
    /// </summary>
    /// <exception cref="IsolationUnavailableException">No worker can be started here, or it ended before it was ready.</exception>
    /// <exception cref="PythonNotAvailableException">The worker could not load the interpreter.</exception>
    public async Task<WorkerProcess> StartAsync(SandboxFor? sandbox, CancellationToken cancellationToken)
    {
        if (Unavailable() is { } reason)
        {
            throw new IsolationUnavailableException(reason);
        }

        var python = _python.GetStatus();
        if (python.State == PythonRuntimeState.Failed || python.Library is null)
        {
            throw new PythonNotAvailableException(python.Error ?? "CPython was not found");
        }

        var startup = new WorkerStartup
        {
            HostProcessId = sandbox is null ? Environment.ProcessId : 0,
            PythonLibrary = python.Library,
            PythonExecutable = python.Executable,
            PythonHome = python.Home,
            PythonPackages = PythonPackages,
            MemoryMB = _options.Limits.MemoryMB,
            OpenFiles = _options.Limits.OpenFiles,
            Processes = _options.Limits.Processes,
            ProcessesByRlimit = _processLimit.ByRlimit,
            EmbeddedRuntime = _embeddedRuntime,
            RelayMqtt = _embeddedRuntime is not null && _relayMqtt(),
        };
        var start = StartInfo(startup, sandbox, python);
        var spawned = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = SpawnThread.Value;
        Spawns.Add(() =>
        {
            try
            {
                var process = Process.Start(start) ?? throw new InvalidOperationException("the process did not start");

                // Before it can start anything: it joins its simulation's pids cgroup (where there is one).
                _processLimit.Add(process.Id);
                spawned.TrySetResult(process);
            }
#pragma warning disable CA1031 // Any failure to start is the caller's to report.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                spawned.TrySetException(ex);
            }
        }, cancellationToken);

        Process started;
        try
        {
            started = await spawned.Task.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new IsolationUnavailableException($"the worker process could not be started ({start.FileName}): {ex.Message}", ex);
        }

        var worker = new WorkerProcess(started, _loggerFactory, _options.Limits.MemoryMB ?? 0, _processLimit);
        try
        {
            var ready = await worker.Ready.WaitAsync(TimeSpan.FromSeconds(_options.Worker.StartTimeoutSeconds), cancellationToken).ConfigureAwait(false);
            if (ready.Error is { } error)
            {
                throw new PythonNotAvailableException(error);
            }

            IsolationLog.WorkerReady(_logger, worker.ProcessId, ready.PythonVersion, worker.StartTime.TotalMilliseconds);
            return worker;
        }
        catch (Exception ex)
        {
            await worker.EndAsync().ConfigureAwait(false);
            if (ex is IsolationUnavailableException && worker.LastErrorLines() is { Count: > 0 } lines)
            {
                throw new IsolationUnavailableException(ex.Message + ": " + string.Join(" | ", lines.TakeLast(5)), ex);
            }

            if (ex is TimeoutException)
            {
                throw new IsolationUnavailableException($"the worker process did not load its interpreter within {_options.Worker.StartTimeoutSeconds} s (NrpHost:Simulation:Worker:StartTimeoutSeconds)", ex);
            }

            throw;
        }
    }

    private ProcessStartInfo StartInfo(WorkerStartup startup, SandboxFor? sandbox, PythonRuntimeStatus python)
    {
        var worker = new List<string>(_command!) { JsonSerializer.Serialize(startup) };
        var command = sandbox is null
            ? worker
            : [.. Sandbox.Arguments(_options.Worker.Bubblewrap, sandbox, _paths.Hidden, NeededPaths(python)), .. worker];
        var start = new ProcessStartInfo(command[0])
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = sandbox?.Directory ?? "/",
        };
        foreach (var argument in command.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var name in start.Environment.Keys.ToList())
        {
            if (IsHidden(name))
            {
                start.Environment.Remove(name);
            }
        }

        // One GC heap per worker, not one per core: a worker runs one simulation. No diagnostics socket: a worker
        // listens on nothing.
        start.Environment["DOTNET_gcServer"] = "0";
        start.Environment["DOTNET_EnableDiagnostics"] = "0";
        return start;
    }

    /// <summary>What a sandboxed worker must be able to read even when it lies under a hidden folder.</summary>
    private IEnumerable<string> NeededPaths(PythonRuntimeStatus python)
    {
        foreach (var file in _command!.Take(2).Where(Path.IsPathRooted))
        {
            yield return Path.GetDirectoryName(file)!;
        }

        yield return PythonPackages;
        if (python.Library is { } library)
        {
            yield return Path.GetDirectoryName(library)!;
        }

        foreach (var path in _paths.Needed)
        {
            yield return path;
        }
    }

    internal static bool IsHidden(string name) =>
        name.StartsWith("NrpHost__", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("DOTNET_DiagnosticPorts", StringComparison.OrdinalIgnoreCase)
        || HiddenVariables.Any(secret => name.Contains(secret, StringComparison.OrdinalIgnoreCase));

    /// <summary>The <c>dotnet</c> host: configured, else this process's own, else next to this runtime, else DOTNET_ROOT, else PATH.</summary>
    private static string? FindDotnet(string? configured)
    {
        if (configured is { Length: > 0 })
        {
            return File.Exists(configured) ? Path.GetFullPath(configured) : null;
        }

        IEnumerable<string?> Candidates()
        {
            if (Environment.ProcessPath is { } own && Path.GetFileName(own) == "dotnet")
            {
                yield return own;
            }

            // <root>/shared/Microsoft.NETCore.App/<version>/
            var runtime = Path.GetDirectoryName(typeof(object).Assembly.Location);
            if (runtime is { Length: > 0 } && Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(runtime))) is { } root)
            {
                yield return Path.Combine(root, "dotnet");
            }

            if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } dotnetRoot)
            {
                yield return Path.Combine(dotnetRoot, "dotnet");
            }

            foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries))
            {
                yield return Path.Combine(folder, "dotnet");
            }
        }

        return Candidates().FirstOrDefault(File.Exists);
    }
}

/// <summary>What a sandboxed worker may write: its simulation's directory and its control block.</summary>
internal sealed record SandboxFor(string Directory, string ControlBlock);

/// <summary>Folders a sandboxed worker must not see (other simulations, the experiment store) and folders it must.</summary>
internal sealed record SandboxPaths(IReadOnlyList<string> Hidden, IReadOnlyList<string> Needed);
