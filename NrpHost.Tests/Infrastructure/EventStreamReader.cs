using System.Net;
using System.Text.Json;

namespace NrpHost.Tests.Infrastructure;

/// <summary>One Server-Sent Event: its name and its JSON data.</summary>
public sealed record ServerSentEvent(string Name, JsonElement Data)
{
    public string? State => Data.ValueKind == JsonValueKind.Object && Data.TryGetProperty("state", out var s) ? s.GetString() : null;

    public override string ToString() => $"{Name}: {Data.GetRawText()}";
}

/// <summary>
/// A client of <c>GET /simulation/{id}/events</c> over real HTTP: reads the <c>text/event-stream</c> line by line as a
/// browser's EventSource would, and keeps the comments it saw. Disposing it closes the connection.
/// </summary>
public sealed class EventStreamReader : IAsyncDisposable
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
    private readonly HttpClient _client;
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;
    private readonly CancellationTokenSource _closing = new();

    private EventStreamReader(HttpClient client, HttpResponseMessage response, StreamReader reader)
    {
        _client = client;
        _response = response;
        _reader = reader;
    }

    public HttpResponseMessage Response => _response;

    /// <summary>Every event read so far, in order.</summary>
    public List<ServerSentEvent> Events { get; } = [];

    /// <summary>Every comment line read so far (without the leading colon).</summary>
    public List<string> Comments { get; } = [];

    /// <summary>Whether the server closed the stream.</summary>
    public bool Ended { get; private set; }

    /// <summary>Opens the stream; the caller checks the status (a refusal is an NRP error body, not a stream).</summary>
    public static async Task<EventStreamReader> OpenAsync(Uri baseAddress, int id, string? token = null, System.Net.IPAddress? from = null)
    {
        var client = new HttpClient(From(from)) { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/simulation/{id}/events");
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        }

        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(DefaultTimeout);
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        return new EventStreamReader(client, response, reader);
    }

    /// <summary>A handler whose connections come from <paramref name="from"/> (a loopback address such as 127.0.0.2: another caller).</summary>
    public static HttpMessageHandler From(System.Net.IPAddress? from) => new SocketsHttpHandler
    {
        ConnectCallback = from is null ? null : async (context, cancellationToken) =>
        {
            var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            try
            {
                socket.Bind(new System.Net.IPEndPoint(from, 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };

    /// <summary>The next event, or null when the server closed the stream.</summary>
    public async Task<ServerSentEvent?> NextAsync(TimeSpan? timeout = null)
    {
        var wait = timeout ?? DefaultTimeout;
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
        bound.CancelAfter(wait > TimeSpan.Zero ? wait : TimeSpan.Zero);
        string? name = null;
        var data = new List<string>();
        while (true)
        {
            string? line;
            try
            {
                line = await _reader.ReadLineAsync(bound.Token);
            }
            catch (OperationCanceledException) when (!_closing.IsCancellationRequested)
            {
                throw new TimeoutException($"no event within {wait}; read so far: {string.Join(" | ", Events)}");
            }

            if (line is null)
            {
                Ended = true;
                return null;
            }

            if (line.Length == 0)
            {
                if (data.Count == 0)
                {
                    name = null;
                    continue;
                }

                var item = new ServerSentEvent(name ?? "message", JsonDocument.Parse(string.Join('\n', data)).RootElement.Clone());
                Events.Add(item);
                return item;
            }

            if (line.StartsWith(':'))
            {
                Comments.Add(line[1..].Trim());
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? string.Empty : line[(colon + 1)..].TrimStart(' ');
            if (field == "event")
            {
                name = value;
            }
            else if (field == "data")
            {
                data.Add(value);
            }
        }
    }

    /// <summary>Reads until an event matches; returns it. Throws when the stream ends first or nothing matches in time.</summary>
    public async Task<ServerSentEvent> WaitForAsync(Func<ServerSentEvent, bool> match, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"no matching event; read: {string.Join(" | ", Events)}");
            }

            var next = await NextAsync(left) ?? throw new InvalidOperationException($"the stream ended first; read: {string.Join(" | ", Events)}");
            if (match(next))
            {
                return next;
            }
        }
    }

    /// <summary>Reads to the end of the stream (the server closes it after <c>end</c>).</summary>
    public async Task ReadToEndAsync(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (await NextAsync(deadline - DateTime.UtcNow) is not null)
        {
        }
    }

    public HttpStatusCode Status => _response.StatusCode;

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync();
        _reader.Dispose();
        _response.Dispose();
        _client.Dispose();
        _closing.Dispose();
    }
}
