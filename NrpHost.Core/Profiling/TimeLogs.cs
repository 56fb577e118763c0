using System.Buffers.Text;
using System.Globalization;
using NrpHost.Storage;

namespace NrpHost.Profiling;

/// <summary>
/// nrp-core's time-profiler files in a <c>time_logs/&lt;yyyyMMdd-HHmmss&gt;-&lt;pid&gt;</c> folder: one line per datapack
/// cycle in <c>step_start.log</c>, <c>after_wait_for_engines.log</c>, <c>after_get_datapacks.log</c>,
/// <c>after_run_tfs.log</c>, <c>after_send_datapacks.log</c> and <c>after_restart_engines.log</c> (microseconds since the
/// profile began) and <c>step_duration.log</c> (microseconds); <c>experiment_stats.log</c> with nrp-core's lines
/// (<c>Initializing Simulation: µs</c>, one <c>Running Simulation: µs</c> per run request, <c>Shutting down Simulation:
/// µs</c>, <c>NRPCoreSim execution time: µs</c> last). Streamed through small buffers, never kept. A write that fails (a
/// full disk) stops the files and is reported once; the profile goes on.
/// </summary>
internal sealed class TimeLogs : IDisposable
{
    /// <summary>The per-cycle files, in the order of <see cref="WriteCycle"/>'s arguments.</summary>
    public static readonly string[] CycleFiles =
    [
        "step_start", "after_wait_for_engines", "after_get_datapacks", "after_run_tfs", "after_send_datapacks",
        "after_restart_engines", "step_duration",
    ];

    /// <summary>The folder all time logs go in, one sub-folder per profile, as nrp-core's <c>TimeProfiler</c> makes them.</summary>
    public const string Root = "time_logs";

    private const int BufferBytes = 16384;

    /// <summary>Index of <c>experiment_stats.log</c> among the files (after the per-cycle ones).</summary>
    private static readonly int Stats = CycleFiles.Length;

    private readonly FileStream?[] _files = new FileStream?[CycleFiles.Length + 1];
    private readonly byte[][] _buffers = [.. Enumerable.Range(0, CycleFiles.Length + 1).Select(_ => new byte[BufferBytes])];
    private readonly int[] _used = new int[CycleFiles.Length + 1];
    private readonly long _origin;
    private string? _failure;

    private TimeLogs(string folder, long origin)
    {
        Folder = folder;
        _origin = origin;
    }

    /// <summary>The folder (absolute).</summary>
    public string Folder { get; }

    /// <summary>The folder's name in the simulation directory.</summary>
    public string Name { get; private init; } = string.Empty;

    /// <summary>Why the files stopped, or null while they are written.</summary>
    public string? Failure => _failure;

    /// <summary><c>&lt;yyyyMMdd-HHmmss&gt;-&lt;pid&gt;</c> (the process that runs the simulation's Python), as nrp-core names it.</summary>
    public static string FolderName(DateTimeOffset now, int processId) =>
        now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + string.Create(CultureInfo.InvariantCulture, $"-{processId}");

    /// <summary>
    /// Creates the folder <c>time_logs/<paramref name="name"/></c> under <paramref name="directory"/>, or, when something
    /// of that name is there already (the experiment's own files, a link), <c>name-2</c>, <c>name-3</c>… (and
    /// <c>time_logs-2</c>… when <c>time_logs</c> itself is not a plain folder); its per-cycle files are made only when
    /// <paramref name="cycles"/>. <c>experiment_stats.log</c> begins with <paramref name="initialization"/>.
    /// <see cref="Name"/> says which folder.
    /// </summary>
    public static TimeLogs Create(string directory, string name, long origin, bool cycles, TimeSpan initialization)
    {
        var root = Root;
        for (var suffix = 2; SafeFile.KindOf(Path.Combine(directory, root)) is not (EntryKind.Missing or EntryKind.Directory) && suffix < 1000; suffix++)
        {
            root = string.Create(CultureInfo.InvariantCulture, $"{Root}-{suffix}");
        }

        var chosen = name;
        for (var suffix = 2; SafeFile.KindOf(Path.Combine(directory, root, chosen)) != EntryKind.Missing && suffix < 1000; suffix++)
        {
            chosen = string.Create(CultureInfo.InvariantCulture, $"{name}-{suffix}");
        }

        var logs = new TimeLogs(Path.Combine(directory, root, chosen), origin) { Name = root + "/" + chosen };
        try
        {
            Directory.CreateDirectory(logs.Folder);
            if (SafeFile.KindOf(Path.Combine(directory, root)) != EntryKind.Directory || SafeFile.KindOf(logs.Folder) != EntryKind.Directory)
            {
                throw new IOException($"{logs.Folder} is not a plain folder");
            }

            if (cycles)
            {
                for (var i = 0; i < CycleFiles.Length; i++)
                {
                    logs._files[i] = Open(Path.Combine(logs.Folder, CycleFiles[i] + ".log"));
                }
            }

            logs._files[Stats] = Open(Path.Combine(logs.Folder, "experiment_stats.log"));
            logs.StatsLine("Initializing Simulation: "u8, initialization);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            logs.Fail(ex);
        }

        return logs;
    }

