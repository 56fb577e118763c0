using System.Runtime.InteropServices;

namespace NrpHost.Simulation;

/// <summary>
/// Eight int64 slots of native memory shared with the simulation's Python <c>nrp</c> object, so that pause, stop
/// and the step counters cross between .NET and Python without the GIL and without a call per step. The slot
/// layout is <c>CTL_*</c> in <c>nrphost/runner.py</c>.
/// </summary>
/// <remarks>
/// Python holds a view of this memory from the session's creation until the session is closed. The owner
/// (<see cref="SimulationWorker"/>) frees it only after that, on the thread that closed the session; a block whose
/// thread was abandoned is never freed.
/// </remarks>
internal sealed unsafe class ControlBlock : IDisposable
{
    private const int Slots = 8;
    private const long FlagPaused = 1;
    private const long FlagStop = 2;
    private long* _slots;

    public ControlBlock()
    {
        _slots = (long*)NativeMemory.AllocZeroed(Slots, sizeof(long));
    }

    /// <summary>The address handed to Python.</summary>
    public nint Address => (nint)_slots;

    public bool IsStopRequested => (Volatile.Read(ref _slots[0]) & FlagStop) != 0;

    public void SetPaused(bool paused)
    {
        if (paused)
        {
            Interlocked.Or(ref _slots[0], FlagPaused);
        }
        else
        {
            Interlocked.And(ref _slots[0], ~FlagPaused);
        }
    }

    public void RequestStop() => Interlocked.Or(ref _slots[0], FlagStop);

    /// <summary>Iterations done.</summary>
    public long Steps => Volatile.Read(ref _slots[1]);

    /// <summary>The Python thread id of the simulation thread, 0 until it is known.</summary>
    public long PythonThreadId => Volatile.Read(ref _slots[4]);

    /// <summary>
    /// Whether the simulation thread runs user code (the client's construction or <c>initialize</c>, the script, the
    /// client's <c>shutdown</c>). Stable while the reader holds the GIL, because only that thread writes it.
    /// </summary>
    public bool InUserCode => Volatile.Read(ref _slots[5]) != 0;

    /// <summary>
    /// When the script last left the pause gate, as a <see cref="System.Diagnostics.Stopwatch"/> timestamp (Python's
    /// <c>perf_counter_ns</c> and Stopwatch both read CLOCK_MONOTONIC in nanoseconds on Linux); 0 before the first resume.
    /// </summary>
    public long ResumedAt => Volatile.Read(ref _slots[6]);

    public void Dispose()
    {
        var slots = _slots;
        _slots = null;
        if (slots is not null)
        {
            NativeMemory.Free(slots);
        }
    }
}
