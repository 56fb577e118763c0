using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace NrpHost.Tests.Infrastructure;

/// <summary>
/// The README's "Several hosts behind one NRP Proxy" section, read as a deployment would: the <c>mosquitto.conf</c>,
/// the <c>eng/run-hosts.sh</c> command, the NRP Proxy's <c>servers</c> and the NRP Frontend's <c>mqtt</c> block. Tests
/// use them as written; only the port numbers they name are replaced by free ones.
/// </summary>
internal sealed partial class SeveralHostsReadme
{
    private const string Heading = "### Several hosts behind one NRP Proxy";

    private readonly List<(string Info, string Text)> _blocks;

    private SeveralHostsReadme(List<(string Info, string Text)> blocks)
    {
        _blocks = blocks;
    }

    /// <summary>The repository root (where <c>NrpHost.sln</c> is).</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    public static SeveralHostsReadme Load()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot, "README.md"));
        var start = readme.IndexOf("\n" + Heading + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"README.md has no section '{Heading}'");
        var body = readme[(start + Heading.Length + 2)..];
        var end = SectionEnd().Match(body);
        var section = end.Success ? body[..end.Index] : body;
        var blocks = Fence().Matches(section).Select(m => (m.Groups["info"].Value.Trim(), m.Groups["text"].Value)).ToList();
        return new SeveralHostsReadme(blocks);
    }

    /// <summary>The <c>mosquitto.conf</c> block.</summary>
    public string MosquittoConf => Single("conf", _ => true);

    /// <summary>The MQTT (TCP) and WebSocket listener ports the configuration names, in that order.</summary>
    public (int Tcp, int WebSocket) MosquittoPorts
    {
        get
        {
            var listeners = Regex.Matches(MosquittoConf, @"^listener (\d+)[^\n]*\n(?:protocol (\w+))?", RegexOptions.Multiline);
            var tcp = listeners.Single(m => m.Groups[2].Value is "" or "mqtt");
            var ws = listeners.Single(m => m.Groups[2].Value == "websockets");
            return (int.Parse(tcp.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(ws.Groups[1].Value, CultureInfo.InvariantCulture));
        }
    }

    /// <summary>How many hosts the README starts (<c>eng/run-hosts.sh N</c>).</summary>
    public int HostCount =>
        int.Parse(RunHosts().Match(Single("sh", t => RunHosts().IsMatch(t))).Groups[1].Value, CultureInfo.InvariantCulture);

    /// <summary>The proxy's <c>servers</c> entries, in order.</summary>
    public IReadOnlyList<ProxyServer> Servers
    {
        get
        {
            using var json = JsonDocument.Parse(Single("json", t => t.Contains("\"servers\"", StringComparison.Ordinal)));
            return json.RootElement.GetProperty("servers").EnumerateObject()
                .Select(s => new ProxyServer(
                    s.Name,
                    s.Value.GetProperty("internalIp").GetString()!,
                    s.Value.GetProperty("nrp-services").GetString()!,
                    s.Value.GetProperty("serverJobLocation").GetString()!))
                .ToList();
        }
    }

    /// <summary>The frontend's MQTT settings: <c>&lt;websocket&gt;://&lt;url&gt;:&lt;port&gt;</c>, as its client builds it.</summary>
    public string FrontendMqttUrl
    {
        get
        {
            using var json = JsonDocument.Parse(Single("json", t => t.Contains("\"mqtt\"", StringComparison.Ordinal)));
            var mqtt = json.RootElement.GetProperty("mqtt");
            var scheme = mqtt.TryGetProperty("websocket", out var ws) ? ws.GetString() : "ws";
            return $"{scheme}://{mqtt.GetProperty("url").GetString()}:{mqtt.GetProperty("port").GetString()}";
        }
    }

    /// <summary><paramref name="text"/> with every port of <paramref name="ports"/> (README port → free port) replaced.</summary>
    public static string WithPorts(string text, IReadOnlyDictionary<int, int> ports) =>
        Regex.Replace(text, @"(?<=[: ])(\d{2,5})\b", m =>
            ports.TryGetValue(int.Parse(m.Value, CultureInfo.InvariantCulture), out var port) ? port.ToString(CultureInfo.InvariantCulture) : m.Value);

    private string Single(string info, Func<string, bool> matches)
    {
        var found = _blocks.Where(b => b.Info == info && matches(b.Text)).ToList();
        Assert.True(found.Count == 1, $"the README's several-hosts section should have exactly one matching ```{info} block, found {found.Count}");
        return found[0].Text;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "NrpHost.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("NrpHost.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"^#{2,3} ", RegexOptions.Multiline)]
    private static partial Regex SectionEnd();

    [GeneratedRegex(@"^```(?<info>[^\n`]*)\n(?<text>.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex Fence();

    [GeneratedRegex(@"eng/run-hosts\.sh (\d+)")]
    private static partial Regex RunHosts();
}

/// <summary>One <c>servers</c> entry of the NRP Proxy's configuration.</summary>
internal sealed record ProxyServer(string Id, string InternalIp, string NrpServices, string ServerJobLocation);