    /// <summary>Appends one cycle: its stamps (clock nanoseconds) at the points of nrp-core's time profiler.</summary>
    public void WriteCycle(long start, long afterWait, long afterGet, long afterFunctions, long afterSend, long afterRestart)
    {
        if (_failure is not null || _files[0] is null)
        {
            return;
        }

        try
        {
            Line(0, Micro(start));
            Line(1, Micro(afterWait));
            Line(2, Micro(afterGet));
            Line(3, Micro(afterFunctions));
            Line(4, Micro(afterSend));
            Line(5, Micro(afterRestart));
            Line(6, (afterRestart - start) / 1000);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Fail(ex);
        }
    }

    /// <summary>Appends one run request (one <c>nrp.run_loop</c> call into the client) of <paramref name="nanoseconds"/>.</summary>
    public void WriteRun(long nanoseconds)
    {
        if (_failure is not null || _files[Stats] is null)
        {
            return;
        }

        try
        {
            StatsLine("Running Simulation: "u8, TimeSpan.FromTicks(Math.Max(0, nanoseconds) / 100));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Fail(ex);
        }
    }

    /// <summary>Pushes what is buffered to the files.</summary>
    public void Flush()
    {
        if (_failure is not null)
        {
            return;
        }

        try
        {
            for (var i = 0; i < _files.Length; i++)
            {
                WriteOut(i);
                _files[i]?.Flush();
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Fail(ex);
        }
    }

    /// <summary>
    /// Ends <c>experiment_stats.log</c> with <paramref name="shutdown"/> (when the client was shut down) and the
    /// <paramref name="total"/> time, and closes every file.
    /// </summary>
    public void Finish(TimeSpan? shutdown, TimeSpan total)
    {
        if (_failure is null && _files[Stats] is not null)
        {
            try
            {
                if (shutdown is { } time)
                {
                    StatsLine("Shutting down Simulation: "u8, time);
                }

                StatsLine("NRPCoreSim execution time: "u8, total);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Fail(ex);
            }
        }

        Flush();
        Dispose();
    }

    public void Dispose()
    {
        for (var i = 0; i < _files.Length; i++)
        {
            try
            {
                if (_failure is null)
                {
                    WriteOut(i);
                }

                _files[i]?.Dispose();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _failure ??= ex.Message;
            }

            _files[i] = null;
        }
    }

    private long Micro(long stamp) => Math.Max(0, stamp - _origin) / 1000;

    private void Line(int file, long value)
    {
        if (_used[file] > BufferBytes - 24)
        {
            WriteOut(file);
        }

        var buffer = _buffers[file].AsSpan(_used[file]);
        Utf8Formatter.TryFormat(value, buffer, out var length);
        buffer[length] = (byte)'\n';
        _used[file] += length + 1;
    }

    /// <summary>A line of <c>experiment_stats.log</c>: the label (ASCII) and the duration in whole microseconds.</summary>
    private void StatsLine(ReadOnlySpan<byte> label, TimeSpan duration)
    {
        if (_used[Stats] > BufferBytes - label.Length - 24)
        {
            WriteOut(Stats);
        }

        var buffer = _buffers[Stats].AsSpan(_used[Stats]);
        label.CopyTo(buffer);
        Utf8Formatter.TryFormat(duration.Ticks / 10, buffer[label.Length..], out var length);
        buffer[label.Length + length] = (byte)'\n';
        _used[Stats] += label.Length + length + 1;
    }

    private void WriteOut(int file)
    {
        if (_used[file] > 0 && _files[file] is { } stream)
        {
            stream.Write(_buffers[file], 0, _used[file]);
        }

        _used[file] = 0;
    }

    private void Fail(Exception ex)
    {
        _failure ??= $"{ex.GetType().Name}: {ex.Message}";
        Dispose();
    }

    private static FileStream Open(string path) => new(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1);
}
