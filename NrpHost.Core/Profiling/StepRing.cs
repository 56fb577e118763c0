using System.Runtime.InteropServices;

namespace NrpHost.Profiling;

/// <summary>
/// A ring of fixed-size records of int64 in native memory, written by Python (one producer, the simulation's thread,
/// see <c>nrphost/profiling.py</c>) and read here without the GIL. Slot 0 holds how many records were written; record
/// <c>n</c> is at <c>1 + (n % Records) * Slots</c>. The producer writes a record's values, then the count.
/// </summary>
/// <remarks>
/// The reader copies the records between its position and the count, then reads the count again: a record that the
/// producer may have started to overwrite meanwhile (one whole ring behind the new count) is dropped and counted as
/// lost, never read torn. The native writer (<c>native/_stamp.c</c>) publishes the count with release semantics; its
/// Python stand-in relies on stores becoming visible in program order (x86-64), as the control block does. The memory
/// is freed only once Python has let go of it (<see cref="Dispose"/> after the session is closed), or never
/// (<see cref="Keep"/>) when a view of it may outlive the session.
/// </remarks>
internal sealed unsafe class StepRing : IDisposable
{
    private long* _memory;
    private long _read;

    public StepRing(int records, int slots)
    {
        if (records <= 0 || (records & (records - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(records), records, "The number of records must be a power of two.");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(slots);
        Records = records;
        Slots = slots;
        _memory = (long*)NativeMemory.AllocZeroed((nuint)(1 + ((long)records * slots)), sizeof(long));
    }

    public int Records { get; }

    public int Slots { get; }

    /// <summary>The address handed to Python.</summary>
    public nint Address => (nint)_memory;

    /// <summary>Records read so far, lost ones included.</summary>
    public long Read => _read;

    /// <summary>
    /// Copies the records written since the last call, oldest first, into <paramref name="buffer"/> (grown as needed,
    /// <see cref="Slots"/> values per record). Returns how many were copied and how many were lost.
    /// </summary>
    public (int Copied, long Lost) Take(ref long[] buffer)
    {
        var memory = _memory;
        if (memory is null)
        {
            return (0, 0);
        }

        var written = Volatile.Read(ref memory[0]);
        var first = _read;
        long lost = 0;
        if (written - first > Records)
        {
            lost = written - first - Records;
            first = written - Records;
        }

        var count = (int)(written - first);
        if (count == 0)
        {
            _read = written;
            return (0, lost);
        }

        if (buffer.Length < count * Slots)
        {
            buffer = new long[Math.Max(count * Slots, buffer.Length * 2)];
        }

        var mask = Records - 1;
        for (var i = 0; i < count; i++)
        {
            var source = new ReadOnlySpan<long>(memory + 1 + (((first + i) & mask) * Slots), Slots);
            source.CopyTo(buffer.AsSpan(i * Slots, Slots));
        }

        // Records the producer may have begun to overwrite while they were copied are dropped.
        var after = Volatile.Read(ref memory[0]);
        var overwritten = (int)Math.Clamp(after - Records + 1 - first, 0, count);
        if (overwritten > 0)
        {
            buffer.AsSpan(overwritten * Slots, (count - overwritten) * Slots).CopyTo(buffer);
            count -= overwritten;
            lost += overwritten;
        }

        _read = written;
        return (count, lost);
    }

    /// <summary>Forgets the memory without freeing it (it stays allocated until the process ends); returns its size.</summary>
    public long Keep()
    {
        if (_memory is null)
        {
            return 0;
        }

        _memory = null;
        return (1 + ((long)Records * Slots)) * sizeof(long);
    }

    public void Dispose()
    {
        var memory = _memory;
        _memory = null;
        if (memory is not null)
        {
            NativeMemory.Free(memory);
        }
    }
}
