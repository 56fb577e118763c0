using System.Buffers.Text;
using System.Globalization;
using System.Text;
using NrpHost.Storage;

namespace NrpHost.Profiling;

/// <summary>
/// nrp-core's time-profiler files in a <c>time_logs&lt;timestamp&gt;</c> folder: one line per datapack cycle in
/// <c>step_start.log</c>, <c>after_wait_for_engines.log</c>, <c>after_get_datapacks.log</c>, <c>after_run_tfs.log</c>,
/// <c>after_send_datapacks.log</c> and <c>after_restart_engines.log</c> (microseconds since the profile began) and
/// <c>step_duration.log</c> (microseconds), then <c>experiment_stats.log</c> at the end. Streamed through small
/// buffers, never kept. A write that fails (a full disk) stops the files and is reported once; the profile goes on.
/// </summary>
internal sealed class TimeLogs : IDisposable
{
    /// <summary>The per-cycle files, in the order of <see cref="WriteCycle"/>'s arguments.</summary>
    public static readonly string[] CycleFiles =
    [
        "step_start", "after_wait_for_engines", "after_get_datapacks", "after_run_tfs", "after_send_datapacks",
        "after_restart_engines", "step_duration",
    ];

    private const int BufferBytes = 16384;
    private readonly FileStream?[] _files = new FileStream?[CycleFiles.Length];
    private readonly byte[][] _buffers = [.. CycleFiles.Select(_ => new byte[BufferBytes])];
    private readonly int[] _used = new int[CycleFiles.Length];
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

    /// <summary><c>time_logs&lt;yyyyMMdd-HHmmss&gt;-&lt;simulation id&gt;</c>, the timestamp as nrp-core writes it.</summary>
    public static string FolderName(DateTimeOffset now, int simulationId) =>
        "time_logs" + now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + string.Create(CultureInfo.InvariantCulture, $"-{simulationId}");

    /// <summary>
    /// Creates the folder under <paramref name="directory"/>, under <paramref name="name"/> or, when something of that
    /// name is there already (the experiment's own files, a link), <c>name-2</c>, <c>name-3</c>…; its per-cycle files are
    /// made only when <paramref name="cycles"/>. <see cref="Name"/> says which.
    /// </summary>
    public static TimeLogs Create(string directory, string name, long origin, bool cycles)
    {
        var chosen = name;
        for (var suffix = 2; SafeFile.KindOf(Path.Combine(directory, chosen)) != EntryKind.Missing && suffix < 1000; suffix++)
        {
            chosen = string.Create(CultureInfo.InvariantCulture, $"{name}-{suffix}");
        }

        var logs = new TimeLogs(Path.Combine(directory, chosen), origin) { Name = chosen };
        try
        {
            Directory.CreateDirectory(logs.Folder);
            if (SafeFile.KindOf(logs.Folder) != EntryKind.Directory)
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

    /// <summary>Writes <c>experiment_stats.log</c> (label and microseconds per line, the total last) and closes every file.</summary>
    public void Finish(IReadOnlyList<(string Label, TimeSpan Duration)> stats)
    {
        Flush();
        if (_failure is null)
        {
            try
            {
                using var file = Open(Path.Combine(Folder, "experiment_stats.log"));
                var text = new StringBuilder();
                foreach (var (label, duration) in stats)
                {
                    text.Append(CultureInfo.InvariantCulture, $"{label} {(long)(duration.TotalMilliseconds * 1000)}\n");
                }

                file.Write(Encoding.UTF8.GetBytes(text.ToString()));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Fail(ex);
            }
        }

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
