using System.Diagnostics.Metrics;
using NrpHost.Telemetry;

namespace NrpHost.Api.Events;

/// <summary>
/// Counts the open events streams (<c>nrphost.api.event_streams</c>) and holds them under
/// <see cref="ApiOptions.MaxEventStreams"/>, so clients that open streams and never read them cannot pile up
/// subscriptions on the simulation manager without end.
/// </summary>
internal sealed class EventStreamRegistry
{
    private static readonly Meter Meter = new(NrpHostTelemetry.MeterName);

    private static readonly UpDownCounter<int> OpenStreams =
        Meter.CreateUpDownCounter<int>("nrphost.api.event_streams", description: "Open GET /simulation/{id}/events streams");

    private int _open;

    /// <summary>How many streams are open now.</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>Opens a stream if fewer than <paramref name="limit"/> are open; returns how many are open then, or 0 when refused.</summary>
    public int TryOpen(int limit)
    {
        while (true)
        {
            var open = Volatile.Read(ref _open);
            if (open >= limit)
            {
                return 0;
            }

            if (Interlocked.CompareExchange(ref _open, open + 1, open) == open)
            {
                OpenStreams.Add(1);
                return open + 1;
            }
        }
    }

    /// <summary>A stream closed; returns how many are open.</summary>
    public int Closed()
    {
        OpenStreams.Add(-1);
        return Interlocked.Decrement(ref _open);
    }
}
