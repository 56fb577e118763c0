namespace NrpHost.Profiling;

/// <summary>
/// <c>nrphost.step.duration</c> measured in a worker process, per tag set and histogram bucket (count and sum), until
/// the next profile message takes them to the host (<see cref="Take"/>). The host records each bucket's values at their
/// mean (<see cref="StepDurationReplay"/>): the same bucket counts and sums as if they had been measured in the host.
/// </summary>
internal sealed class StepDurationRelay
{
    private readonly Lock _lock = new();
    private readonly Dictionary<KeyValuePair<string, object?>[], (long[] Counts, double[] Sums)> _pending = new(ReferenceEqualityComparer.Instance);

    public void Record(double seconds, KeyValuePair<string, object?>[] tags)
    {
        var bucket = BucketOf(seconds);
        lock (_lock)
        {
            if (!_pending.TryGetValue(tags, out var sums))
            {
                _pending[tags] = sums = (new long[ProfileMetrics.Buckets.Length + 1], new double[ProfileMetrics.Buckets.Length + 1]);
            }

            sums.Counts[bucket]++;
            sums.Sums[bucket] += seconds;
        }
    }

    /// <summary>What was measured since the last call, or null when nothing was.</summary>
    public IReadOnlyList<StepDurations>? Take()
    {
        lock (_lock)
        {
            if (_pending.Count == 0)
            {
                return null;
            }

            var taken = _pending.Select(p => new StepDurations(
                p.Key.ToDictionary(t => t.Key, t => t.Value?.ToString() ?? string.Empty, StringComparer.Ordinal), p.Value.Counts, p.Value.Sums)).ToList();
            _pending.Clear();
            return taken;
        }
    }

    /// <summary>The index of the bucket <paramref name="seconds"/> falls in: the first bound at or above it, else the last (overflow) bucket.</summary>
    internal static int BucketOf(double seconds)
    {
        var at = Array.BinarySearch(ProfileMetrics.Buckets, seconds);
        return at >= 0 ? at : ~at;
    }
}

/// <summary>One tag set's step durations from a worker: per bucket of <see cref="ProfileMetrics.Buckets"/> (and one above), how many and their sum in seconds.</summary>
internal sealed record StepDurations(IReadOnlyDictionary<string, string> Tags, long[] Counts, double[] Sums);

/// <summary>
/// Records in the host what a simulation's worker measured. A worker runs the script's code, so what it sends is
/// checked: known phases only, engines and functions of its profile only, sane counts and sums, and at most
/// <see cref="RecordsPerSecond"/> values a second (a flood is refused, not replayed).
/// </summary>
internal sealed class StepDurationReplay
{
    /// <summary>The most values replayed per second (an honest worker measures well under this: about ten per step).</summary>
    public const long RecordsPerSecond = 2_000_000;

    private const int MaxTagSets = 1024;
    private const int MaxNameLength = 256;

    private static readonly HashSet<string> PlainPhases = new(StringComparer.Ordinal)
    {
        StepPhases.Step, StepPhases.WaitForEngines, StepPhases.GetDatapacks, StepPhases.RunFunctions,
        StepPhases.SendDatapacks, StepPhases.RestartEngines, StepPhases.RunLoop, StepPhases.Host,
    };

    private readonly TimeProvider _time;
    private double _budget = RecordsPerSecond;
    private long _refilledAt;

    public StepDurationReplay(TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _refilledAt = _time.GetTimestamp();
    }

    /// <summary>Records <paramref name="durations"/>; null when done, else why nothing was recorded.</summary>
    public string? Replay(IReadOnlyList<StepDurations>? durations, StepProfile? profile)
    {
        if (durations is null || durations.Count == 0 || !ProfileMetrics.StepDuration.Enabled)
        {
            return null;
        }

        if (profile is null)
        {
            return "no profile came with them";
        }

        if (durations.Count > MaxTagSets)
        {
            return $"{durations.Count} tag sets (at most {MaxTagSets})";
        }

        var tags = new KeyValuePair<string, object?>[durations.Count][];
        long total = 0;
        for (var i = 0; i < durations.Count; i++)
        {
            var d = durations[i];
            if (Problem(d, profile) is { } problem)
            {
                return problem;
            }

            tags[i] = [.. d.Tags.OrderBy(t => t.Key == "phase" ? 0 : 1).Select(t => new KeyValuePair<string, object?>(t.Key, t.Value))];
            total += d.Counts.Sum();
        }

        var now = _time.GetTimestamp();
        _budget = Math.Min(RecordsPerSecond, _budget + (_time.GetElapsedTime(_refilledAt, now).TotalSeconds * RecordsPerSecond));
        _refilledAt = now;
        if (total > _budget)
        {
            return $"{total} values, more than the {RecordsPerSecond} a second a worker may send";
        }

        _budget -= total;
        for (var i = 0; i < durations.Count; i++)
        {
            var (counts, sums) = (durations[i].Counts, durations[i].Sums);
            for (var bucket = 0; bucket < counts.Length; bucket++)
            {
                // The values of one bucket at their mean: the mean of values within a bucket's bounds is within them.
                var mean = counts[bucket] == 0 ? 0 : sums[bucket] / counts[bucket];
                for (var n = 0L; n < counts[bucket]; n++)
                {
                    ProfileMetrics.StepDuration.Record(mean, tags[i]);
                }
            }
        }

        return null;
    }

    private static string? Problem(StepDurations? d, StepProfile profile)
    {
        var buckets = ProfileMetrics.Buckets.Length + 1;
        if (d is null)
        {
            return "an empty entry";
        }

        if (d.Counts is null || d.Sums is null || d.Counts.Length != buckets || d.Sums.Length != buckets)
        {
            return $"not {buckets} buckets";
        }

        for (var bucket = 0; bucket < buckets; bucket++)
        {
            var (count, sum) = (d.Counts[bucket], d.Sums[bucket]);
            // Within the bucket's bounds, give or take the rounding of a long sum.
            var low = bucket == 0 ? double.MinValue : ProfileMetrics.Buckets[bucket - 1] * (1 - 1e-9);
            var high = bucket < ProfileMetrics.Buckets.Length ? ProfileMetrics.Buckets[bucket] * (1 + 1e-9) : double.MaxValue;
            if (count < 0 || !double.IsFinite(sum) || (count == 0 ? sum != 0 : sum / count < low || sum / count > high))
            {
                return $"bucket {bucket} holds {count} values summing to {sum} s";
            }
        }

        var phase = d.Tags?.GetValueOrDefault("phase");
        var ok = (phase, d.Tags?.Count) switch
        {
            (StepPhases.Engine, 2) => Named(d.Tags!.GetValueOrDefault("engine"), profile.Engines),
            (StepPhases.Function, 2) => Named(d.Tags!.GetValueOrDefault("function"), profile.Functions),
            ({ } plain, 1) => PlainPhases.Contains(plain),
            _ => false,
        };
        return ok ? null : "tags " + string.Join(", ", (d.Tags ?? new Dictionary<string, string>()).Take(4).Select(t => $"{Cut(t.Key)}={Cut(t.Value)}"));
    }

    private static bool Named(string? name, IReadOnlyDictionary<string, StepStatistics>? known) =>
        name is { Length: > 0 and <= MaxNameLength } && known is not null && known.ContainsKey(name);

    private static string Cut(string? text) => text is null ? "null" : text.Length <= 40 ? text : text[..40] + "…";
}
