using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using NrpHost.Profiling;
using NrpHost.Tests.Infrastructure;
using NrpHost.Tests.NrpCore;

namespace NrpHost.Tests.Profiling;

/// <summary>
/// <c>nrphost.step.duration</c> measured in a worker process reaches the host's metrics: the relay in the worker, the
/// checked replay in the host, and a scrape of <c>/metrics</c> after a simulation in Process isolation.
/// </summary>
public sealed partial class StepDurationRelayTests
{
    private const string Token = "relay-metrics-api-token-0123456789";

    [Fact]
    public void Replayed_GivesTheHostTheSameBucketsAndSums_AsMeasuringThere()
    {
        var engine = "relay-" + Guid.NewGuid().ToString("N");
        var tags = new[] { new KeyValuePair<string, object?>("phase", StepPhases.Engine), new KeyValuePair<string, object?>("engine", engine) };
        double[] measured = [0, 0.5e-6, 1e-6, 3e-6, 3.5e-6, 0.0007, 0.0009, 0.02, 0.3, 1, 7.5];
        var relay = new StepDurationRelay();
        foreach (var seconds in measured)
        {
            relay.Record(seconds, tags);
        }

        using var recorded = new Recorded((_, t) => t.Any(tag => Equals(tag.Value, engine)));
        Assert.Null(new StepDurationReplay().Replay(relay.Take(), Profile(engines: [engine])));

        Assert.Equal(measured.GroupBy(StepDurationRelay.BucketOf).ToDictionary(g => g.Key, g => g.Count()),
            recorded.Values.GroupBy(StepDurationRelay.BucketOf).ToDictionary(g => g.Key, g => g.Count()));
        Assert.Equal(measured.Sum(), recorded.Values.Sum(), 9);
        Assert.All(recorded.Tags, t => Assert.Equal(tags, t));
        Assert.Null(relay.Take()); // taken once
    }

    [Theory]
    [InlineData("a phase that does not exist", "tags phase=made_up")]
    [InlineData("an engine not in the profile", "tags phase=engine, engine=other")]
    [InlineData("an extra tag", "tags phase=step, user=x")]
    [InlineData("too few buckets", "not 18 buckets")]
    [InlineData("an empty entry", "an empty entry")]
    [InlineData("a negative count", "holds -5 values")]
    [InlineData("a mean outside its bucket", "summing to 10 s")]
    [InlineData("a sum that is not a number", "summing to NaN s")]
    [InlineData("more values than a second's budget", "more than the 2000000 a second")]
    public void WhatAWorkerForges_IsRefused_AndNothingIsRecorded(string what, string said)
    {
        var engine = "forged-" + Guid.NewGuid().ToString("N");
        StepDurations forged = what switch
        {
            "a phase that does not exist" => Durations(new() { ["phase"] = "made_up" }),
            "an engine not in the profile" => Durations(new() { ["phase"] = "engine", ["engine"] = "other" + engine }),
            "an extra tag" => Durations(new() { ["phase"] = "step", ["user"] = "x" }),
            "too few buckets" => new(new Dictionary<string, string> { ["phase"] = "step" }, [1], [Mean]),
            "an empty entry" => null!,
            "a negative count" => Durations(new() { ["phase"] = "step" }, count: -5),
            "a mean outside its bucket" => Durations(new() { ["phase"] = "step" }, sum: 10),
            "a sum that is not a number" => Durations(new() { ["phase"] = "step" }, sum: double.NaN),
            _ => Durations(new() { ["phase"] = "step" }, count: StepDurationReplay.RecordsPerSecond + 1),
        };
        using var recorded = new Recorded(value => value == Mean);

        var refused = new StepDurationReplay().Replay([forged, Durations(new() { ["phase"] = "step" })], Profile(engines: [engine]));

        Assert.True(refused is not null, what);
        Assert.Contains(said, refused, StringComparison.Ordinal);
        Assert.Empty(recorded.Values); // not even the message's good part
    }

    [Fact]
    public void DurationsWithoutAProfile_AreRefused_AndNothingIsRecorded()
    {
        using var recorded = new Recorded(value => value == Mean);

        var refused = new StepDurationReplay().Replay([Durations(new() { ["phase"] = "step" })], profile: null);

        Assert.Equal("no profile came with them", refused);
        Assert.Empty(recorded.Values);
    }

    [Fact]
    public void AFloodOfMessages_RunsOutOfBudget_UntilTimeRefillsIt()
    {
        using var recorded = new Recorded(value => value == Mean);
        var clock = new ManualClock();
        var replay = new StepDurationReplay(clock);
        var half = StepDurationReplay.RecordsPerSecond / 2;
        string? Send(long count) => replay.Replay([Durations(new() { ["phase"] = "wait_for_engines" }, count)], Profile());

        Assert.Null(Send(half));
        Assert.Null(Send(half / 2));
        Assert.Contains("a second a worker may send", Send(half), StringComparison.Ordinal);
        clock.Advance(TimeSpan.FromSeconds(0.25));
        Assert.Null(Send(half));

        Assert.Equal(half + (half / 2) + half, recorded.Values.Count);
    }

    /// <summary>A clock that moves only when told.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }

    [Fact]
    public async Task Metrics_AfterASimulationInAWorkerProcess_ShowItsStepDurationHistogram()
    {
        await using var host = await ApiHost.StartAsync(s =>
        {
            s["NrpHost:Simulation:Isolation"] = "Process";
            s["NrpHost:Api:PrometheusMetrics"] = "true";
            s["NrpHost:Api:Token"] = Token;
            s["NrpHost:NrpCore:Mode"] = "Embedded";
            s["NrpHost:NrpCore:Client"] = "nrp_client:NrpCore";
            s.Remove("NrpHost:NrpCore:PythonPath:0");
        });

        // The meter is the process's, and other tests' simulations record into it at the same time: this one's engine has
        // a name no other has, and its steps are counted by that tag.
        var engine = "probe_" + Guid.NewGuid().ToString("N")[..12];
        host.Experiment("scraped-worker")
            .WithConfig(raw: $$"""{"SimulationTimeout": 1, "EngineConfigs": [{"EngineType": "python_json", "EngineName": "{{engine}}", "PythonFileName": "engine.py"}]}""")
            .WithFile("engine.py", DataTransferStreamingTests.Engine)
            .WithScript("try:\n    while True:\n        nrp.run_loop(1)\nexcept NRPSimulationTimeout:\n    pass\n").Build();
        var created = await host.SendAsync(HttpMethod.Post, "/simulation", """{"experimentID":"scraped-worker","profile":true}""", token: Token);
        Assert.True(created.Code == 201, created.Text);
        Assert.Equal(200, (await host.PutStateAsync(0, "started", Token)).Code);
        // 100 steps (1 s of 0.01 s), far fewer than a profile ring holds: however slow the machine, no record is lost.
        await Eventually.TrueAsync(() => host.Manager.Find(0)!.State == NrpHost.Simulation.SimulationState.Completed, "the simulation did not complete");
        Assert.Equal(200, (await host.PutStateAsync(0, "stopped", Token)).Code);
        var steps = host.Manager.Find(0)!.Clock.Iterations;
        Assert.Equal(100, steps);

        var scrape = await host.GetAsync("/metrics", Token);

        Assert.Equal(200, scrape.Code);
        var buckets = StepBucket().Matches(scrape.Text).Where(m => m.Groups[0].Value.Contains($"engine=\"{engine}\"", StringComparison.Ordinal)).ToList();
        Assert.Contains(buckets, m => m.Groups["phase"].Value == "engine" && m.Groups["le"].Value == "0.001");
        var counted = long.Parse(buckets.Single(m => m.Groups["le"].Value == "+Inf").Groups["count"].Value, System.Globalization.CultureInfo.InvariantCulture);

        // Every step of the engine, measured in the worker, counted by the host: nothing lost, nothing twice.
        Assert.Equal(steps, counted);
        Assert.DoesNotContain(host.Logs.Entries, e => e.Message.Contains("were not recorded", StringComparison.Ordinal));
    }

    private static StepProfile Profile(IReadOnlyList<string>? engines = null) => new()
    {
        SimulationId = 0,
        Engines = (engines ?? []).ToDictionary(e => e, _ => default(StepStatistics)),
    };

    /// <summary>A value no simulation measures, so a listener can tell the tests' own replays apart.</summary>
    private const double Mean = 1.2345678e-3;

    private static StepDurations Durations(Dictionary<string, string> tags, long count = 1, double? sum = null)
    {
        var counts = new long[ProfileMetrics.Buckets.Length + 1];
        var sums = new double[ProfileMetrics.Buckets.Length + 1];
        var bucket = StepDurationRelay.BucketOf(Mean);
        (counts[bucket], sums[bucket]) = (count, sum ?? count * Mean);
        return new StepDurations(tags, counts, sums);
    }

    [GeneratedRegex(@"(?m)^nrphost_step_duration_seconds_bucket\{(?=[^}]*phase=""(?<phase>[^""]+)"")(?=[^}]*le=""(?<le>[^""]+)"")[^}]*\} (?<count>\d+)")]
    private static partial Regex StepBucket();

    /// <summary>What <c>nrphost.step.duration</c> records in this process that <paramref name="accept"/> takes (other tests record too).</summary>
    private sealed class Recorded : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly Lock _lock = new();
        private readonly List<double> _values = [];
        private readonly List<KeyValuePair<string, object?>[]> _tags = [];

        public Recorded(Func<double, bool> accept)
            : this((value, _) => accept(value), accept)
        {
        }

        public Recorded(Func<double, KeyValuePair<string, object?>[], bool> accept, Func<double, bool>? first = null)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "NrpHost" && instrument.Name == "nrphost.step.duration")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
            {
                if (first?.Invoke(value) == false)
                {
                    return;
                }

                var copy = tags.ToArray();
                if (accept(value, copy))
                {
                    lock (_lock)
                    {
                        _values.Add(value);
                        _tags.Add(copy);
                    }
                }
            });
            _listener.Start();
        }

        public IReadOnlyList<double> Values
        {
            get
            {
                lock (_lock)
                {
                    return [.. _values];
                }
            }
        }

        public IReadOnlyList<KeyValuePair<string, object?>[]> Tags
        {
            get
            {
                lock (_lock)
                {
                    return [.. _tags];
                }
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
