using System.Diagnostics.Metrics;
using NrpHost.Telemetry;

namespace NrpHost.Api.Events;

/// <summary>Counts the open events streams (<c>nrphost.api.event_streams</c>), for observability and tests.</summary>
internal sealed class EventStreamRegistry
{
    private static readonly Meter Meter = new(NrpHostTelemetry.MeterName);

    private static readonly UpDownCounter<int> OpenStreams =
        Meter.CreateUpDownCounter<int>("nrphost.api.event_streams", description: "Open GET /simulation/{id}/events streams");

    private int _open;

    /// <summary>How many streams are open now.</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>A stream opened; returns how many are open.</summary>
    public int Opened()
    {
        OpenStreams.Add(1);
        return Interlocked.Increment(ref _open);
    }

    /// <summary>A stream closed; returns how many are open.</summary>
    public int Closed()
    {
        OpenStreams.Add(-1);
        return Interlocked.Decrement(ref _open);
    }
}
