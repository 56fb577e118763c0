using System.Diagnostics;
using System.Globalization;

namespace NrpHost.Profiling;

/// <summary>
/// The host's side of one simulation's step-latency profile. Python writes time stamps into two rings (one record per
/// <c>nrp.run_loop</c> call; with the embedded runtime one per FTI cycle, see <c>nrphost/profiling.py</c>); a thread of
/// this profiler reads them every 5 ms without the GIL and turns them into histograms, nrp-core's time-log files and
/// <c>nrphost.step.duration</c> measurements. Nothing per step is kept in memory.
/// </summary>
internal sealed class StepProfiler : IDisposable
{
    /// <summary>Records per ring: what may pile up between two reads (5 ms), over 1.6 million steps a second.</summary>
    public const int RingRecords = 8192;

    /// <summary>The most memory one ring takes; a cycle ring for an experiment with very many functions gets fewer records.</summary>
    private const long MaxRingBytes = 32L * 1024 * 1024;

    /// <summary>Values per <c>nrp.run_loop</c> record: entry, client call, client return.</summary>
    public const int HostSlots = 3;

    private static readonly TimeSpan ReadEvery = TimeSpan.FromMilliseconds(5);

    /// <summary>How often the time logs' buffers go to disk (they also do whenever one is full).</summary>
    private static readonly TimeSpan FlushEvery = TimeSpan.FromSeconds(1);

    private readonly Lock _lock = new();
    private readonly int _simulationId;
    private readonly string[] _engines;
    private readonly string[] _functions;
    private readonly LatencyHistogram _host = new();
    private readonly LatencyHistogram _runLoop = new();
    private readonly LatencyHistogram[] _phases = [new(), new(), new(), new(), new(), new()];
    private readonly LatencyHistogram[] _engineHistograms;
    private readonly LatencyHistogram[] _functionHistograms;
    private readonly Dictionary<long, (int[] Functions, int[] Engines)> _layouts = [];
    private readonly KeyValuePair<string, object?>[][] _phaseTags;
    private readonly KeyValuePair<string, object?>[][] _engineTags;
    private readonly KeyValuePair<string, object?>[][] _functionTags;
    private readonly ManualResetEventSlim _stop = new(false);
    private long[] _buffer = new long[1024];
    private TimeLogs? _logs;
    private Thread? _reader;
    private bool _disposed;
    private long _cycles;
    private long _lostCycles;
    private long _lostCalls;
    private long _unreadable;
    private string? _readFailure;
    private long _flushedAt = Stopwatch.GetTimestamp();

    public StepProfiler(int simulationId, int cycleSlots, IReadOnlyList<string> engines, IReadOnlyList<string> functions)
    {
        _simulationId = simulationId;
        _engines = [.. engines];
        _functions = [.. functions];
        _engineHistograms = [.. _engines.Select(_ => new LatencyHistogram())];
        _functionHistograms = [.. _functions.Select(_ => new LatencyHistogram())];
        _phaseTags = [.. PhaseNames.Select(p => new[] { new KeyValuePair<string, object?>("phase", p) })];
        _engineTags = [.. _engines.Select(e => new[] { new KeyValuePair<string, object?>("phase", StepPhases.Engine), new KeyValuePair<string, object?>("engine", e) })];
        _functionTags = [.. _functions.Select(f => new[] { new KeyValuePair<string, object?>("phase", StepPhases.Function), new KeyValuePair<string, object?>("function", f) })];
        HostRing = new StepRing(RingRecords, HostSlots);
        CycleRing = cycleSlots > 0 ? new StepRing(RecordsFor(cycleSlots), cycleSlots) : null;
    }

    /// <summary>The order of <see cref="_phases"/> and of <see cref="TimeLogs.WriteCycle"/>'s durations.</summary>
    private static readonly string[] PhaseNames =
    [
        StepPhases.Step, StepPhases.WaitForEngines, StepPhases.GetDatapacks, StepPhases.RunFunctions, StepPhases.SendDatapacks,
        StepPhases.RestartEngines, StepPhases.RunLoop, StepPhases.Host,
    ];

    /// <summary>Where <c>nrp.run_loop</c> writes.</summary>
    public StepRing HostRing { get; }

    /// <summary>Where the embedded runtime's FTI loop writes; null with a client that has none (a real nrp-core).</summary>
    public StepRing? CycleRing { get; }

    /// <summary>Whether Python writes the rings with the native stamps (<c>nrphost._stamp</c>), not its slower stand-in.</summary>
    public bool NativeStamps { get; init; }

    /// <summary>The time-log folder's name (relative to the simulation directory), once begun.</summary>
    public string? TimeLogsFolder { get; private set; }

    /// <summary>Why the time-log files stopped being written, or null.</summary>
    public string? TimeLogsFailure => _logs?.Failure;

