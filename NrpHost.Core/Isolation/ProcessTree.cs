using System.Globalization;

namespace NrpHost.Isolation;

/// <summary>
/// A worker process and everything it started, read from <c>/proc</c>. A worker is the subreaper of its descendants, so
/// a daemon the script starts (fork, setsid, fork) stays in its tree: freezing the tree (SIGSTOP, walked again until
/// nothing new appears) and then killing it ends every process the simulation started, without a fork racing the kill.
/// </summary>
internal static class ProcessTree
{
    /// <summary>How many times the tree is walked again while new processes still appear.</summary>
    private const int MaxWalks = 50;

    /// <summary>The children of <paramref name="pid"/> (of all its threads); empty when it is gone.</summary>
    public static IEnumerable<int> Children(int pid)
    {
        string[] tasks;
        try
        {
            tasks = Directory.GetDirectories(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/task"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            yield break;
        }

        foreach (var task in tasks)
        {
            string text;
            try
            {
                text = File.ReadAllText(Path.Combine(task, "children"));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            foreach (var part in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var child))
                {
                    yield return child;
                }
            }
        }
    }

    /// <summary><paramref name="root"/>'s descendants (not itself), as they are now.</summary>
    public static HashSet<int> Descendants(int root)
    {
        var found = new HashSet<int>();
        var pending = new Stack<int>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            foreach (var child in Children(pending.Pop()))
            {
                if (found.Add(child))
                {
                    pending.Push(child);
                }
            }
        }

        return found;
    }

    /// <summary>The session of a process; null when it is gone.</summary>
    public static int? SessionOf(int pid) => Stat(pid)?.Session;

    /// <summary>The parent of a process; null when it is gone.</summary>
    public static int? ParentOf(int pid) => Stat(pid)?.Parent;

    /// <summary>A process's state letter, parent and session from <c>/proc/&lt;pid&gt;/stat</c>; null when it is gone.</summary>
    public static (char State, int Parent, int Session)? Stat(int pid)
    {
        try
        {
            var stat = File.ReadAllText(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/stat"));

            // pid (comm) state ppid pgrp session ...: comm may hold spaces and parentheses, so read after the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (fields[0][0], int.Parse(fields[1], CultureInfo.InvariantCulture), int.Parse(fields[3], CultureInfo.InvariantCulture));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>
    /// Freezes <paramref name="root"/>, its descendants and <paramref name="others"/> (processes known to belong to the
    /// same simulation) with SIGSTOP, walking the tree again until no new process appears. Returns every process frozen.
    /// </summary>
    public static HashSet<int> Freeze(int root, IEnumerable<int> others)
    {
        var frozen = new HashSet<int>();
        var pending = new Stack<int>(others.Prepend(root));
        for (var walk = 0; walk < MaxWalks && pending.Count > 0; walk++)
        {
            while (pending.Count > 0)
            {
                var pid = pending.Pop();
                if (frozen.Add(pid))
                {
                    Libc.Kill(pid, Libc.SIGSTOP);
                }
            }

            // A process that was forking while it was stopped has its child now: walk every frozen process again.
            foreach (var pid in frozen.ToList())
            {
                foreach (var child in Children(pid).Where(c => !frozen.Contains(c)))
                {
                    pending.Push(child);
                }
            }
        }

        return frozen;
    }

    /// <summary>
    /// Waits until no thread of <paramref name="pids"/> runs any more (each stopped, dead or gone), at most
    /// <paramref name="within"/>: from then on none of them writes anything. False when one still ran (a thread in
    /// uninterruptible sleep).
    /// </summary>
    public static bool WaitStopped(IEnumerable<int> pids, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        var pending = pids.ToList();
        while (true)
        {
            pending.RemoveAll(pid => !Runs(pid));
            if (pending.Count == 0)
            {
                return true;
            }

            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            Thread.Sleep(1);
        }
    }

    /// <summary>Whether any thread of the process is still running or runnable (not stopped, dead or gone).</summary>
    private static bool Runs(int pid)
    {
        string[] tasks;
        try
        {
            tasks = Directory.GetDirectories(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/task"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        foreach (var task in tasks)
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                if (stat[stat.LastIndexOf(')') + 2] is not ('T' or 't' or 'Z' or 'X'))
                {
                    return true;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or IndexOutOfRangeException)
            {
                // That thread is gone.
            }
        }

        return false;
    }

    /// <summary>Kills every one of <paramref name="pids"/> (SIGKILL: a stopped process dies too).</summary>
    public static void KillAll(IEnumerable<int> pids)
    {
        foreach (var pid in pids)
        {
            Libc.Kill(pid, Libc.SIGKILL);
        }
    }

    /// <summary>
    /// Reaps those of <paramref name="pids"/> that have become zombie children of this process (a killed worker's
    /// children are given to its nearest subreaper, the host). They are not <see cref="System.Diagnostics.Process"/>
    /// objects of this process, so reaping them takes nothing from .NET's own child tracking.
    /// </summary>
    public static void Reap(IEnumerable<int> pids)
    {
        foreach (var pid in pids)
        {
            Libc.Reap(pid);
        }
    }
}
