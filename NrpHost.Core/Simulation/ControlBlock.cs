using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using NrpHost.Isolation;

namespace NrpHost.Simulation;

/// <summary>
/// Eight int64 slots of native memory shared with the simulation's Python <c>nrp</c> object, so that pause, stop
/// and the step counters cross between .NET and Python without the GIL and without a call per step. The slot
/// layout is <c>CTL_*</c> in <c>nrphost/runner.py</c>.
/// </summary>
/// <remarks>
/// <para>
/// In-process the block is native memory of this process. For a simulation in a worker process it is a small file
/// mapped by both the host and the worker (<see cref="CreateShared"/>, <see cref="OpenShared"/>): the host moves the
/// pause gate by writing the flags and waking the waiting script with a futex, exactly as fast as in-process (one
/// wake-up, no message), and reads the step counter and the last resume where the script writes them. The worker's
/// script can write the block too; it only ever lies to the host about its own simulation, and the host clamps what
/// it reads.
/// </para>
/// <para>
/// Python holds a view of this memory from the session's creation until the session is closed. The owner
/// (<see cref="SimulationWorker"/>) frees it only after that, on the thread that closed the session; a block whose
/// thread was abandoned is never freed.
/// </para>
/// </remarks>
internal sealed unsafe class ControlBlock : IDisposable
{
    private const int Slots = 8;
    private const long FlagPaused = 1;
    private const long FlagStop = 2;

    /// <summary>The longest a waiting script sleeps before it looks at the flags again (a missed wake-up costs at most this).</summary>
    private static readonly TimeSpan WaitSlice = TimeSpan.FromMilliseconds(250);

    private readonly MemoryMappedFile? _file;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly string? _deleteOnDispose;
    private long* _slots;

    public ControlBlock()
    {
        _slots = (long*)NativeMemory.AllocZeroed(Slots, sizeof(long));
    }

    private ControlBlock(MemoryMappedFile file, MemoryMappedViewAccessor view, string? deleteOnDispose)
    {
        _file = file;
        _view = view;
        _deleteOnDispose = deleteOnDispose;
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _slots = (long*)(pointer + view.PointerOffset);
    }

    /// <summary>Makes a block in a new file at <paramref name="path"/> (only its owner may read it), to share with a worker process; the file goes when it is disposed.</summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public static ControlBlock CreateShared(string path)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.ReadWrite,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        using (var stream = new FileStream(path, options))
        {
            stream.SetLength(Slots * sizeof(long));
        }

        return Map(path, deleteOnDispose: path);
    }

    /// <summary>Maps the block a host made at <paramref name="path"/> (in the worker process).</summary>
    public static ControlBlock OpenShared(string path) => Map(path, deleteOnDispose: null);

    private static ControlBlock Map(string path, string? deleteOnDispose)
    {
        var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, mapName: null, Slots * sizeof(long), MemoryMappedFileAccess.ReadWrite);
        try
        {
            return new ControlBlock(file, file.CreateViewAccessor(0, Slots * sizeof(long), MemoryMappedFileAccess.ReadWrite), deleteOnDispose);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Whether the block is shared with another process (the pause gate is the block itself).</summary>
    public bool IsShared => _file is not null;

    /// <summary>The address handed to Python.</summary>
    public nint Address => (nint)_slots;

    public bool IsStopRequested => (Volatile.Read(ref _slots[0]) & FlagStop) != 0;

    /// <summary>Sets the flags for a gate position (see <see cref="GatePosition"/>), waking a script waiting in another process.</summary>
    public void Move(GatePosition position)
    {
        switch (position)
        {
            case GatePosition.Closed:
                SetPaused(true);
                break;
            case GatePosition.Open:
                SetPaused(false);
                break;
            default:
                RequestStop();
                SetPaused(false);
                break;
        }
    }

    public void SetPaused(bool paused)
    {
        if (paused)
        {
            Interlocked.Or(ref _slots[0], FlagPaused);
        }
        else
        {
            Interlocked.And(ref _slots[0], ~FlagPaused);
            Wake();
        }
    }

    public void RequestStop()
    {
        Interlocked.Or(ref _slots[0], FlagStop);
        Wake();
    }

    /// <summary>
    /// Waits while the gate is closed and no stop is asked (a shared block: the script's side; the host opens it with
    /// <see cref="SetPaused"/> or <see cref="RequestStop"/>). Called without the GIL.
    /// </summary>
    public void WaitWhilePaused()
    {
        while (true)
        {
            var flags = Volatile.Read(ref _slots[0]);
            if ((flags & FlagPaused) == 0 || (flags & FlagStop) != 0)
            {
                return;
            }

            Libc.FutexWait((int*)_slots, (int)flags, WaitSlice);
        }
    }

    /// <summary>Wakes a script waiting in another process at this block's gate (nothing for a block of this process).</summary>
    private void Wake()
    {
        if (IsShared)
        {
            Libc.FutexWake((int*)_slots);
        }
    }

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
    /// <c>perf_counter_ns</c> and Stopwatch both read CLOCK_MONOTONIC in nanoseconds on Linux, the same clock in every
    /// process of the machine); 0 before the first resume.
    /// </summary>
    public long ResumedAt => Volatile.Read(ref _slots[6]);

    public void Dispose()
    {
        var slots = _slots;
        _slots = null;
        if (slots is null)
        {
            return;
        }

        if (_view is null)
        {
            NativeMemory.Free(slots);
            return;
        }

        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file!.Dispose();
        if (_deleteOnDispose is not null)
        {
            try
            {
                File.Delete(_deleteOnDispose);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // A leftover file of 64 bytes; the next one has another name.
            }
        }
    }
}
