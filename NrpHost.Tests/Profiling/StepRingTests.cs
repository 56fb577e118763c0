using System.Runtime.InteropServices;
using NrpHost.Profiling;

namespace NrpHost.Tests.Profiling;

/// <summary>The native ring the Python side writes, driven here by a stand-in producer that writes as Python does.</summary>
public sealed class StepRingTests
{
    [Fact]
    public void Take_ReturnsEveryRecordOnce_InOrder()
    {
        using var ring = new StepRing(8, 3);
        var producer = new Producer(ring);
        var buffer = new long[4];
        for (var n = 0; n < 5; n++)
        {
            producer.Write(n);
        }

        var (copied, lost) = ring.Take(ref buffer);
        Assert.Equal((5, 0L), (copied, lost));
        Assert.Equal(Enumerable.Range(0, 5).SelectMany(n => new long[] { n, n + 1, n + 2 }), buffer.Take(15));
        Assert.Equal((0, 0L), ring.Take(ref buffer));
        producer.Write(5);
        Assert.Equal((1, 0L), ring.Take(ref buffer));
        Assert.Equal([5L, 6, 7], buffer.Take(3));
    }

    [Fact]
    public void Take_AfterTheProducerLappedTheRing_CountsTheOverwrittenRecordsAsLost_AndReadsTheRestIntact()
    {
        using var ring = new StepRing(8, 3);
        var producer = new Producer(ring);
        var buffer = Array.Empty<long>();
        for (var n = 0; n < 21; n++)
        {
            producer.Write(n);
        }

        // 21 written into 8 slots: records 0-12 are gone, and record 13 shares its slot with record 21, which the
        // producer may be writing right now, so it is not trusted either.
        var (copied, lost) = ring.Take(ref buffer);
        Assert.Equal(14, lost);
        Assert.Equal(7, copied);
        for (var i = 0; i < copied; i++)
        {
            var n = 14 + i;
            Assert.Equal(new long[] { n, n + 1, n + 2 }, buffer.Skip(i * 3).Take(3));
        }
    }

    [Fact]
    public async Task Take_WhileAProducerWritesFlatOut_NeverReturnsATornRecord()
    {
        using var ring = new StepRing(16, 4);
        var producer = new Producer(ring);
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() =>
        {
            for (long n = 0; !stop.IsCancellationRequested; n++)
            {
                producer.Write(n);
            }
        });
        var buffer = Array.Empty<long>();
        long seen = 0, lost = 0;
        while (seen + lost < 2_000_000)
        {
            var (copied, dropped) = ring.Take(ref buffer);
            lost += dropped;
            for (var i = 0; i < copied; i++)
            {
                var first = buffer[i * 4];
                Assert.Equal(new[] { first, first + 1, first + 2, first + 3 }, buffer.Skip(i * 4).Take(4));
            }

            seen += copied;
        }

        await stop.CancelAsync();
        await writer;
        Assert.True(seen > 0);
    }

    [Fact]
    public void Ring_OfAWrongSize_IsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new StepRing(12, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StepRing(8, 0));
    }

    [Fact]
    public unsafe void Keep_LeavesTheMemoryAllocated_AndTheRingReadsNothingMore()
    {
        var ring = new StepRing(8, 3);
        var producer = new Producer(ring);
        producer.Write(0);
        var address = ring.Address;

        Assert.Equal((1 + (8 * 3)) * sizeof(long), ring.Keep());
        Assert.Equal(0, ring.Keep());
        var buffer = Array.Empty<long>();
        Assert.Equal((0, 0L), ring.Take(ref buffer));
        ring.Dispose();

        // Still ours: a writer that outlived the session writes into memory nobody else was given.
        Marshal.WriteInt64(address, 8, 42);
        Assert.Equal(42, Marshal.ReadInt64(address, 8));
        NativeMemory.Free((void*)address);
    }

    /// <summary>Writes record n as n, n+1, …, then the count, as <c>nrphost/profiling.py</c> does.</summary>
    private sealed class Producer(StepRing ring)
    {
        private long _written;

        public void Write(long n)
        {
            var record = ring.Address + (8 * (1 + ((_written & (ring.Records - 1)) * ring.Slots)));
            for (var i = 0; i < ring.Slots; i++)
            {
                Marshal.WriteInt64((nint)record, 8 * i, n + i);
            }

            _written++;
            Interlocked.MemoryBarrier();
            Marshal.WriteInt64(ring.Address, _written);
        }
    }
}
