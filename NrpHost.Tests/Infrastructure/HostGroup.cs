using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using NrpHost.Tests.Messaging;
using NrpHost.Tests.Storage;

namespace NrpHost.Tests.Infrastructure;

/// <summary>One host of a <see cref="HostGroup"/>: its proxy entry, the addresses it is reached at, its process and its id.</summary>
internal sealed record GroupHost(int Index, string ServerId, Uri InternalIp, Uri NrpServices, int Pid, string LogFile, string HostId);

/// <summary>
/// The README's several-hosts deployment on loopback, as separate processes: Mosquitto started with the README's
/// <c>mosquitto.conf</c>, and the README's number of hosts started by <c>eng/run-hosts.sh</c> (the API built with the
/// tests), reached through the README's NRP Proxy <c>servers</c> entries, with the frontend's MQTT settings for
/// subscribers. Port numbers are replaced by free ones. Nothing configures a prefix or a host id. Used as a class
/// fixture; every process is killed when it is disposed.
/// </summary>
public abstract partial class HostGroup : IAsyncLifetime
{
    /// <summary>The experiment every host runs: a python_json engine and a script that steps every 10 ms until stopped.</summary>
    public const string Experiment = "exp";

    private readonly TempDirectory _temp = new("hosts");
    private readonly StringBuilder _scriptOutput = new();
    private readonly List<GroupHost> _hosts = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };
    private Process? _script;

    internal MosquittoBroker Mosquitto { get; private set; } = null!;

    internal IReadOnlyList<GroupHost> Hosts => _hosts;

    /// <summary>Where the NRP Frontend's MQTT client connects (<c>ws://localhost:&lt;port&gt;</c>).</summary>
    public string FrontendMqttUrl { get; private set; } = string.Empty;

    /// <summary>The token requests carry (storage through the proxy needs one; local storage ignores it).</summary>
    protected virtual string? Token => null;

    protected string Scratch => _temp.Path;

    /// <summary>What <c>eng/run-hosts.sh</c> printed so far.</summary>
    public string ScriptOutput
    {
        get
        {
            lock (_scriptOutput)
            {
                return _scriptOutput.ToString();
            }
        }
    }

    /// <summary>Writes the test experiment with <paramref name="builder"/>.</summary>
    protected static void WriteExperiment(ExperimentBuilder builder) =>
        builder.WithConfig(timeout: 3600, timestep: 0.01, dataTransfer: false)
            .WithFile("engine.py", ExperimentBuilder.NoOpEngine)
            .WithScript("""
                import time
                print("stepping until stopped")
                while True:
                    nrp.run_loop()
                    time.sleep(0.01)
                """)
            .Build();

    /// <summary>Makes the experiment available and returns the storage settings every host gets.</summary>
    protected abstract Task<Dictionary<string, string>> PrepareStorageAsync();

    public async Task InitializeAsync()
    {
        var readme = SeveralHostsReadme.Load();
        var servers = readme.Servers;
        Assert.Equal(readme.HostCount, servers.Count);
        var (tcp, webSocket) = readme.MosquittoPorts;
        var firstReadmePort = new Uri(servers[0].InternalIp).Port;
        var firstPort = FreePort.NextRun(servers.Count);
        var ports = new Dictionary<int, int> { [tcp] = FreePort.Next(), [webSocket] = FreePort.Next() };
        for (var i = 0; i < servers.Count; i++)
        {
            ports[firstReadmePort + i] = firstPort + i;
        }

        Assert.Equal($"ws://localhost:{webSocket}", readme.FrontendMqttUrl); // the frontend reaches the broker's WebSocket listener
        FrontendMqttUrl = SeveralHostsReadme.WithPorts(readme.FrontendMqttUrl, ports);
        Mosquitto = await MosquittoBroker.StartAsync(SeveralHostsReadme.WithPorts(readme.MosquittoConf, ports), ports[tcp]);
        var storage = await PrepareStorageAsync();
        var started = await StartScriptAsync(servers.Count, $"127.0.0.1:{ports[tcp]}", firstPort, storage);

        for (var i = 0; i < servers.Count; i++)
        {
            var internalIp = new Uri(SeveralHostsReadme.WithPorts(servers[i].InternalIp, ports));
            var nrpServices = new Uri(SeveralHostsReadme.WithPorts(servers[i].NrpServices, ports));
            var (url, pid, log) = started[i];
            Assert.Equal(url.Port, internalIp.Port); // the proxy entry names the port the script gave host i
            Assert.Equal("local", servers[i].ServerJobLocation);
            await WaitUntilAnsweringAsync(internalIp);
            var version = await GetJsonAsync(new Uri(nrpServices, "/version"));
            _hosts.Add(new GroupHost(i + 1, servers[i].Id, internalIp, nrpServices, pid, log, version.GetProperty("hostId").GetString()!));
        }
    }

    /// <summary>A subscriber to <c>#</c> connected the way the README's frontend configuration says.</summary>
    internal Task<MqttRecorder> SubscribeLikeTheFrontendAsync() => MqttRecorder.ConnectWebSocketAsync(FrontendMqttUrl);

    /// <summary>Creates a simulation of <see cref="Experiment"/> on every host at once; the answers, in host order.</summary>
    internal async Task<JsonElement[]> CreateOnEveryHostAsync() =>
        await Task.WhenAll(Hosts.Select(async host =>
        {
            using var response = await SendAsync(HttpMethod.Post, new Uri(host.NrpServices, "/simulation"), new { experimentID = Experiment });
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, $"host {host.Index}: {(int)response.StatusCode} {body}\n{Diagnostics()}");
            return JsonDocument.Parse(body).RootElement.Clone();
        }));

    /// <summary>Requests <paramref name="state"/> for simulation <paramref name="id"/> of <paramref name="host"/>; the <c>state</c> answered.</summary>
    internal async Task<string?> PutStateAsync(GroupHost host, int id, string state)
    {
        using var response = await SendAsync(HttpMethod.Put, new Uri(host.NrpServices, $"/simulation/{id}/state"), new { state });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"host {host.Index}: PUT {state}: {(int)response.StatusCode} {body}\n{Diagnostics()}");
        return JsonDocument.Parse(body).RootElement.GetProperty("state").GetString();
    }

    /// <summary>Requests <paramref name="state"/> for simulation <paramref name="id"/> on every host at once; the states answered.</summary>
    internal Task<string?[]> PutStateOnEveryHostAsync(int id, string state) => Task.WhenAll(Hosts.Select(h => PutStateAsync(h, id, state)));

    /// <summary>
    /// The one name among <paramref name="archives"/> that is <paramref name="host"/>'s archive of simulation
    /// <paramref name="id"/>: <c>&lt;YYYY-mm-dd_HH-MM-SS&gt;_simulation_&lt;id&gt;_&lt;host id&gt;.log.zip</c>.
    /// </summary>
    internal static string ArchiveOf(GroupHost host, int id, IEnumerable<string> archives) =>
        Assert.Single(archives, a => Regex.IsMatch(a, $@"^\d{{4}}-\d{{2}}-\d{{2}}_\d{{2}}-\d{{2}}-\d{{2}}_simulation_{id}_{Regex.Escape(host.HostId)}\.log\.zip$"));

    /// <summary>The status topic of simulation <paramref name="id"/> under <paramref name="prefix"/>.</summary>
    internal static string StatusTopic(string prefix, int id) => $"{prefix}/nrp_simulation/{id}/status";

    /// <summary>What the NRP Proxy's poll sees: <c>GET &lt;internalIp&gt;/simulation</c>.</summary>
    internal Task<JsonElement> PollAsync(GroupHost host) => GetJsonAsync(new Uri(host.InternalIp, "/simulation"));

    /// <summary>Waits until the script reports that host <paramref name="index"/> ended; its exit code.</summary>
    internal async Task<int> WaitForExitReportAsync(int index)
    {
        var report = await Eventually.ValueAsync(
            () => Task.FromResult(ExitReport().Matches(ScriptOutput).FirstOrDefault(m => m.Groups[1].Value == index.ToString(System.Globalization.CultureInfo.InvariantCulture))),
            () => $"eng/run-hosts.sh did not report that host {index} ended:\n{Diagnostics()}");
        return int.Parse(report.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The script's output, the end of every host's log, and Mosquitto's log, for failure messages.</summary>
    internal string Diagnostics()
    {
        var text = new StringBuilder("eng/run-hosts.sh:\n").Append(ScriptOutput);
        foreach (var host in Hosts)
        {
            var lines = File.Exists(host.LogFile) ? File.ReadAllLines(host.LogFile) : [];
            text.Append("--- host ").Append(host.Index).Append(" (").Append(host.HostId).Append("):\n")
                .AppendJoin('\n', lines.TakeLast(40)).Append('\n');
        }

        return text.Append("--- mosquitto:\n").Append(Mosquitto?.Output).ToString();
    }

    public virtual async Task DisposeAsync()
    {
        if (_script is { } script)
        {
            if (!script.HasExited)
            {
                script.Kill(entireProcessTree: true);
            }

            await script.WaitForExitAsync();
            script.Dispose();
        }

        if (Mosquitto is not null)
        {
            await Mosquitto.DisposeAsync();
        }

        _http.Dispose();
        _temp.Dispose();
    }

    private async Task<List<(Uri Url, int Pid, string Log)>> StartScriptAsync(int count, string broker, int firstPort, Dictionary<string, string> storage)
    {
        // A directory of its own: the test process's current directory may be a simulation directory that goes away.
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _temp.Path,
        };
        start.ArgumentList.Add(Path.Combine(SeveralHostsReadme.RepositoryRoot, "eng", "run-hosts.sh"));
        start.ArgumentList.Add(count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        start.Environment["NRPHOST_BROKER"] = broker;
        start.Environment["NRPHOST_FIRST_PORT"] = firstPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["NRPHOST_RUN_DIR"] = _temp.Combine("run");
        start.Environment["NRPHOST_API"] = Path.Combine(AppContext.BaseDirectory, "NrpHost.Api.dll");
        foreach (var (key, value) in storage)
        {
            start.Environment[key] = value;
        }

        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _script = Process.Start(start)!;
        _script.OutputDataReceived += (_, e) => Record(e.Data, count, started);
        _script.ErrorDataReceived += (_, e) => Record(e.Data, count, started);
        _script.BeginOutputReadLine();
        _script.BeginErrorReadLine();
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        return StartReport().Matches(ScriptOutput)
            .Select(m => (new Uri(m.Groups[2].Value), int.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture), m.Groups[4].Value))
            .ToList();
    }

    private void Record(string? line, int count, TaskCompletionSource started)
    {
        if (line is null)
        {
            return;
        }

        lock (_scriptOutput)
        {
            _scriptOutput.AppendLine(line);
            if (StartReport().Count(_scriptOutput.ToString()) == count)
            {
                started.TrySetResult();
            }
        }
    }

    private Task WaitUntilAnsweringAsync(Uri internalIp) =>
        Eventually.AnswersAsync(_http, new Uri(internalIp, "/simulation"), () => false, () => $"{internalIp} did not answer GET /simulation:\n{Diagnostics()}", TimeSpan.FromSeconds(90));

    private async Task<JsonElement> GetJsonAsync(Uri uri)
    {
        using var response = await SendAsync(HttpMethod.Get, uri, null);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {uri}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri uri, object? body)
    {
        using var request = new HttpRequestMessage(method, uri);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        if (Token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        }

        return await _http.SendAsync(request);
    }

    [GeneratedRegex(@"^host (\d+) (\S+) pid (\d+) log (\S+)$", RegexOptions.Multiline)]
    private static partial Regex StartReport();

    [GeneratedRegex(@"^host (\d+) exited (\d+)$", RegexOptions.Multiline)]
    private static partial Regex ExitReport();
}

