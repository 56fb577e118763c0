using System.Runtime.InteropServices;

namespace NrpHost.Isolation;

/// <summary>The few libc calls the process boundary needs (Linux).</summary>
internal static unsafe partial class Libc
{
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;
    public const int SIGCONT = 18;
    public const int SIGSTOP = 19;

    private const int PR_SET_PDEATHSIG = 1;
    private const int PR_SET_CHILD_SUBREAPER = 36;
    private const int F_DUPFD_CLOEXEC = 1030;
    private const int RLIMIT_NPROC = 6;
    private const int RLIMIT_NOFILE = 7;
    private const int RLIMIT_DATA = 2;
    private const int WNOHANG = 1;
    private const int ESRCH = 3;

    /// <summary>The resources <see cref="SetLimit"/> can bound.</summary>
    public enum Resource
    {
        /// <summary>The data segment: every private writable mapping.</summary>
        Data = RLIMIT_DATA,

        /// <summary>Open file descriptors.</summary>
        OpenFiles = RLIMIT_NOFILE,

        /// <summary>Processes (and threads) of the real user.</summary>
        Processes = RLIMIT_NPROC,
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [LibraryImport("libc", EntryPoint = "setsid", SetLastError = true)]
    private static partial int SetSidNative();

    [LibraryImport("libc", EntryPoint = "getppid")]
    public static partial int GetParentProcessId();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int KillNative(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "dup2", SetLastError = true)]
    private static partial int Dup2(int oldFd, int newFd);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRLimit(int resource, in RLimit limit);

    [LibraryImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    private static partial int WaitPid(int pid, out int status, int options);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, nint address, int operation, int value, nint timeout, nint address2, int value3);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    private const int FUTEX_WAIT = 0;
    private const int FUTEX_WAKE = 1;

    /// <summary>The futex system call's number (not a process-private futex: it works across processes on shared memory).</summary>
    private static readonly long SysFutex = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 202,
        Architecture.Arm64 => 98,
        _ => -1,
    };

    /// <summary>Sleeps while <c>*address == expected</c>, until woken or <paramref name="timeout"/> (a plain sleep where there is no futex).</summary>
    public static unsafe void FutexWait(int* address, int expected, TimeSpan timeout)
    {
        if (SysFutex < 0)
        {
            Thread.Sleep(1);
            return;
        }

        var time = new TimeSpec { Seconds = (long)timeout.TotalSeconds, Nanoseconds = timeout.Ticks % TimeSpan.TicksPerSecond * 100 };
        Syscall(SysFutex, (nint)address, FUTEX_WAIT, expected, (nint)(&time), 0, 0);
    }

    /// <summary>Wakes every thread (of any process) waiting on <paramref name="address"/>.</summary>
    public static unsafe void FutexWake(int* address)
    {
        if (SysFutex >= 0)
        {
            Syscall(SysFutex, (nint)address, FUTEX_WAKE, int.MaxValue, 0, 0, 0);
        }
    }

    [LibraryImport("libc", EntryPoint = "_exit")]
    public static partial void Exit(int code);

    /// <summary>Dies with SIGKILL when the thread that started this process ends (set by a worker about itself).</summary>
    public static bool DieWithParent() => prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == 0;

    /// <summary>Makes this process the one orphaned descendants are given to (instead of init).</summary>
    public static bool BecomeSubreaper() => prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;

    /// <summary>Starts a session of its own (with this process as its leader).</summary>
    public static bool NewSession() => SetSidNative() >= 0;

    /// <summary>Sends a signal; false when the process does not exist (any more).</summary>
    public static bool Kill(int pid, int signal) => pid > 0 && (KillNative(pid, signal) == 0 || Marshal.GetLastPInvokeError() != ESRCH);

    /// <summary>Sets both the soft and the hard limit of a resource of this process; false when refused.</summary>
    public static bool SetLimit(Resource resource, ulong value) => SetRLimit((int)resource, new RLimit { Current = value, Maximum = value }) == 0;

    /// <summary>Reaps an exited child that is not a <see cref="System.Diagnostics.Process"/> of this process; false when it was not one.</summary>
    public static bool Reap(int pid) => WaitPid(pid, out _, WNOHANG) == pid;

    /// <summary>
    /// Moves <paramref name="fd"/> to a new descriptor that is closed on exec, and points <paramref name="fd"/> at
    /// <c>/dev/null</c>: what the process (and anything it starts) writes there from now on goes nowhere.
    /// </summary>
    public static int MoveAside(int fd, bool forWriting)
    {
        var moved = Fcntl(fd, F_DUPFD_CLOEXEC, 10);
        if (moved < 0)
        {
            throw new IOException($"fcntl(F_DUPFD_CLOEXEC) of descriptor {fd} failed: errno {Marshal.GetLastPInvokeError()}");
        }

        var devNull = Open("/dev/null", forWriting ? 1 : 0);
        if (devNull >= 0)
        {
            Dup2(devNull, fd);
            Close(devNull);
        }

        return moved;
    }
}
