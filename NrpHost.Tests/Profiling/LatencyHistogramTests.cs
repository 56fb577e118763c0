using NrpHost.Profiling;

namespace NrpHost.Tests.Profiling;

public sealed class LatencyHistogramTests
{
    [Fact]
    public void Statistics_AreExactForCountMeanAndMax_AndPercentilesWithinTwoPercent()
    {
        var random = new Random(7);
        var values = Enumerable.Range(0, 20_000).Select(_ => (long)(Math.Exp(random.NextDouble() * 16) + random.Next(50))).ToArray();
        var histogram = new LatencyHistogram();
        foreach (var value in values)
        {
            histogram.Record(value);
        }

        var statistics = histogram.Statistics();
        var sorted = values.Order().ToArray();
        Assert.Equal(values.Length, statistics.Count);
        Assert.Equal(values.Average() / 1000, statistics.Mean, 9);
        Assert.Equal(sorted[^1] / 1000.0, statistics.Max);
        foreach (var (q, actual) in new[] { (0.5, statistics.P50), (0.9, statistics.P90), (0.99, statistics.P99) })
        {
            var exact = sorted[(int)Math.Ceiling(q * sorted.Length) - 1] / 1000.0;
            Assert.InRange(actual, (exact * 0.98) - 0.001, (exact * 1.02) + 0.001);
        }
    }

    [Fact]
    public void HostileValues_NegativeZeroAndHuge_AreCountedWithoutThrowing()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(-5);
        histogram.Record(0);
        histogram.Record(long.MaxValue);
        var statistics = histogram.Statistics();
        Assert.Equal(3, statistics.Count);
        Assert.Equal(0, statistics.P50);
        Assert.Equal(long.MaxValue / 1000.0, statistics.Max);
        Assert.Equal(default, new LatencyHistogram().Statistics());
    }
}