    /// <summary>
    /// Creates the time-log folder in <paramref name="directory"/> (stamps are written relative to
    /// <paramref name="origin"/>, the Python clock in seconds; <c>experiment_stats.log</c> begins with
    /// <paramref name="initialization"/>) and starts reading.
    /// </summary>
    public void Begin(string directory, DateTimeOffset now, double origin, TimeSpan initialization)
    {
        // Named after this process, which runs the simulation's Python (a worker's, or the host's in-process), as
        // nrp-core names the folder after the NRPCoreSim process.
        _logs = TimeLogs.Create(directory, TimeLogs.FolderName(now, Environment.ProcessId), (long)Math.Round(origin * 1e9), CycleRing is not null, initialization);
        TimeLogsFolder = _logs.Name;
        _reader = new Thread(ReadLoop)
        {
            IsBackground = true,
            Name = string.Create(CultureInfo.InvariantCulture, $"NrpHost profile {_simulationId}"),
        };
        _reader.Start();
    }

    /// <summary>
    /// Reads what is new in the rings (also done every 5 ms by the reader thread). Never throws: what Python wrote is
    /// the script's to forge, and a record this cannot make sense of ends the reading (<see cref="ReadFailure"/>)
    /// instead of the host.
    /// </summary>
    public void Poll()
    {
        lock (_lock)
        {
            if (_disposed || _readFailure is not null)
            {
                return; // the rings are freed, or reading them stopped
            }

            try
            {
                Read();
            }
            catch (Exception ex)
            {
                _readFailure = ex.Message;
            }
        }
    }

    /// <summary>Why reading the rings stopped (a record that could not be read), or null.</summary>
    public string? ReadFailure
    {
        get
        {
            lock (_lock)
            {
                return _readFailure;
            }
        }
    }

    private void Read()
    {
        var (calls, lostCalls) = HostRing.Take(ref _buffer);
        _lostCalls += lostCalls;
        var record = _buffer.AsSpan(0, calls * HostSlots);
        var metrics = ProfileMetrics.Enabled;
        for (var i = 0; i < record.Length; i += HostSlots)
        {
            var called = Nanoseconds(record[i + 1]);
            var run = Nanoseconds(record[i + 2]) - called;
            Measure(_host, called - Nanoseconds(record[i]), 7, metrics);
            Measure(_runLoop, run, 6, metrics);
            _logs?.WriteRun(run);
        }

        if (CycleRing is { } cycles)
        {
            var (count, lost) = cycles.Take(ref _buffer);
            _lostCycles += lost;
            for (var i = 0; i < count; i++)
            {
                Cycle(_buffer.AsSpan(i * cycles.Slots, cycles.Slots), metrics);
            }

            if (Stopwatch.GetElapsedTime(_flushedAt) > FlushEvery)
            {
                _logs?.Flush();
                _flushedAt = Stopwatch.GetTimestamp();
            }
        }
    }

    /// <summary>The profile as it is now.</summary>
    public StepProfile Snapshot()
    {
        lock (_lock)
        {
            var phases = new Dictionary<string, StepStatistics>(StringComparer.Ordinal);
            for (var i = 0; i < _phases.Length; i++)
            {
                if (_phases[i].Count > 0)
                {
                    phases[PhaseNames[i]] = _phases[i].Statistics();
                }
            }

            if (_runLoop.Count > 0)
            {
                phases[StepPhases.RunLoop] = _runLoop.Statistics();
                phases[StepPhases.Host] = _host.Statistics();
            }

            return new StepProfile
            {
                SimulationId = _simulationId,
                Steps = CycleRing is null ? _runLoop.Count : _cycles,
                RunLoopCalls = _runLoop.Count,
                LostSteps = CycleRing is null ? _lostCalls : _lostCycles + _unreadable,
                TimeLogs = TimeLogsFolder,
                Phases = phases,
                Engines = Named(_engines, _engineHistograms),
                Functions = Named(_functions, _functionHistograms),
            };
        }
    }

    /// <summary>Stops the reader thread and reads what is left.</summary>
    public void StopReading()
    {
        _stop.Set();
        if (_reader is { } reader && reader != Thread.CurrentThread)
        {
            reader.Join(TimeSpan.FromSeconds(5));
        }

        Poll();
    }

    /// <summary>
    /// Ends <c>experiment_stats.log</c> (the client's shutdown, when it was shut down, and the total) and closes the time
    /// logs; returns the summary table for the log.
    /// </summary>
    public string Finish(TimeSpan? shutdown, TimeSpan total)
    {
        lock (_lock)
        {
            _logs?.Finish(shutdown, total);
        }

        return ProfileTable.Format(Snapshot());
    }

    /// <summary>
    /// Leaves the rings allocated for good (the process keeps them): for when something in Python may still write them.
    /// Returns the bytes kept.
    /// </summary>
    public long KeepRings()
    {
        lock (_lock)
        {
            return HostRing.Keep() + (CycleRing?.Keep() ?? 0);
        }
    }

