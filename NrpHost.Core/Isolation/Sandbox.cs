using System.Diagnostics;

namespace NrpHost.Isolation;

/// <summary>
/// The bubblewrap sandbox of <see cref="SimulationIsolation.Sandbox"/>: the root read-only, the simulation directory the
/// only writable place, a private <c>/tmp</c>, the host's other simulations and its experiment store hidden, its own
/// PID, network, IPC and UTS namespaces, a session of its own, and death with the host.
/// </summary>
internal static class Sandbox
{
    private static readonly string[] Namespaces =
    [
        "--die-with-parent", "--new-session",
        "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
    ];

    /// <summary>The bubblewrap command line (up to <c>--</c>) for a worker that may write only <paramref name="sandbox"/>.</summary>
    public static List<string> Arguments(string bubblewrap, SandboxFor sandbox, IEnumerable<string> hidden, IEnumerable<string> needed)
    {
        var directory = sandbox.Directory;
        var arguments = new List<string> { bubblewrap };
        arguments.AddRange(Namespaces);
        arguments.AddRange(["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]);
        var hiddenRoots = new List<string> { "/tmp" };
        foreach (var path in hidden.Select(Full).Distinct().Where(Directory.Exists))
        {
            if (!hiddenRoots.Any(root => Under(path, root)))
            {
                arguments.AddRange(["--tmpfs", path]);
                hiddenRoots.Add(path);
            }
        }

        // What the worker runs from, where it lies in a hidden folder (the application under /tmp, say), read-only.
        foreach (var path in needed.Select(Full).Distinct().Where(Directory.Exists).Where(p => hiddenRoots.Any(root => Under(p, root))))
        {
            arguments.AddRange(["--ro-bind", path, path]);
        }

        arguments.AddRange(["--bind", directory, directory, "--bind", sandbox.ControlBlock, sandbox.ControlBlock, "--chdir", directory, "--"]);
        return arguments;
    }

    /// <summary>Whether bubblewrap can make such a sandbox here; null when it can, else why not (what it said).</summary>
    public static string? Probe(string bubblewrap)
    {
        var start = new ProcessStartInfo(bubblewrap)
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (var argument in Namespaces.Concat(["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--", "true"]))
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            using var process = Process.Start(start)!;
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(10_000))
            {
                process.Kill();
                return "bubblewrap did not start a sandbox within 10 s";
            }

            return process.ExitCode == 0 ? null : $"bubblewrap ({bubblewrap}) cannot make a sandbox here: {error.Result.Trim()} ({Hint(error.Result)})";
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return $"bubblewrap ({bubblewrap}) was not found ({ex.Message}); install it (Debian: apt-get install bubblewrap) or set NrpHost:Simulation:Worker:Bubblewrap";
        }
    }

    /// <summary>What a sandbox needs, for what bubblewrap said.</summary>
    internal static string Hint(string said) =>
        said.Contains("mount proc", StringComparison.Ordinal) && (File.Exists("/run/.containerenv") || File.Exists("/.dockerenv"))
            ? "in a container, /proc is masked and a new one cannot be mounted: run the container with --security-opt systempaths=unconfined"
            : "it needs unprivileged user namespaces, or to run as root; a container's default seccomp profile may forbid them, and masks /proc (run it with --security-opt systempaths=unconfined)";

    private static string Full(string path) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));

    private static bool Under(string path, string root) =>
        path == root || path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal);
}
