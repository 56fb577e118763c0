using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.IO.Pipelines;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http.Features;
using NrpHost.Api.Contracts;
using NrpHost.Api.Http;
using NrpHost.Messaging;
using NrpHost.Simulation;

namespace NrpHost.Api.Events;

/// <summary>
/// One <c>GET /simulation/{id}/events</c> connection: a simulation's events as Server-Sent Events.
/// <list type="bullet">
/// <item><c>status</c>: the MQTT status JSON, at once on connect, on every state change and every second;</item>
/// <item><c>runtime_error</c>: the MQTT <c>runtime_error</c> JSON;</item>
/// <item><c>log</c>: <c>{"level","text"}</c> per output line, at most <see cref="ApiOptions.EventLogLinesPerSecond"/> a
/// second; what is dropped above that is counted in a <c>log</c> event <c>{"level":"warning","text","dropped"}</c>;</item>
/// <item><c>end</c>: <c>{"state"}</c> after the final status, then the stream closes;</item>
/// <item>a <c>: keep-alive</c> comment every <see cref="ApiOptions.EventKeepAliveSeconds"/>.</item>
/// </list>
/// Simulation events only enqueue (a bounded queue; output lines are not queued for a client that stops reading);
/// one loop per connection writes, so a slow client never slows a simulation. The loop ends when the simulation is
/// final or the client goes away, and then unsubscribes. Beyond <see cref="ApiOptions.MaxEventStreams"/> open streams
/// a new one is answered 503 (NRP error body, <c>Retry-After: 5</c>) and subscribes to nothing; past
/// <see cref="ApiOptions.MaxEventStreamsPerCaller"/> of one caller, 429. A client that stops reading is dropped once a
/// flush has waited <see cref="ApiOptions.EventStreamStuckSeconds"/>.
/// </summary>
internal sealed class SimulationEventStream : IResult
{
    internal static readonly TimeSpan StatusPeriod = TimeSpan.FromSeconds(1);

    /// <summary>Longest output line sent; longer ones are cut and end with an ellipsis.</summary>
    internal const int MaxLineLength = 4000;

    private const int QueueCapacity = 1024;

    /// <summary>Output lines are dropped while this many events wait for a client that does not read.</summary>
    private const int LogBacklog = 512;

    private static readonly byte[] KeepAlive = ": keep-alive\n\n"u8.ToArray();

    private readonly ISimulationManager _manager;
    private readonly int _id;
    private readonly int _linesPerSecond;
    private readonly TimeSpan _keepAlivePeriod;
    private readonly int _maxStreams;
    private readonly int _maxStreamsPerCaller;
    private readonly TimeSpan _stuckAfter;
    private readonly string _caller;
    private readonly TimeProvider _time;
    private readonly EventStreamRegistry _registry;
    private readonly ILogger _logger;
    private readonly Channel<ServerEvent> _queue;
    private readonly Lock _rateLock = new();
    private long _windowStart;
    private int _windowLines;
    private long _dropped;

