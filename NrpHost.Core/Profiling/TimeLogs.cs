using System.Globalization;
using System.Text;

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

    private readonly StreamWriter?[] _writers = new StreamWriter?[CycleFiles.Length];
    private readonly long _origin;
    private string? _failure;

    private TimeLogs(string folder, long origin)
    {
        Folder = folder;
        _origin = origin;
    }

    /// <summary>The folder (absolute).</summary>
    public string Folder { get; }

    /// <summary>Why the files stopped, or null while they are written.</summary>
    public string? Failure => _failure;

    /// <summary><c>time_logs&lt;yyyyMMdd-HHmmss&gt;-&lt;simulation id&gt;</c>, the timestamp as nrp-core writes it.</summary>
    public static string FolderName(DateTimeOffset now, int simulationId) =>
        "time_logs" + now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + string.Create(CultureInfo.InvariantCulture, $"-{simulationId}");

    /// <summary>Creates the folder under <paramref name="directory"/>; its per-cycle files are made only when <paramref name="cycles"/>.</summary>
    public static TimeLogs Create(string directory, string name, long origin, bool cycles)
    {
        var logs = new TimeLogs(Path.Combine(directory, name), origin);
        try
        {
            Directory.CreateDirectory(logs.Folder);
            if (cycles)
            {
                for (var i = 0; i < CycleFiles.Length; i++)
                {
                    logs._writers[i] = Open(Path.Combine(logs.Folder, CycleFiles[i] + ".log"));
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
        if (_failure is not null || _writers[0] is null)
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
            foreach (var writer in _writers)
            {
                writer?.Flush();
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
                using var writer = Open(Path.Combine(Folder, "experiment_stats.log"));
                foreach (var (label, duration) in stats)
                {
                    writer.Write(label);
                    writer.Write(' ');
                    writer.Write(((long)(duration.TotalMilliseconds * 1000)).ToString(CultureInfo.InvariantCulture));
                    writer.Write('\n');
                }
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
        for (var i = 0; i < _writers.Length; i++)
        {
            try
            {
                _writers[i]?.Dispose();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _failure ??= ex.Message;
            }

            _writers[i] = null;
        }
    }

    private long Micro(long stamp) => Math.Max(0, stamp - _origin) / 1000;

    private void Line(int file, long value)
    {
        var writer = _writers[file]!;
        Span<char> text = stackalloc char[24];
        value.TryFormat(text, out var length, provider: CultureInfo.InvariantCulture);
        text[length] = '\n';
        writer.Write(text[..(length + 1)]);
    }

    private void Fail(Exception ex)
    {
        _failure ??= $"{ex.GetType().Name}: {ex.Message}";
        Dispose();
    }

    private static StreamWriter Open(string path) =>
        new(new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 4096), new UTF8Encoding(false), 16384) { NewLine = "\n" };
}
