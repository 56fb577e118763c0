using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace NrpHost.Storage;

/// <summary>What a directory entry is, looked at without following a link.</summary>
internal enum EntryKind
{
    /// <summary>A regular file.</summary>
    RegularFile,

    /// <summary>A directory.</summary>
    Directory,

    /// <summary>A symbolic link (never followed).</summary>
    SymbolicLink,

    /// <summary>A FIFO, socket, character or block device: never opened.</summary>
    Special,

    /// <summary>It vanished or cannot be examined.</summary>
    Missing,
}

/// <summary>
/// Opens files written by untrusted code without being fooled: a symbolic link is never followed, a FIFO or device is
/// never read (opening is non-blocking and the opened file is checked), and a file with other hard links (which
/// could be any file of the machine) is refused. On Linux through <c>open(2)</c> with <c>O_NOFOLLOW | O_NONBLOCK</c>
/// and <c>statx(2)</c> on the opened descriptor; elsewhere through .NET's file information.
/// </summary>
internal static partial class SafeFile
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxBasic = 0x7ff;
    private const int OReadOnly = 0;
    private const int ONonBlock = 0x800;
    private const int OCloseOnExec = 0x80000;
    private const int TypeMask = 0xF000;
    private const int TypeRegular = 0x8000;
    private const int TypeDirectory = 0x4000;
    private const int TypeLink = 0xA000;
    private const int StatxSize = 256;
    private const int NlinkOffset = 16;
    private const int ModeOffset = 28;
    private const int SizeOffset = 40;

    // O_NOFOLLOW differs between the Linux architectures.
    private static readonly int ONoFollow = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x8000 : 0x20000;

    /// <summary>What <paramref name="path"/> is, without following a link.</summary>
    public static EntryKind KindOf(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return KindOfPortable(path);
        }

        return Stat(AtFdCwd, path, AtSymlinkNoFollow, out var mode, out _, out _) ? KindOfMode(mode) : EntryKind.Missing;
    }

    /// <summary>
    /// Opens <paramref name="path"/> for reading if it is a regular file (with no other hard link unless
    /// <paramref name="allowHardLinks"/>); otherwise null with the reason, for a log line.
    /// </summary>
    public static FileStream? OpenRegular(string path, out string? refusal, bool allowHardLinks = false)
    {
        if (!OperatingSystem.IsLinux())
        {
            return OpenPortable(path, out refusal);
        }

        var fd = Open(path, OReadOnly | ONoFollow | ONonBlock | OCloseOnExec);
        if (fd < 0)
        {
            var error = Marshal.GetLastPInvokeError();
            refusal = error == 40 /* ELOOP: a symbolic link */ ? "it is a symbolic link" : "it cannot be opened: " + Marshal.GetPInvokeErrorMessage(error);
            return null;
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            if (!Stat(fd, string.Empty, AtEmptyPath, out var mode, out var links, out _))
            {
                refusal = "it cannot be examined";
                handle.Dispose();
                return null;
            }

            if (KindOfMode(mode) != EntryKind.RegularFile)
            {
                refusal = "it is not a regular file";
                handle.Dispose();
                return null;
            }

            if (links > 1 && !allowHardLinks)
            {
                refusal = "it has other hard links (it may be any file of this machine)";
                handle.Dispose();
                return null;
            }

            refusal = null;
            return new FileStream(handle, FileAccess.Read, bufferSize: 81920);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static EntryKind KindOfMode(int mode) => (mode & TypeMask) switch
    {
        TypeRegular => EntryKind.RegularFile,
        TypeDirectory => EntryKind.Directory,
        TypeLink => EntryKind.SymbolicLink,
        _ => EntryKind.Special,
    };

    private static unsafe bool Stat(int directoryFd, string path, int flags, out int mode, out uint links, out ulong size)
    {
        var buffer = stackalloc byte[StatxSize];
        if (Statx(directoryFd, path, flags, StatxBasic, buffer) != 0)
        {
            mode = 0;
            links = 0;
            size = 0;
            return false;
        }

        mode = *(ushort*)(buffer + ModeOffset);
        links = *(uint*)(buffer + NlinkOffset);
        size = *(ulong*)(buffer + SizeOffset);
        return true;
    }

    private static EntryKind KindOfPortable(string path)
    {
        FileSystemInfo info = new FileInfo(path);
        if (!info.Exists)
        {
            info = new DirectoryInfo(path);
            if (!info.Exists)
            {
                return EntryKind.Missing;
            }
        }

        return info.LinkTarget is not null ? EntryKind.SymbolicLink
            : info is DirectoryInfo ? EntryKind.Directory
            : EntryKind.RegularFile;
    }

    private static FileStream? OpenPortable(string path, out string? refusal)
    {
        var kind = KindOfPortable(path);
        if (kind != EntryKind.RegularFile)
        {
            refusal = kind == EntryKind.SymbolicLink ? "it is a symbolic link" : "it is not a regular file";
            return null;
        }

        refusal = null;
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 81920);
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int directoryFd, string path, int flags, uint mask, byte* buffer);
}
