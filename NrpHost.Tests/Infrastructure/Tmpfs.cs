using System.Diagnostics;

namespace NrpHost.Tests.Infrastructure;

/// <summary>
/// A small tmpfs mounted on a folder of a test's own directory: a disk that a script can really fill. Mounting needs
/// root (or CAP_SYS_ADMIN); where it cannot be done, <see cref="TmpfsFactAttribute"/> skips the test and says why.
/// </summary>
internal sealed class Tmpfs : IDisposable
{
    private static readonly Lazy<string?> Refusal = new(Probe);

    private Tmpfs(string path) => Path = path;

    public string Path { get; }

    /// <summary>Why no tmpfs can be mounted here, or null when one can.</summary>
    public static string? WhyNot => Refusal.Value;

    /// <summary>Mounts a tmpfs of <paramref name="megabytes"/> MiB on <paramref name="path"/> (made when missing).</summary>
    public static Tmpfs Mount(string path, int megabytes)
    {
        Directory.CreateDirectory(path);
        var error = Run("mount", "-t", "tmpfs", "-o", $"size={megabytes}m,mode=0755", "nrphost-test", path);
        Assert.True(error is null, $"mounting a tmpfs on {path} failed: {error}");
        return new Tmpfs(path);
    }

    /// <summary>Gives the file system <paramref name="megabytes"/> MiB, keeping what it holds: space is back.</summary>
    public void Resize(int megabytes)
    {
        var error = Run("mount", "-o", $"remount,size={megabytes}m", Path);
        Assert.True(error is null, $"resizing the tmpfs on {Path} failed: {error}");
    }

    /// <summary>Bytes still free on it.</summary>
    public long Free => new DriveInfo(Path).AvailableFreeSpace;

    public void Dispose() => Run("umount", "-l", Path);

    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "a tmpfs needs Linux";
        }

        var probe = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "nrphost-tests", "tmpfs-probe-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(probe);
        try
        {
            var error = Run("mount", "-t", "tmpfs", "-o", "size=1m", "nrphost-test", probe);
            if (error is not null)
            {
                return $"this machine cannot mount a tmpfs for the test ({error}); it needs root or CAP_SYS_ADMIN";
            }

            Run("umount", probe);
            return null;
        }
        finally
        {
            try
            {
                Directory.Delete(probe);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>Runs a command; null when it succeeded, else what it said.</summary>
    private static string? Run(string command, params string[] arguments)
    {
        var start = new ProcessStartInfo(command) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            using var process = Process.Start(start)!;
            var error = process.StandardError.ReadToEndAsync();
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? null : $"{command} exited with {process.ExitCode}: {error.Result.Trim()}";
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return $"{command}: {ex.Message}";
        }
    }
}

/// <summary>A fact that needs a tmpfs it mounts itself; skipped, with the reason, where none can be mounted.</summary>
public sealed class TmpfsFactAttribute : FactAttribute
{
    public TmpfsFactAttribute()
    {
        if (Tmpfs.WhyNot is { } reason)
        {
            Skip = reason;
        }
    }
}

/// <summary>A theory that needs a tmpfs it mounts itself; skipped, with the reason, where none can be mounted.</summary>
public sealed class TmpfsTheoryAttribute : TheoryAttribute
{
    public TmpfsTheoryAttribute()
    {
        if (Tmpfs.WhyNot is { } reason)
        {
            Skip = reason;
        }
    }
}
