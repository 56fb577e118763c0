using System.Diagnostics.Metrics;
using NrpHost.Telemetry;

namespace NrpHost.Api.Events;

/// <summary>
/// Counts the open events streams (<c>nrphost.api.event_streams</c>) and holds them under
/// <see cref="ApiOptions.MaxEventStreams"/> in all and <see cref="ApiOptions.MaxEventStreamsPerCaller"/> per caller, so
/// clients that open streams and never read them cannot pile up subscriptions on the simulation manager without end,
/// and one client cannot lock the others out.
/// </summary>
internal sealed class EventStreamRegistry
{
    private static readonly Meter Meter = new(NrpHostTelemetry.MeterName);

    private static readonly UpDownCounter<int> OpenStreams =
        Meter.CreateUpDownCounter<int>("nrphost.api.event_streams", unit: "{stream}", description: "Open GET /simulation/{id}/events streams");

    private readonly Lock _lock = new();
    private readonly Dictionary<string, int> _byCaller = [];
    private int _open;

    /// <summary>How many streams are open now.</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>
    /// Opens a stream for <paramref name="caller"/> if fewer than <paramref name="limit"/> are open in all and fewer than
    /// <paramref name="perCaller"/> for that caller.
    /// </summary>
    public EventStreamOpening TryOpen(string caller, int limit, int perCaller)
    {
        lock (_lock)
        {
            var mine = _byCaller.GetValueOrDefault(caller);
            if (mine >= perCaller)
            {
                return new EventStreamOpening(EventStreamRefusal.Caller, _open);
            }

            if (_open >= limit)
            {
                return new EventStreamOpening(EventStreamRefusal.Server, _open);
            }

            _byCaller[caller] = mine + 1;
            Volatile.Write(ref _open, _open + 1);
            OpenStreams.Add(1);
            return new EventStreamOpening(EventStreamRefusal.None, _open);
        }
    }

    /// <summary>A stream of <paramref name="caller"/> closed; returns how many are open.</summary>
    public int Closed(string caller)
    {
        lock (_lock)
        {
            if (_byCaller.GetValueOrDefault(caller) <= 1)
            {
                _byCaller.Remove(caller);
            }
            else
            {
                _byCaller[caller]--;
            }

            OpenStreams.Add(-1);
            Volatile.Write(ref _open, _open - 1);
            return _open;
        }
    }
}

/// <summary>Why an events stream was not opened.</summary>
internal enum EventStreamRefusal
{
    /// <summary>It was opened.</summary>
    None,

    /// <summary>The caller has <see cref="ApiOptions.MaxEventStreamsPerCaller"/> open (429).</summary>
    Caller,

    /// <summary>The server has <see cref="ApiOptions.MaxEventStreams"/> open (503).</summary>
    Server,
}

/// <summary>How opening an events stream went, and how many are open.</summary>
internal readonly record struct EventStreamOpening(EventStreamRefusal Refusal, int Open);
