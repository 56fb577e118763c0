using System.IO.Compression;
using System.Text.RegularExpressions;
using NrpHost.Tests.Infrastructure;

namespace NrpHost.Tests.Api;

/// <summary>
/// The README's several-hosts deployment (<see cref="HostGroup"/>): three API processes started by
/// <c>eng/run-hosts.sh</c>, one Mosquitto, one shared local experiments folder, no prefix or host id configured. Only
/// one test here creates simulations, so every host's simulation is 0, the id all hosts have in common.
/// </summary>
[Collection(SeveralHostsCollection.Name)]
public sealed class SeveralHostsTests(LocalHostGroup group) : IClassFixture<LocalHostGroup>
{
    [Fact]
    public async Task SimulationZeroOnEveryHost_HasItsOwnTopic_AndSimultaneousStopsLeaveOneArchivePerHost()
    {
        var hosts = group.Hosts;
        Assert.Equal(3, hosts.Count);
        await using var frontend = await group.SubscribeLikeTheFrontendAsync();

        var created = await group.CreateOnEveryHostAsync();

        // Every host has a simulation 0. Its prefix is its host id, <machine name>-<API port>, and the REST answer hands
        // it to the frontend.
        var prefixes = created.Select(c => c.GetProperty("MQTTPrefix").GetString()!).ToArray();
        Assert.All(created, c => Assert.Equal(0, c.GetProperty("simulationID").GetInt32()));
        Assert.Equal(hosts.Select(h => h.HostId), prefixes);
        Assert.All(hosts, h => Assert.EndsWith("-" + h.NrpServices.Port, h.HostId, StringComparison.Ordinal));
        Assert.Equal(3, prefixes.Distinct().Count());

        // Hosts 1 and 3 run, host 2 stays paused. A subscriber to # tells the three simulations 0 apart, tick after tick.
        string[] states = ["started", "paused", "started"];
        await group.PutStateAsync(hosts[0], 0, "started");
        await group.PutStateAsync(hosts[2], 0, "started");
        for (var i = 0; i < 3; i++)
        {
            await frontend.WaitForAsync(HostGroup.StatusTopic(prefixes[i], 0), m => m.State == states[i]);
        }

        var mark = frontend.LastSequence;
        for (var i = 0; i < 3; i++)
        {
            await frontend.WaitForAsync(HostGroup.StatusTopic(prefixes[i], 0), m => m.State == states[i], mark);
        }

        var status = frontend.Messages.Where(m => m.Topic.EndsWith("/status", StringComparison.Ordinal)).ToList();
        Assert.All(status, m => Assert.Contains(m.Topic, prefixes.Select(p => HostGroup.StatusTopic(p, 0))));
        Assert.DoesNotContain(status, m => m.Topic == HostGroup.StatusTopic(prefixes[1], 0) && m.State == "started");

        // The proxy's poll sees each host busy with its own simulation.
        for (var i = 0; i < 3; i++)
        {
            var listed = Assert.Single((await group.PollAsync(hosts[i])).EnumerateArray());
            Assert.Equal(states[i], listed.GetProperty("state").GetString());
        }

        // All three stop simulation 0 of the same experiment at once: three archives, none replaced.
        Assert.All(await group.PutStateOnEveryHostAsync(0, "stopped"), s => Assert.Equal("stopped", s));
        var folder = Path.Combine(group.ExperimentsRoot, HostGroup.Experiment);
        var archives = Directory.GetFiles(folder, "*.log.zip").Select(f => Path.GetFileName(f)).ToList();
        Assert.True(archives.Count == 3, string.Join(", ", archives));
        foreach (var host in hosts)
        {
            using var zip = ZipFile.OpenRead(Path.Combine(folder, HostGroup.ArchiveOf(host, 0, archives)));
            Assert.Contains(zip.Entries, e => e.FullName == "simulation_0.log");
        }
    }

    [Fact]
    public async Task PublisherClientIds_AreDistinct_AndNameTheirHost()
    {
        var ids = await Eventually.ValueAsync(
            () => Task.FromResult(PublisherIds() is var seen && seen.Count >= group.Hosts.Count ? seen : null),
            () => "not every publisher connected:\n" + group.Diagnostics());

        Assert.Equal(group.Hosts.Count, ids.Count);
        Assert.All(group.Hosts, h => Assert.Single(ids, id => Regex.IsMatch(id, $"^nrphost_{Regex.Escape(h.HostId)}_[0-9a-f]{{32}}$")));
        Assert.DoesNotContain("already connected", group.Mosquitto.Output, StringComparison.Ordinal);

        List<string> PublisherIds() =>
            Regex.Matches(group.Mosquitto.Output, @"New client connected from \S+ as (nrphost_\S+) ").Select(m => m.Groups[1].Value).Distinct().ToList();
    }
}