/// <summary>Hosts that share one local experiments folder (<c>NrpHost:Storage:LocalRoot</c>).</summary>
public sealed class LocalHostGroup : HostGroup
{
    /// <summary>The shared experiments folder.</summary>
    public string ExperimentsRoot => Path.Combine(Scratch, "experiments");

    protected override Task<Dictionary<string, string>> PrepareStorageAsync()
    {
        WriteExperiment(new ExperimentBuilder(ExperimentsRoot, Experiment));
        return Task.FromResult(new Dictionary<string, string> { ["NrpHost__Storage__LocalRoot"] = ExperimentsRoot });
    }
}

/// <summary>Hosts whose storage is the (fake) NRP Storage Proxy (<c>NrpHost:Storage:ProxyUrl</c>).</summary>
public sealed class ProxyHostGroup : HostGroup
{
    private FakeStorageProxy? _proxy;

    public FakeStorageProxy Proxy => _proxy!;

    protected override string? Token => FakeStorageProxy.Token;

    protected override async Task<Dictionary<string, string>> PrepareStorageAsync()
    {
        _proxy = await FakeStorageProxy.StartAsync();
        WriteExperiment(_proxy.Experiment(Experiment));
        return new Dictionary<string, string> { ["NrpHost__Storage__ProxyUrl"] = _proxy.Url };
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_proxy is not null)
        {
            await _proxy.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class SeveralHostsCollection
{
    /// <summary>Groups of host processes start one after the other, not all at once.</summary>
    public const string Name = "Several hosts";
}
