using System.IO.Pipes;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using NrpHost.Python;
using NrpHost.Simulation;
using StreamJsonRpc;

namespace NrpHost.Isolation;

/// <summary>
/// The entry point of a worker process (<c>NrpHost.Worker</c>): one simulation's Python, behind a JSON-RPC channel on
/// its standard input and output. It sets the process up first (a session of its own, death with the host, the
/// limits), moves the channel off descriptors 0 and 1 (so nothing the script writes there can reach the host), loads
/// the interpreter, and serves the host until the channel closes. It never runs Python's or pythonnet's exit path: it
/// ends with <c>_exit</c>.
/// </summary>
internal static class WorkerProgram
{
    /// <summary>Exit codes of a worker that ended on its own (small numbers: the host reads 129-192 as signals).</summary>
    private const int Usage = 2;
    private const int NotMyHost = 3;

    public static async Task<int> RunAsync(string[] args)
    {
        if (Read(args) is not { } startup)
        {
            Console.Error.WriteLine("NrpHost.Worker is started by NrpHost for one simulation; it is not meant to be run by hand.");
            return Usage;
        }

        // Nothing exports metrics from here: the step durations go to the host with the profile.
        NrpHost.Profiling.ProfileMetrics.Relay = new NrpHost.Profiling.StepDurationRelay();

        Libc.NewSession();
        Libc.DieWithParent();
        if (startup.HostProcessId != 0 && Libc.GetParentProcessId() != startup.HostProcessId)
        {
            // The host ended before this process could ask to die with it.
            return NotMyHost;
        }

        // Daemons the script starts (fork, setsid, fork) stay children of this process, so the host finds them.
        Libc.BecomeSubreaper();
        var refused = ApplyLimits(startup);

        var input = new AnonymousPipeClientStream(PipeDirection.In, new SafePipeHandle(Libc.MoveAside(0, forWriting: false), ownsHandle: true));
        var output = new AnonymousPipeClientStream(PipeDirection.Out, new SafePipeHandle(Libc.MoveAside(1, forWriting: true), ownsHandle: true));
        var outbox = new WorkerOutbox();
        using var loggerFactory = LoggerFactory.Create(builder => builder
            .SetMinimumLevel(LogLevel.Debug)
            .AddProvider(new ForwardingLoggerProvider(outbox)));
        var server = new WorkerServer(startup, outbox, loggerFactory);
        var rpc = new JsonRpc(new BoundedMessageHandler(output, input, WorkerChannel.Formatter()))
        {
            // Commands are taken one at a time, in the order the host sent them (a pause is never overtaken by the resume after it).
            SynchronizationContext = new Microsoft.VisualStudio.Threading.NonConcurrentSynchronizationContext(sticky: false),
        };
        rpc.AddLocalRpcTarget<IWorkerService>(server, null);
        rpc.StartListening();
        var pump = outbox.PumpAsync(rpc);

        foreach (var limit in refused)
        {
            IsolationLog.LimitRefused(loggerFactory.CreateLogger("NrpHost.Simulation"), limit);
        }

        var python = new PythonRuntime(
            new PythonOptions
            {
                Library = startup.PythonLibrary,
                PackagesPath = startup.PythonPackages,
                Executable = startup.PythonExecutable ?? "python3",
                OutputDrainIntervalMilliseconds = startup.OutputDrainMilliseconds,
                Installation = new PythonInstallation(startup.PythonLibrary, startup.PythonExecutable, startup.PythonHome, "the host"),
            },
            loggerFactory,
            Environment.GetEnvironmentVariable);
        server.LoadPython(python);

        // The host closed the channel (or is gone): nothing is left to do for anyone.
        await Task.WhenAny(rpc.Completion, pump).ConfigureAwait(false);
        Libc.Exit(0);
        return 0;
    }

    private static WorkerStartup? Read(string[] args)
    {
        try
        {
            return args.Length == 1 ? JsonSerializer.Deserialize<WorkerStartup>(args[0]) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Sets the limits the host asked for; what the kernel refused.</summary>
    private static List<string> ApplyLimits(WorkerStartup startup)
    {
        var refused = new List<string>();
        if (startup.MemoryMB is { } memory && !Libc.SetLimit(Libc.Resource.Data, (ulong)memory * 1024 * 1024))
        {
            refused.Add($"MemoryMB = {memory}");
        }

        if (startup.OpenFiles is { } files && !Libc.SetLimit(Libc.Resource.OpenFiles, (ulong)files))
        {
            refused.Add($"OpenFiles = {files}");
        }

        if (startup is { ProcessesByRlimit: true, Processes: { } processes } && !Libc.SetLimit(Libc.Resource.Processes, (ulong)processes))
        {
            refused.Add($"Processes = {processes}");
        }

        return refused;
    }

    /// <summary>The worker's own log entries go to the host, which logs them under the same category.</summary>
    private sealed class ForwardingLoggerProvider(WorkerOutbox outbox) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Forwarder(outbox, categoryName);

        public void Dispose()
        {
        }

        private sealed class Forwarder(WorkerOutbox outbox, string category) : ILogger
        {
            /// <summary>Python's output lines (and their drop counts) reach the host as output, not as log entries.</summary>
            private static readonly HashSet<int> SentAsOutput = [202, 203];

            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (SentAsOutput.Contains(eventId.Id))
                {
                    return;
                }

                var text = formatter(state, exception);
                if (exception is not null)
                {
                    text += Environment.NewLine + exception;
                }

                outbox.Post(WorkerEvents.Log, seq => new WorkerLogEntry(seq, category, (int)logLevel, text));
            }
        }
    }
}

/// <summary>What both ends of the channel agree on.</summary>
internal static class WorkerChannel
{
    public static SystemTextJsonFormatter Formatter() => new();
}
