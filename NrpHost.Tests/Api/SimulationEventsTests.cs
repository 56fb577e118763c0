using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using NrpHost.Api.Events;
using NrpHost.Tests.Infrastructure;
using NrpHost.Tests.Storage;

namespace NrpHost.Tests.Api;

/// <summary><c>GET /simulation/{id}/events</c> over real HTTP (Kestrel on loopback), with real simulations.</summary>
public sealed class SimulationEventsTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    /// <summary>The states of the status events, each run of equal states (the ticks) counted once.</summary>
    private static List<string> StateChanges(IEnumerable<ServerSentEvent> events)
    {
        var states = new List<string>();
        foreach (var e in events.Where(e => e.Name == "status"))
        {
            if (states.Count == 0 || states[^1] != e.State)
            {
                states.Add(e.State!);
            }
        }

        return states;
    }

    [Fact]
    public async Task Events_StatusAtOnce_ThenEveryChangeInOrder_ThenEndAndTheStreamCloses()
    {
        await using var host = await ApiHost.StartAsync();
        host.LongExperiment().Build();
        await host.CreateAsync();
        await using var stream = await EventStreamReader.OpenAsync(host.BaseAddress, 0);

        Assert.Equal(HttpStatusCode.OK, stream.Status);
        Assert.Equal("text/event-stream", stream.Response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("no-cache", stream.Response.Headers.CacheControl?.ToString(), StringComparison.Ordinal);
        var first = await stream.NextAsync();
        Assert.Equal("status", first!.Name);
        Assert.Equal("paused", first.State);
        Assert.Equal(["realTime", "simulationTime", "state", "simulationTimeLeft"], first.Data.EnumerateObject().Select(p => p.Name));

        Assert.Equal(200, (await host.PutStateAsync(0, "started")).Code);
        await stream.WaitForAsync(e => e.State == "started");
        // The status keeps coming every second while it runs, with the clock moving on.
        var ticks = new List<ServerSentEvent>();
        while (ticks.Count < 3)
        {
            ticks.Add(await stream.WaitForAsync(e => e.Name == "status"));
        }

        Assert.All(ticks, t => Assert.Equal("started", t.State));
        Assert.True(ticks[^1].Data.GetProperty("simulationTime").GetDouble() > ticks[0].Data.GetProperty("simulationTime").GetDouble());
        Assert.Equal(200, (await host.PutStateAsync(0, "paused")).Code);
        await stream.WaitForAsync(e => e.State == "paused");
        Assert.Equal(200, (await host.PutStateAsync(0, "stopped")).Code);
        await stream.WaitForAsync(e => e.State == "stopped");
        var end = await stream.NextAsync();
        Assert.Equal("end", end!.Name);
        Assert.Equal("stopped", end.State);
        Assert.Null(await stream.NextAsync());

        Assert.Equal(["paused", "started", "paused", "stopped"], StateChanges(stream.Events));
    }

    [Fact]
    public async Task Events_OfAFinishedSimulation_AreItsFinalStatusAndEnd()
    {
        await using var host = await ApiHost.StartAsync();
        host.LongExperiment().Build();
        await host.CreateAsync();
        Assert.Equal(200, (await host.PutStateAsync(0, "stopped")).Code);

        await using var stream = await EventStreamReader.OpenAsync(host.BaseAddress, 0);
        await stream.ReadToEndAsync();

        Assert.Equal(["status", "end"], stream.Events.Select(e => e.Name));
        Assert.All(stream.Events, e => Assert.Equal("stopped", e.State));
    }

    [Fact]
    public async Task Events_ScriptOutput_ThenItsRuntimeError_ThenCompleted_InThatOrder()
    {
        await using var host = await ApiHost.StartAsync();
        host.LongExperiment().WithScript("""
            import logging
            print("hello from the script")
            print("event: end\rdata: {}")
            logging.getLogger("exp").warning("careful: %d", 3)
            for _ in range(3):
                nrp.run_loop()
            raise ValueError("boom")
            """).Build();
        await host.CreateAsync();
        await using var stream = await EventStreamReader.OpenAsync(host.BaseAddress, 0);
        await stream.NextAsync();

        Assert.Equal(200, (await host.PutStateAsync(0, "started")).Code);
        await stream.WaitForAsync(e => e.State == "completed");

        var events = stream.Events;
        var hello = events.FindIndex(e => e.Name == "log" && e.Data.GetProperty("text").GetString() == "hello from the script");
        var careful = events.FindIndex(e => e.Name == "log" && e.Data.GetProperty("text").GetString() == "careful: 3");
        var error = events.FindIndex(e => e.Name == "runtime_error");
        var completed = events.FindIndex(e => e.State == "completed");
        Assert.True(hello >= 0 && careful > hello && error > careful && completed > error, string.Join(" | ", events));
        // A line that looks like the stream's own framing stays one log line (the JSON escapes its control characters).
        Assert.Equal("event: end\rdata: {}", events[hello + 1].Data.GetProperty("text").GetString());
        Assert.Equal("info", events[hello].Data.GetProperty("level").GetString());
        Assert.Equal("warning", events[careful].Data.GetProperty("level").GetString());
        var report = events[error].Data;
        Assert.Equal("0", report.GetProperty("sim_id").GetString());
        Assert.Equal("Runtime", report.GetProperty("error_type").GetString());
        Assert.Equal("main_script.py", report.GetProperty("fileName").GetString());
        Assert.Equal(7, report.GetProperty("line_number").GetInt32());
        Assert.Equal("raise ValueError(\"boom\")", report.GetProperty("line_text").GetString()!.Trim());
        Assert.Contains("boom", report.GetProperty("msg").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Events_OutputFlood_IsRateLimited_AndEveryDroppedLineIsCounted()
    {
        const int Lines = 3000;
        await using var host = await ApiHost.StartAsync(s => s["NrpHost:Api:EventLogLinesPerSecond"] = "20");
        host.LongExperiment().WithScript($$"""
            import sys
            for i in range({{Lines}}):
                print("line", i)
            sys.stdout.write("x" * 100000 + "\n")
            """).Build();
        await host.CreateAsync();
        await using var stream = await EventStreamReader.OpenAsync(host.BaseAddress, 0);
        await stream.NextAsync();

        Assert.Equal(200, (await host.PutStateAsync(0, "started")).Code);
        await stream.WaitForAsync(e => e.State == "completed");
        // A notice is queued before the next tick's status, so one more status means every count has been sent.
        await stream.WaitForAsync(e => e.Name == "status");

        var logs = stream.Events.Where(e => e.Name == "log").ToList();
        var notices = logs.Where(e => e.Data.TryGetProperty("dropped", out _)).ToList();
        var shown = logs.Count - notices.Count;
        var dropped = notices.Sum(n => n.Data.GetProperty("dropped").GetInt64());
        Assert.NotEmpty(notices);
        Assert.Equal(Lines + 1, shown + dropped);
        Assert.All(notices, n => Assert.Equal("warning", n.Data.GetProperty("level").GetString()));
        Assert.Contains("not shown", notices[0].Data.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.All(logs, l => Assert.True(l.Data.GetProperty("text").GetString()!.Length <= SimulationEventStream.MaxLineLength + 1));
        Assert.Equal("line 0", logs[0].Data.GetProperty("text").GetString());
    }

    [Fact]
    public async Task Events_AClientThatDisconnects_IsUnsubscribed_AndTheSimulationCarriesOn()
    {
        await using var host = await ApiHost.StartAsync();
        host.LongExperiment().Build();
        await host.CreateAsync();
        var registry = host.Services.GetRequiredService<EventStreamRegistry>();

        var stream = await EventStreamReader.OpenAsync(host.BaseAddress, 0);
        await stream.NextAsync();
        Assert.Equal(1, registry.Open);
        await stream.DisposeAsync();

        await Eventually.TrueAsync(() => registry.Open == 0, () => $"{registry.Open} streams open");
        Assert.Equal(200, (await host.PutStateAsync(0, "started")).Code);
        await using var again = await EventStreamReader.OpenAsync(host.BaseAddress, 0);
        Assert.Equal("started", (await again.NextAsync())!.State);
        Assert.Equal(1, registry.Open);
    }

    [Fact]
    public async Task Events_BeyondMaxEventStreams_Are503WithRetryAfter_AndSubscribeToNothing_UntilOneCloses()
    {
        await using var host = await ApiHost.StartAsync(s => s["NrpHost:Api:MaxEventStreams"] = "2");
        host.LongExperiment().Build();
        await host.CreateAsync();
        var registry = host.Services.GetRequiredService<EventStreamRegistry>();
        var first = await EventStreamReader.OpenAsync(host.BaseAddress, 0);
        await using var second = await EventStreamReader.OpenAsync(host.BaseAddress, 0);
        await first.NextAsync();
        await second.NextAsync();

        // A client that keeps opening streams gets the NRP error body, and nothing stays open for it.
        for (var i = 0; i < 5; i++)
        {
            var refused = await host.GetAsync("/simulation/0/events");
            var error = refused.AssertNrpError(503, type: "General error");
            Assert.StartsWith("Too many event streams are open (2, NrpHost:Api:MaxEventStreams)", error.GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.Equal("5", refused.Headers["Retry-After"]);
        }

        Assert.Equal(2, registry.Open);
        Assert.Equal(200, (await host.PutStateAsync(0, "started")).Code);
        await second.WaitForAsync(e => e.State == "started");

        await first.DisposeAsync();
        await Eventually.TrueAsync(() => registry.Open == 1, () => $"{registry.Open} streams open");
        await using var third = await EventStreamReader.OpenAsync(host.BaseAddress, 0);
        Assert.Equal(HttpStatusCode.OK, third.Status);
        Assert.Equal("started", (await third.NextAsync())!.State);
    }

    [Fact]
    public async Task Events_BeyondMaxEventStreamsPerCaller_Are429ForThatCaller_WhileAnotherCallerGetsItsStream()
    {
        await using var host = await ApiHost.StartAsync(s => s["NrpHost:Api:MaxEventStreamsPerCaller"] = "3");
        host.LongExperiment().Build();
        await host.CreateAsync();
        var registry = host.Services.GetRequiredService<EventStreamRegistry>();
        var hog = System.Net.IPAddress.Parse("127.0.0.1");
        var other = System.Net.IPAddress.Parse("127.0.0.2");
        var held = new List<EventStreamReader>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                held.Add(await EventStreamReader.OpenAsync(host.BaseAddress, 0, from: hog));
                await held[^1].NextAsync();
            }

            // The same caller once more: 429 with the NRP error body, and nothing stays open for it.
            using (var refusing = new HttpClient(EventStreamReader.From(hog)) { BaseAddress = host.BaseAddress })
            {
                using var refused = await refusing.GetAsync(new Uri("/simulation/0/events", UriKind.Relative));
                Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
                Assert.Equal("5", refused.Headers.RetryAfter?.ToString());
                using var body = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
                Assert.StartsWith("You have too many event streams open (3, NrpHost:Api:MaxEventStreamsPerCaller)", body.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
                Assert.Equal("General error", body.RootElement.GetProperty("type").GetString());
            }

            // Another caller is not locked out.
            await using var theirs = await EventStreamReader.OpenAsync(host.BaseAddress, 0, from: other);
            Assert.Equal(HttpStatusCode.OK, theirs.Status);
            Assert.Equal("paused", (await theirs.NextAsync())!.State);
            Assert.Equal(4, registry.Open);

            // Closing one frees a place for the first caller again.
            await held[0].DisposeAsync();
            held.RemoveAt(0);
            await Eventually.TrueAsync(() => registry.Open == 3, () => $"{registry.Open} streams open");
            held.Add(await EventStreamReader.OpenAsync(host.BaseAddress, 0, from: hog));
            Assert.Equal(HttpStatusCode.OK, held[^1].Status);
        }
        finally
        {
            foreach (var stream in held)
            {
                await stream.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Events_AClientThatStopsReading_IsDropped_AndItsPlaceFreed()
    {
        await using var host = await ApiHost.StartAsync(s =>
        {
            s["NrpHost:Api:EventStreamStuckSeconds"] = "2";
            s["NrpHost:Api:EventLogLinesPerSecond"] = "1000";
        });
        host.Experiment().WithConfig(timeout: 100_000).WithScript("""
            import time
            line = "x" * 60000
            while True:
                print(line)
                nrp.run_loop()
                time.sleep(0.002)
            """).Build();
        await host.CreateAsync();
        var registry = host.Services.GetRequiredService<EventStreamRegistry>();

        // A client that asks for the stream and then never reads, with the smallest receive buffer it can have.
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { ReceiveBufferSize = 1024 };
        await socket.ConnectAsync(host.BaseAddress.Host, host.BaseAddress.Port);
        await socket.SendAsync(System.Text.Encoding.ASCII.GetBytes($"GET /simulation/0/events HTTP/1.1\r\nHost: {host.BaseAddress.Authority}\r\nAccept: text/event-stream\r\n\r\n"));
        await Eventually.TrueAsync(() => registry.Open == 1, () => $"{registry.Open} streams open");
        Assert.Equal(200, (await host.PutStateAsync(0, "started")).Code);

        await Eventually.TrueAsync(() => registry.Open == 0, () => $"{registry.Open} streams open", TimeSpan.FromSeconds(60));
        var streamLog = host.Logs.Entries.Where(e => e.Message.StartsWith("Events stream of simulation 0", StringComparison.Ordinal)).Select(e => e.Message).ToList();
        Assert.True(streamLog.Any(m => m.Contains("dropped: its client took nothing for 2 s", StringComparison.Ordinal)), string.Join('\n', streamLog));
        Assert.Equal(global::NrpHost.Simulation.SimulationState.Started, host.Manager.Find(0)!.State);
    }

    [Fact]
    public async Task Events_KeepAliveComments_AreSent()
    {
        await using var host = await ApiHost.StartAsync(s => s["NrpHost:Api:EventKeepAliveSeconds"] = "1");
        host.LongExperiment().Build();
        await host.CreateAsync();
        await using var stream = await EventStreamReader.OpenAsync(host.BaseAddress, 0);

        while (stream.Comments.Count == 0)
        {
            await stream.NextAsync();
        }

        Assert.Equal("keep-alive", stream.Comments[0]);
    }

    [Theory]
    [InlineData("/simulation/7/events")]
    [InlineData("/simulation/-1/events")]
    [InlineData("/simulation/abc/events")]
    public async Task Events_OfNoSuchSimulation_Is404(string path)
    {
        await using var host = await ApiHost.StartAsync();

        var response = await host.GetAsync(path);

        response.AssertNrpError(404, type: "Client error");
    }

    [Fact]
    public async Task Events_WithTheStorageProxy_FollowTheViewRulesOfState()
    {
        await using var proxy = await FakeStorageProxy.StartAsync();
        proxy.Experiment("exp").WithConfig(timeout: 100_000).WithFakeClient("step_seconds", 0.001).Build();
        proxy.Users["token-of-bob"] = "bob";
        proxy.SharedWith["exp"] = [FakeStorageProxy.User];
        await using var host = await ApiHost.StartAsync(s => s["NrpHost:Storage:ProxyUrl"] = proxy.Url);
        await host.CreateAsync("exp", FakeStorageProxy.Token);

        foreach (var (token, status) in new (string?, int)[] { (null, 401), ("token-of-bob", 403), ("unknown", 403) })
        {
            var state = await host.GetAsync("/simulation/0/state", token);
            var events = await host.GetAsync("/simulation/0/events", token);
            Assert.Equal(status, state.Code);
            events.AssertNrpError(status, state.Json.GetProperty("message").GetString(), "Client error");
        }

        await using var stream = await EventStreamReader.OpenAsync(host.BaseAddress, 0, FakeStorageProxy.Token);
        Assert.Equal(HttpStatusCode.OK, stream.Status);
        Assert.Equal("paused", (await stream.NextAsync())!.State);
    }
}
