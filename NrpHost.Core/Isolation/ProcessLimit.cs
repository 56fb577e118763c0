using System.Globalization;
using Microsoft.Extensions.Logging;

namespace NrpHost.Isolation;

/// <summary>
/// <see cref="SimulationLimits.Processes"/>: a pids cgroup per worker where the host can make one (cgroup v1's pids
/// hierarchy, or v2 where this process's cgroup delegates the pids controller), which also lists every process of the
/// simulation wherever it went; otherwise <c>RLIMIT_NPROC</c> set by the worker on itself (it counts all processes of
/// the user, and the kernel does not apply it to root, which is logged).
/// </summary>
internal sealed class ProcessLimit
{
    private readonly string? _parent;
    private readonly int _max;

    private ProcessLimit(string? parent, int max, bool byRlimit)
    {
        _parent = parent;
        _max = max;
        ByRlimit = byRlimit;
    }

    /// <summary>The limit is the worker's own <c>RLIMIT_NPROC</c>.</summary>
    public bool ByRlimit { get; }

    /// <summary>Where workers' cgroups are made; null when there are none.</summary>
    public string? CgroupParent => _parent;

    public static ProcessLimit Create(int? max, ILogger logger)
    {
        try
        {
            return CreateCore(max, logger);
        }
#pragma warning disable CA1031 // The limit is best effort: whatever fails, the host starts, and says so.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            IsolationLog.ProcessLimitNotEnforced(logger, $"setting up the pids cgroups failed ({ex.GetType().Name}: {ex.Message}); RLIMIT_NPROC is used instead");
            return new ProcessLimit(null, max ?? 0, byRlimit: max is not null);
        }
    }

    private static ProcessLimit CreateCore(int? max, ILogger logger)
    {
        if (max is not { } limit || !OperatingSystem.IsLinux())
        {
            return new ProcessLimit(null, 0, byRlimit: false);
        }

        if (FindPidsCgroup() is { } own)
        {
            EndLeftovers(own, logger);
            var parent = Path.Combine(own, string.Create(CultureInfo.InvariantCulture, $"nrphost-{Environment.ProcessId}"));
            try
            {
                Directory.CreateDirectory(parent);
                var control = Path.Combine(parent, "cgroup.subtree_control");
                if (File.Exists(control))
                {
                    // cgroup v2: the workers' cgroups below it get the pids controller too.
                    File.WriteAllText(control, "+pids");
                }

                return new ProcessLimit(parent, limit, byRlimit: false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                IsolationLog.ProcessLimitNotEnforced(logger, $"no pids cgroup could be made under {own} ({ex.Message}); RLIMIT_NPROC is used instead");
            }
        }

        if (Environment.UserName == "root")
        {
            IsolationLog.ProcessLimitNotEnforced(logger, "no pids cgroup can be made here and the host runs as root, to which the kernel does not apply RLIMIT_NPROC");
        }

        return new ProcessLimit(null, limit, byRlimit: true);
    }

    /// <summary>Puts a just-started worker into a pids cgroup of its own, capped at the limit.</summary>
    public void Add(int pid)
    {
        if (_parent is null)
        {
            return;
        }

        try
        {
            var group = Group(pid);
            Directory.CreateDirectory(group);
            File.WriteAllText(Path.Combine(group, "pids.max"), _max.ToString(CultureInfo.InvariantCulture));
            File.WriteAllText(Path.Combine(group, "cgroup.procs"), pid.ToString(CultureInfo.InvariantCulture));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The worker runs without it; its start-up log says the limit was not applied.
        }
    }

    /// <summary>The limit, where a cgroup enforces it; null otherwise.</summary>
    public int? Max => _parent is null ? null : _max;

    /// <summary>
    /// Whether the worker's cgroup refused a new process or thread because of the limit (its <c>pids.events</c>
    /// counts them): then a worker that died did so for want of one (.NET aborts when it cannot start a thread).
    /// </summary>
    public bool WasReached(int pid)
    {
        if (_parent is null)
        {
            return false;
        }

        try
        {
            return File.ReadAllLines(Path.Combine(Group(pid), "pids.events"))
                .Select(line => line.Split(' ', 2))
                .Any(parts => parts is ["max", var count] && long.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out var refused) && refused > 0);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Every process in the worker's cgroup: the whole simulation, wherever its processes went.</summary>
    public IReadOnlyList<int> Members(int pid) => _parent is null ? [] : ReadMembers(Group(pid));

    /// <summary>Removes the worker's cgroup once it is empty (the kernel lets go of an exited process a moment after it is reaped).</summary>
    public void Remove(int pid)
    {
        if (_parent is not null)
        {
            TryDelete(Group(pid));
        }
    }

    /// <summary>Removes the host's own cgroup folder (once every worker's is gone).</summary>
    public void RemoveAll()
    {
        if (_parent is not null)
        {
            TryDelete(_parent);
        }
    }

    private string Group(int pid) => Path.Combine(_parent!, string.Create(CultureInfo.InvariantCulture, $"worker-{pid}"));

    /// <summary>
    /// Ends what the workers of an earlier host left in their cgroups (a host that was killed outright: its workers died
    /// with it, but a daemon a script started may not have), and removes those cgroups.
    /// </summary>
    private static void EndLeftovers(string own, ILogger logger)
    {
        string[] folders;
        try
        {
            folders = Directory.GetDirectories(own, "nrphost-*");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return;
        }

        foreach (var folder in folders)
        {
            var name = Path.GetFileName(folder);
            if (!int.TryParse(name.AsSpan("nrphost-".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var host)
                || host == Environment.ProcessId || IsRunning(host))
            {
                continue;
            }

            // Several hosts starting at once may clean the same leftovers: whatever is gone meanwhile is simply gone.
            try
            {
                var ended = new List<int>();
                var groups = Directory.GetDirectories(folder, "worker-*");
                foreach (var group in groups)
                {
                    var members = ReadMembers(group);
                    foreach (var pid in members)
                    {
                        Libc.Kill(pid, Libc.SIGKILL);
                    }

                    ended.AddRange(members);
                }

                if (ended.Count > 0)
                {
                    IsolationLog.LeftoversEnded(logger, host, ended.Count, string.Join(", ", ended));
                }

                // The kernel removes a cgroup only once its processes are gone; a later start tries again.
                foreach (var group in groups)
                {
                    TryDelete(group);
                }

                TryDelete(folder);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Another host took it meanwhile.
            }
        }
    }

    /// <summary>The processes in a cgroup (none when it is gone).</summary>
    private static List<int> ReadMembers(string group)
    {
        try
        {
            return File.ReadAllLines(Path.Combine(group, "cgroup.procs"))
                .Select(line => int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0)
                .Where(pid => pid > 0)
                .ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>Whether a process of that id runs (then its cgroups may be in use: they are left alone).</summary>
    private static bool IsRunning(int pid) => Directory.Exists(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}"));

    /// <summary>Removes a cgroup, trying again for a moment while the kernel still counts a process in it.</summary>
    private static void TryDelete(string directory)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            try
            {
                Directory.Delete(directory);
                return;
            }
            catch (DirectoryNotFoundException)
            {
                return;
            }
            catch (IOException)
            {
                Thread.Sleep(10);
            }
            catch (UnauthorizedAccessException)
            {
                return;
            }
        }
    }

    /// <summary>This process's cgroup directory in a pids hierarchy it may write to; null when there is none.</summary>
    private static string? FindPidsCgroup()
    {
        try
        {
            foreach (var line in File.ReadAllLines("/proc/self/cgroup"))
            {
                var parts = line.Split(':', 3);
                if (parts.Length != 3)
                {
                    continue;
                }

                if (parts[1].Split(',').Contains("pids") && Directory.Exists("/sys/fs/cgroup/pids"))
                {
                    return Writable(Path.Combine("/sys/fs/cgroup/pids", parts[2].TrimStart('/')));
                }

                if (parts[0] == "0" && parts[1].Length == 0 && File.Exists("/sys/fs/cgroup/cgroup.controllers"))
                {
                    var own = Path.Combine("/sys/fs/cgroup", parts[2].TrimStart('/'));
                    var control = Path.Combine(own, "cgroup.subtree_control");
                    if (File.Exists(control) && File.ReadAllText(control).Split(' ', StringSplitOptions.TrimEntries).Contains("pids"))
                    {
                        return Writable(own);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        return null;
    }

    private static string? Writable(string directory) =>
        Directory.Exists(directory) && File.Exists(Path.Combine(directory, "cgroup.procs")) ? directory : null;
}