    public SimulationEventStream(int id, string caller, ISimulationManager manager, ApiOptions options, TimeProvider time, EventStreamRegistry registry, ILogger logger)
    {
        _id = id;
        _caller = caller;
        _maxStreamsPerCaller = options.MaxEventStreamsPerCaller;
        _stuckAfter = TimeSpan.FromSeconds(options.EventStreamStuckSeconds);
        _manager = manager;
        _linesPerSecond = options.EventLogLinesPerSecond;
        _keepAlivePeriod = TimeSpan.FromSeconds(options.EventKeepAliveSeconds);
        _maxStreams = options.MaxEventStreams;
        _time = time;
        _registry = registry;
        _logger = logger;
        _queue = Channel.CreateBounded<ServerEvent>(new BoundedChannelOptions(QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
    }

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var (refusal, open) = _registry.TryOpen(_caller, _maxStreams, _maxStreamsPerCaller);
        if (refusal != EventStreamRefusal.None)
        {
            httpContext.Response.Headers.RetryAfter = "5";
            NrpErrorResult refused;
            if (refusal == EventStreamRefusal.Caller)
            {
                ApiLog.EventStreamRefusedForCaller(_logger, _id, _caller, _maxStreamsPerCaller);
                refused = NrpErrorResult.TooManyRequests(ErrorResponse.TooManyEventStreamsForCaller(_maxStreamsPerCaller));
            }
            else
            {
                ApiLog.EventStreamRefused(_logger, _id, _maxStreams);
                refused = NrpErrorResult.ServiceUnavailable(ErrorResponse.TooManyEventStreams(_maxStreams));
            }

            await refused.ExecuteAsync(httpContext).ConfigureAwait(false);
            return;
        }

        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache, no-store";
        response.Headers["X-Accel-Buffering"] = "no"; // nginx: pass events through at once
        httpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        _manager.StateChanged += OnStateChanged;
        _manager.RuntimeError += OnRuntimeError;
        _manager.Output += OnOutput;
        ApiLog.EventStreamOpened(_logger, _id, open);
        var reason = "client disconnected";
        try
        {
            reason = await RunAsync(response, httpContext.RequestAborted).ConfigureAwait(false);
        }
        catch (ClientStuckException)
        {
            // It stopped taking what was sent: the connection is dropped, so its buffers go too.
            reason = "client stopped reading";
            ApiLog.EventStreamDropped(_logger, _id, _caller, _stuckAfter.TotalSeconds);
            httpContext.Abort();
        }
        catch (OperationCanceledException) when (httpContext.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (IOException)
        {
            // The connection broke while writing.
        }
        finally
        {
            _manager.StateChanged -= OnStateChanged;
            _manager.RuntimeError -= OnRuntimeError;
            _manager.Output -= OnOutput;
            ApiLog.EventStreamClosed(_logger, _id, reason, _registry.Closed(_caller));
        }
    }

    /// <summary>
    /// Sends what was written; throws <see cref="ClientStuckException"/> when the client has not taken it within
    /// <see cref="ApiOptions.EventStreamStuckSeconds"/> (it stopped reading, and the send buffers are full), whatever
    /// the server did to the connection meanwhile.
    /// </summary>
    private async ValueTask FlushAsync(System.IO.Pipelines.PipeWriter writer, CancellationToken cancellationToken)
    {
        using var stuck = new CancellationTokenSource(_stuckAfter, _time);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stuck.Token);
        try
        {
            await writer.FlushAsync(either.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (stuck.IsCancellationRequested && ex is OperationCanceledException or IOException)
        {
            throw new ClientStuckException();
        }
    }

    /// <summary>The client took nothing for <see cref="ApiOptions.EventStreamStuckSeconds"/>.</summary>
    private sealed class ClientStuckException : Exception
    {
    }

    /// <summary>Writes until the simulation is final; returns why it stopped.</summary>
    private async Task<string> RunAsync(HttpResponse response, CancellationToken cancellationToken)
    {
        var writer = response.BodyWriter;

        // Subscribed before this read, so no change between the two is lost (at worst a status is sent twice).
        if (_manager.Find(_id) is not { } first)
        {
            return "simulation not found";
        }

        WriteEvent(writer, ServerEvent.Status(first));
        if (first.State.IsFinal())
        {
            WriteEnd(writer, first.State);
            await FlushAsync(writer, cancellationToken).ConfigureAwait(false);
            return "simulation final";
        }

        await FlushAsync(writer, cancellationToken).ConfigureAwait(false);
        using var timer = new PeriodicTimer(StatusPeriod, _time);
        var lastKeepAlive = _time.GetTimestamp();
        Task<bool>? waitForEvent = null;
        Task<bool>? waitForTick = null;
        while (true)
        {
            while (_queue.Reader.TryRead(out var item))
            {
                WriteEvent(writer, item);
                if (item.FinalState is { } final)
                {
                    WriteDroppedNotice(writer);
                    WriteEnd(writer, final);
                    await FlushAsync(writer, cancellationToken).ConfigureAwait(false);
                    return "simulation final";
                }
            }

            await FlushAsync(writer, cancellationToken).ConfigureAwait(false);
            waitForEvent ??= _queue.Reader.WaitToReadAsync(cancellationToken).AsTask();
            waitForTick ??= timer.WaitForNextTickAsync(cancellationToken).AsTask();
            var woken = await Task.WhenAny(waitForEvent, waitForTick).ConfigureAwait(false);
            await woken.ConfigureAwait(false); // surfaces cancellation
            if (woken == waitForEvent)
            {
                waitForEvent = null;
                continue;
            }

            waitForTick = null;
            if (_time.GetElapsedTime(lastKeepAlive) >= _keepAlivePeriod)
            {
                writer.Write(KeepAlive);
                lastKeepAlive = _time.GetTimestamp();
            }

            // After what is queued, so a notice counts only lines that were dropped before it.
            EnqueueDroppedNotice();
            if (_manager.Find(_id) is { } current)
            {
                _queue.Writer.TryWrite(ServerEvent.Status(current));
            }
        }
    }

    private void OnStateChanged(object? sender, SimulationStateChangedEventArgs e)
    {
        if (e.Simulation.Id == _id)
        {
            _queue.Writer.TryWrite(ServerEvent.Status(e.Simulation));
        }
    }

    private void OnRuntimeError(object? sender, SimulationErrorEventArgs e)
    {
        if (e.Error.SimulationId == _id)
        {
            _queue.Writer.TryWrite(new ServerEvent("runtime_error", MqttPayloads.RuntimeError(e.Error)));
        }
    }

    private void OnOutput(object? sender, SimulationOutputEventArgs e)
    {
        if (e.SimulationId != _id)
        {
            return;
        }

        lock (_rateLock)
        {
            if (e.DroppedLines > 0)
            {
                // Lines the host already kept from its log (its own rate limit) are counted the same way.
                _dropped += e.DroppedLines;
                return;
            }

            var now = _time.GetTimestamp();
            if (_time.GetElapsedTime(_windowStart, now) >= TimeSpan.FromSeconds(1))
            {
                _windowStart = now;
                _windowLines = 0;
            }

            if (_windowLines >= _linesPerSecond || _queue.Reader.Count >= LogBacklog)
            {
                _dropped++;
                return;
            }

            _windowLines++;
            _queue.Writer.TryWrite(new ServerEvent("log", LogLine(e.Level, e.Text)));
        }
    }

    private void EnqueueDroppedNotice()
    {
        lock (_rateLock)
        {
            if (TakeDropped() is { } notice)
            {
                _queue.Writer.TryWrite(notice);
            }
        }
    }

    private void WriteDroppedNotice(PipeWriter writer)
    {
        ServerEvent? notice;
        lock (_rateLock)
        {
            notice = TakeDropped();
        }

        if (notice is not null)
        {
            WriteEvent(writer, notice);
        }
    }

    /// <summary>The notice for the lines dropped so far (and forgets them), or null; under the rate lock.</summary>
    private ServerEvent? TakeDropped()
    {
        var dropped = _dropped;
        if (dropped == 0)
        {
            return null;
        }

        _dropped = 0;
        ApiLog.EventLinesDropped(_logger, _id, dropped, _linesPerSecond);
        var text = string.Create(CultureInfo.InvariantCulture,
            $"{dropped} output line{(dropped == 1 ? "" : "s")} not shown (more than {_linesPerSecond} per second); the simulation's log file has them all");
        return new ServerEvent("log", Json(w =>
        {
            w.WriteString("level", "warning");
            w.WriteString("text", text);
            w.WriteNumber("dropped", dropped);
        }));
    }

    private static byte[] LogLine(LogLevel level, string text)
    {
        if (text.Length > MaxLineLength)
        {
            text = string.Concat(text.AsSpan(0, MaxLineLength), "…");
        }

        return Json(w =>
        {
            w.WriteString("level", LevelName(level));
            w.WriteString("text", text);
        });
    }

    internal static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warning",
        LogLevel.Error => "error",
        _ => "critical",
    };

    private static void WriteEnd(PipeWriter writer, SimulationState state) =>
        WriteEvent(writer, new ServerEvent("end", Json(w => w.WriteString("state", state.ToWireName()))));

    /// <summary><c>event: &lt;name&gt;\ndata: &lt;json&gt;\n\n</c> (the JSON is one line).</summary>
    private static void WriteEvent(PipeWriter writer, ServerEvent item)
    {
        writer.Write("event: "u8);
        writer.Write(Encoding.UTF8.GetBytes(item.Name));
        writer.Write("\ndata: "u8);
        writer.Write(item.Data);
        writer.Write("\n\n"u8);
    }

    /// <summary>Output text stays readable in <c>curl</c> (no <c>\u002B</c> for <c>+</c>); quotes and controls are still escaped.</summary>
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static byte[] Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>One event: its name and its JSON; <see cref="FinalState"/> is set on the status of a final state.</summary>
    private sealed record ServerEvent(string Name, byte[] Data, SimulationState? FinalState = null)
    {
        public static ServerEvent Status(SimulationSnapshot simulation) => new(
            "status",
            MqttPayloads.Status(simulation.State, simulation.Clock),
            simulation.State.IsFinal() ? simulation.State : null);
    }
}
