using System.Numerics;

namespace NrpHost.Profiling;

/// <summary>
/// Durations in nanoseconds, kept in log-linear buckets (32 per power of two, so a percentile is within 1/64 of the
/// exact value) plus their exact count, sum, minimum and maximum. Its size is fixed whatever it counts. Not thread-safe.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int SubBits = 5;
    private const int SubBuckets = 1 << SubBits;
    private const int MaxExponent = 62;
    private readonly long[] _buckets = new long[(MaxExponent - SubBits + 2) * SubBuckets];
    private long _count;
    private double _sum;
    private long _min = long.MaxValue;
    private long _max;

    public long Count => _count;

    public void Record(long nanoseconds)
    {
        var value = Math.Max(0, nanoseconds);
        _buckets[Index(value)]++;
        _count++;
        _sum += value;
        _min = Math.Min(_min, value);
        _max = Math.Max(_max, value);
    }

    /// <summary>The statistics in microseconds.</summary>
    public StepStatistics Statistics()
    {
        if (_count == 0)
        {
            return default;
        }

        return new StepStatistics(
            _count,
            _sum / _count / 1000.0,
            Percentile(0.50) / 1000.0,
            Percentile(0.90) / 1000.0,
            Percentile(0.99) / 1000.0,
            _max / 1000.0);
    }

    /// <summary>The nearest-rank percentile: the middle of the bucket holding it, kept within the exact minimum and maximum.</summary>
    private double Percentile(double quantile)
    {
        var rank = Math.Max(1, (long)Math.Ceiling(quantile * _count));
        long seen = 0;
        for (var i = 0; i < _buckets.Length; i++)
        {
            seen += _buckets[i];
            if (seen >= rank)
            {
                var (lower, width) = Bounds(i);
                return Math.Clamp(lower + ((width - 1) / 2.0), _min, _max);
            }
        }

        return _max;
    }

    private static int Index(long value)
    {
        if (value < SubBuckets)
        {
            return (int)value;
        }

        var exponent = BitOperations.Log2((ulong)value);
        var sub = (int)(value >> (exponent - SubBits)) & (SubBuckets - 1);
        return ((exponent - SubBits + 1) * SubBuckets) + sub;
    }

    private static (double Lower, double Width) Bounds(int index)
    {
        if (index < SubBuckets)
        {
            return (index, 1);
        }

        var exponent = (index / SubBuckets) + SubBits - 1;
        var sub = index % SubBuckets;
        var width = Math.Pow(2, exponent - SubBits);
        return ((SubBuckets + sub) * width, width);
    }
}