    /// <summary>Frees the rings (unless kept): only once Python no longer writes them (its views are released).</summary>
    public void Dispose()
    {
        _stop.Set();
        lock (_lock)
        {
            _disposed = true;
            _logs?.Dispose();
            HostRing.Dispose();
            CycleRing?.Dispose();
        }
    }

    /// <summary><see cref="RingRecords"/>, or the largest power of two (at least 16) that keeps a ring of <paramref name="slots"/> under <see cref="MaxRingBytes"/>.</summary>
    internal static int RecordsFor(int slots)
    {
        var records = RingRecords;
        while (records > 16 && (long)records * slots * sizeof(long) > MaxRingBytes)
        {
            records /= 2;
        }

        return records;
    }

    private void ReadLoop()
    {
        while (!_stop.Wait(ReadEvery))
        {
            Poll();
        }
    }

    /// <summary>
    /// One FTI-cycle record: <c>[plan id, start, after get, after each function…, after send, after each engine…]</c>,
    /// or a plan layout <c>[-1 - plan id, functions, engines, function indices…, engine indices…]</c>; every value a double
    /// (stamps in seconds of the Python clock).
    /// </summary>
    private void Cycle(ReadOnlySpan<long> raw, bool metrics)
    {
        Span<long> record = raw.Length <= 256 ? stackalloc long[raw.Length] : new long[raw.Length];
        for (var i = 0; i < raw.Length; i++)
        {
            record[i] = i == 0 ? (long)BitConverter.Int64BitsToDouble(raw[0]) : Nanoseconds(raw[i]);
        }

        var plan = record[0];
        if (plan < 0)
        {
            for (var i = 1; i < raw.Length; i++)
            {
                record[i] = (long)BitConverter.Int64BitsToDouble(raw[i]);
            }

            // Counts as Python wrote them (a script can write any): each checked against the record before any sum.
            var functions = record[1];
            var engines = record[2];
            if (functions >= 0 && engines >= 0 && functions <= record.Length - 3 && engines <= record.Length - 3 - functions
                && ToIndices(record.Slice(3, (int)functions), _functions.Length) is { } functionIndices
                && ToIndices(record.Slice(3 + (int)functions, (int)engines), _engines.Length) is { } engineIndices)
            {
                _layouts[-1 - plan] = (functionIndices, engineIndices);
            }

            return;
        }

        if (!_layouts.TryGetValue(plan, out var layout) || 4 + layout.Functions.Length + layout.Engines.Length > record.Length)
        {
            _unreadable++;
            return;
        }

        var start = record[1];
        var afterGet = record[2];
        var previous = afterGet;
        var at = 3;
        foreach (var function in layout.Functions)
        {
            Measure(_functionHistograms[function], record[at] - previous, _functionTags[function], metrics);
            previous = record[at++];
        }

        var afterFunctions = previous;
        var afterSend = record[at++];
        previous = afterSend;
        foreach (var engine in layout.Engines)
        {
            Measure(_engineHistograms[engine], record[at] - previous, _engineTags[engine], metrics);
            previous = record[at++];
        }

        var afterRestart = previous;
        _cycles++;
        Measure(_phases[0], afterRestart - start, 0, metrics);
        Measure(_phases[1], 0, 1, metrics);
        Measure(_phases[2], afterGet - start, 2, metrics);
        Measure(_phases[3], afterFunctions - afterGet, 3, metrics);
        Measure(_phases[4], afterSend - afterFunctions, 4, metrics);
        Measure(_phases[5], afterRestart - afterSend, 5, metrics);
        _logs?.WriteCycle(start, start, afterGet, afterFunctions, afterSend, afterRestart);
    }

    /// <summary>A stamp of the Python clock (seconds, as a double's bits) in nanoseconds.</summary>
    internal static long Nanoseconds(long bits) => (long)Math.Round(BitConverter.Int64BitsToDouble(bits) * 1e9);

    private void Measure(LatencyHistogram histogram, long nanoseconds, int phase, bool metrics) =>
        Measure(histogram, nanoseconds, _phaseTags[phase], metrics);

    private static void Measure(LatencyHistogram histogram, long nanoseconds, KeyValuePair<string, object?>[] tags, bool metrics)
    {
        histogram.Record(nanoseconds);
        if (metrics)
        {
            ProfileMetrics.Record(nanoseconds / 1e9, tags);
        }
    }

    /// <summary>Indices below <paramref name="bound"/>, or null when one is not.</summary>
    private static int[]? ToIndices(ReadOnlySpan<long> values, int bound)
    {
        var result = new int[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            if (values[i] < 0 || values[i] >= bound)
            {
                return null;
            }

            result[i] = (int)values[i];
        }

        return result;
    }

    private static Dictionary<string, StepStatistics> Named(string[] names, LatencyHistogram[] histograms)
    {
        var result = new Dictionary<string, StepStatistics>(StringComparer.Ordinal);
        for (var i = 0; i < names.Length; i++)
        {
            if (histograms[i].Count > 0)
            {
                result.TryAdd(names[i], histograms[i].Statistics());
            }
        }

        return result;
    }
}
